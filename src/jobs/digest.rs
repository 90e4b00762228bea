//! The digest's schedule and content. Each dispatcher round first claims the digests that have
//! come due (one record per survey and period, so instances racing on one database claim each
//! once) and queues a job per recipient; the same worker loop then sends them like survey emails.
use super::kind::{ClaimContext, Draft, Job, JobHandler, JobIds, Prepared, Shared};
use crate::domain::digest::{parse_period, DigestPeriod, TREND_PERIODS};
use crate::domain::email::mask;
use crate::domain::score::Category;
use crate::domain::survey::first_name;
use crate::domain::token::Token;
use crate::mail::digest::{DigestEmail, Figures, NotableComment, TrendPoint};
use crate::store::outbox::{self, OutboxRow};
use crate::store::reports::{self, NpsReport};
use crate::store::responses::{self, CommentQuery, ResponseFilter};
use crate::store::schema::surveys as s;
use crate::store::state::JobKind;
use crate::store::state::SkipReason;
use crate::store::surveys::SurveyRow;
use crate::store::{digests, suppressions, surveys, DbConn, StoreResult};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use lettre::message::Mailbox;

/// Comments of each kind a digest quotes.
const NOTABLE_COMMENTS: i64 = 5;

/// The surveys whose digest is due at `now` and not claimed yet, with the period to report.
pub fn due(conn: &mut DbConn, now: NaiveDateTime) -> StoreResult<Vec<(SurveyRow, DigestPeriod)>> {
    let surveys: Vec<SurveyRow> = s::table
        .filter(s::digest_enabled.eq(true))
        .select(SurveyRow::as_select())
        .load(conn)?;
    let mut out = Vec::new();
    for survey in surveys {
        let settings = survey.digest_settings();
        if settings.recipients.is_empty() {
            continue;
        }
        let changed = survey.digest_changed_at.unwrap_or(survey.created_at);
        if let Some(period) = settings.due(now, changed) {
            if !digests::exists(conn, &survey.id, &period.key())? {
                out.push((survey, period));
            }
        }
    }
    Ok(out)
}

/// Claims the due digests and queues their jobs; answers how many digests it claimed.
pub fn claim_due(conn: &mut DbConn, now: NaiveDateTime) -> StoreResult<usize> {
    let mut claimed = 0;
    for (survey, period) in due(conn, now)? {
        let responses = report(conn, &survey, &period)?.summary.responses;
        if let Some(d) = digests::claim(conn, &survey, &period, responses, now)? {
            tracing::info!(survey = %survey.slug, period = %d.period_key, status = %d.status, "digest claimed");
            claimed += 1;
        }
    }
    Ok(claimed)
}

fn filter(period: &DigestPeriod) -> ResponseFilter {
    ResponseFilter {
        from: Some(period.start),
        until: Some(period.end),
        ..Default::default()
    }
}

fn report(conn: &mut DbConn, survey: &SurveyRow, period: &DigestPeriod) -> StoreResult<NpsReport> {
    reports::nps(conn, &survey.id, &filter(period))
}

fn figures(r: &NpsReport) -> Figures {
    Figures {
        summary: r.summary.clone(),
        invitations_sent: r.invitations_sent,
        response_rate: r.response_rate,
        comment_rate: r.comment_rate,
    }
}

/// The period a stored digest reports, in the survey's time zone.
pub fn period_of(survey: &SurveyRow, period_key: &str) -> Option<DigestPeriod> {
    parse_period(period_key, survey.digest_settings().zone()).ok()
}

/// Where a digest's links lead.
pub struct Links<'a> {
    pub public_url: &'a str,
    pub unsubscribe_url: String,
}

/// Everything one recipient's digest shows, from the same report as the API.
pub fn content(
    conn: &mut DbConn,
    survey: &SurveyRow,
    period: &DigestPeriod,
    recipient: &str,
    links: Links<'_>,
    pausing: bool,
) -> StoreResult<DigestEmail> {
    let current = report(conn, survey, period)?;
    let preceding = period.preceding(TREND_PERIODS);
    let previous = match preceding.last() {
        Some(p) => Some(report(conn, survey, p)?),
        None => None,
    };
    let trailing = match (preceding.first(), preceding.last()) {
        (Some(first), Some(last)) => {
            let r = reports::nps(
                conn,
                &survey.id,
                &ResponseFilter {
                    from: Some(first.start),
                    until: Some(last.end),
                    ..Default::default()
                },
            )?;
            (r.summary.responses > 0).then(|| figures(&r))
        }
        _ => None,
    };
    let mut trend = Vec::with_capacity(TREND_PERIODS);
    for p in preceding.iter().skip(1) {
        let r = report(conn, survey, p)?;
        trend.push(TrendPoint {
            label: p.short_label(),
            nps: r.summary.nps,
            responses: r.summary.responses,
            small_sample: r.summary.small_sample,
        });
    }
    trend.push(TrendPoint {
        label: period.short_label(),
        nps: current.summary.nps,
        responses: current.summary.responses,
        small_sample: current.summary.small_sample,
    });
    let (from, to) = period.days();
    Ok(DigestEmail {
        brand: survey.brand.clone(),
        accent_color: survey.accent_color.clone(),
        period_label: period.label(),
        period_noun: period.kind.noun(),
        current: figures(&current),
        previous: previous
            .filter(|p| p.summary.responses > 0 || p.invitations_sent > 0)
            .map(|p| figures(&p)),
        trailing,
        distribution: *current.counts.per_score(),
        trend,
        detractor_comments: notable(conn, survey, period, Category::Detractor)?,
        promoter_comments: notable(conn, survey, period, Category::Promoter)?,
        dashboard_url: format!("{}/dashboard/{}", links.public_url, survey.slug),
        api_url: format!(
            "{}/api/v1/surveys/{}/nps?from={from}&to={to}&tz={}",
            links.public_url, survey.slug, survey.digest_time_zone
        ),
        unsubscribe_url: links.unsubscribe_url,
        recipient: recipient.to_string(),
        pausing,
        alerts_sent: crate::store::alerts::count_notified(
            conn,
            survey.id.as_str(),
            period.start,
            period.end,
        )?
        .max(0) as u64,
    })
}

/// The most recent responses of a category in the period, those with comments first (filled up
/// with ones without), with first names and properties.
fn notable(
    conn: &mut DbConn,
    survey: &SurveyRow,
    period: &DigestPeriod,
    category: Category,
) -> StoreResult<Vec<NotableComment>> {
    let query = |commented: bool, limit: i64| CommentQuery {
        survey_id: survey.id.clone(),
        category: Some(category),
        filter: filter(period),
        limit,
        commented: Some(commented),
        ..Default::default()
    };
    let mut rows = responses::comments(conn, &query(true, NOTABLE_COMMENTS))?;
    let missing = NOTABLE_COMMENTS - rows.len() as i64;
    if missing > 0 {
        rows.extend(responses::comments(conn, &query(false, missing))?);
    }
    let mut props = responses::properties_of_comments(conn, &rows)?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let name = r.invitation_name.or(r.web_name);
            NotableComment {
                score: u8::try_from(r.score).unwrap_or_default(),
                first_name: name.as_deref().and_then(first_name),
                comment: r
                    .comment
                    .filter(|c| !c.is_empty())
                    .unwrap_or_else(|| "(no comment)".to_string()),
                segment: props.remove(r.response_id.as_str()).unwrap_or_default(),
            }
        })
        .collect())
}

/// One recipient's digest.
pub(crate) struct DigestJob;

impl JobHandler for DigestJob {
    fn noun(&self) -> &'static str {
        "digest"
    }

    fn prepare(&self, conn: &mut DbConn, row: OutboxRow, cx: &ClaimContext<'_>) -> Prepared {
        prepare(
            conn,
            row,
            cx.lease_id,
            cx.now,
            cx.public_url,
            cx.default_from,
        )
    }

    /// A digest that cannot be prepared (its survey changed, say) fails alone.
    fn fails_alone(&self) -> bool {
        true
    }
}

/// One recipient's digest: still on the list and mailable, and a fresh unsubscribe link.
fn prepare(
    conn: &mut DbConn,
    row: OutboxRow,
    lease_id: &str,
    now: NaiveDateTime,
    public_url: &str,
    default_from: &Mailbox,
) -> StoreResult<Option<Job>> {
    let (Some(digest_id), Some(recipient)) = (row.digest_id.clone(), row.recipient.clone()) else {
        outbox::mark_failed(
            conn,
            &row.id,
            lease_id,
            "a digest job without its digest or recipient",
            now,
        )?;
        return Ok(None);
    };
    let record = digests::find(conn, &digest_id)?;
    let survey_row = surveys::find_by_id(conn, &record.survey_id)?;
    let email_key = recipient.to_lowercase();
    let skip = if !digests::still_recipient(&survey_row, &recipient) {
        Some(SkipReason::Unsubscribed.as_str())
    } else if suppressions::is_suppressed(conn, &email_key)? {
        Some(SkipReason::Suppressed.as_str())
    } else {
        None
    };
    if let Some(reason) = skip {
        outbox::mark_cancelled(conn, &row.id, lease_id, reason, now)?;
        return Ok(None);
    }
    let Some(period) = period_of(&survey_row, &record.period_key) else {
        outbox::mark_failed(
            conn,
            &row.id,
            lease_id,
            "the digest's period cannot be read",
            now,
        )?;
        return Ok(None);
    };
    let token = Token::generate();
    digests::add_token(conn, &token.hash(), &survey_row.id, &recipient, now)?;
    let from: Mailbox = match survey_row.sender.as_deref().map(str::parse::<Mailbox>) {
        Some(Ok(m)) => m,
        _ => default_from.clone(),
    };
    // The figures are read after the claim commits, once per digest (`DigestDraft::load`).
    Ok(Some(Job {
        ids: JobIds {
            outbox_id: row.id.clone(),
            kind: JobKind::Digest,
            subject_id: None,
            attempts: row.attempts,
        },
        to_masked: mask(&recipient),
        draft: Box::new(DigestDraft {
            digest_id,
            survey: survey_row,
            period,
            public_url: public_url.to_string(),
            unsubscribe_url: format!("{public_url}/d/{}", token.as_str()),
            recipient,
            pausing: record.pausing,
            from,
            message_id_local: row.id,
            content: None,
        }),
    }))
}

/// One recipient's digest as the claim left it: who, with which unsubscribe link, from whom; its
/// figures are loaded after the commit and shared by every recipient of the digest.
struct DigestDraft {
    digest_id: String,
    survey: SurveyRow,
    period: DigestPeriod,
    public_url: String,
    unsubscribe_url: String,
    recipient: String,
    pausing: bool,
    from: Mailbox,
    message_id_local: String,
    /// The content, once loaded: the digest's figures with this recipient's links.
    content: Option<DigestEmail>,
}

impl Draft for DigestDraft {
    fn needs_load(&self) -> bool {
        true
    }

    fn load(&mut self, conn: &mut DbConn, shared: &mut Shared) -> StoreResult<()> {
        let key = format!("digest:{}", self.digest_id);
        let figures = match shared
            .get(&key)
            .and_then(|f| f.clone().downcast::<DigestEmail>().ok())
        {
            Some(figures) => figures,
            None => {
                let links = Links {
                    public_url: &self.public_url,
                    unsubscribe_url: String::new(),
                };
                let figures = std::sync::Arc::new(content(
                    conn,
                    &self.survey,
                    &self.period,
                    "",
                    links,
                    false,
                )?);
                shared.insert(key, figures.clone());
                figures
            }
        };
        let mut content = (*figures).clone();
        content.recipient = self.recipient.clone();
        content.unsubscribe_url = self.unsubscribe_url.clone();
        content.pausing = self.pausing;
        self.content = Some(content);
        Ok(())
    }

    fn build(&self, _: &str, _: &Mailbox) -> anyhow::Result<lettre::Message> {
        let Some(content) = &self.content else {
            anyhow::bail!(
                "digest {} was sent before its figures were read",
                self.digest_id
            );
        };
        crate::mail::digest::build(&crate::mail::digest::DigestMessage {
            content,
            to: &self.recipient,
            from: &self.from,
            message_id_local: &self.message_id_local,
        })
        .map_err(|e| anyhow::anyhow!("digest could not be built: {e}"))
    }
}
