//! `npsd digest`: one survey's digest by hand. `--dry-run` renders it (text to stdout, HTML to a
//! file); `--to ADDR` sends it to that address only, without marking the period as sent;
//! otherwise the period is claimed and sent to the survey's recipients as the schedule would.
use super::digest::{content, Links};
use super::Dispatcher;
use crate::config::Config;
use crate::domain::clock::{SharedClock, SystemClock};
use crate::domain::digest::parse_period;
use crate::domain::email::EmailAddress;
use crate::domain::token::Token;
use crate::mail::digest::{build, render_digest_email, DigestMessage};
use crate::mail::Mailer;
use crate::store::{digests, reports, responses::ResponseFilter, surveys, Store};
use anyhow::Context;
use lettre::message::Mailbox;
use std::sync::Arc;

pub struct DigestArgs {
    pub survey: String,
    pub period: Option<String>,
    pub to: Option<String>,
    pub dry_run: bool,
}

pub async fn run(args: DigestArgs, config: &Config, store: Store) -> anyhow::Result<()> {
    let clock: SharedClock = Arc::new(SystemClock);
    let now = clock.now();
    let slug = args.survey.clone();
    let survey = store
        .read(move |c| surveys::find_by_slug(c, &slug))
        .await?
        .with_context(|| format!("no survey with slug '{}'", args.survey))?;
    let settings = survey.digest_settings();
    let period = match &args.period {
        Some(p) => parse_period(p, settings.zone()).map_err(|e| anyhow::anyhow!("--{e}"))?,
        None => settings.period_containing(now).previous(),
    };
    let public_url = match &config.public_url {
        Some(u) => u.as_str().trim_end_matches('/').to_string(),
        None => format!("http://{}", config.bind),
    };
    let to = args
        .to
        .as_deref()
        .map(|t| EmailAddress::parse("--to", t))
        .transpose()?;

    if args.dry_run {
        let recipient = to
            .as_ref()
            .map(|t| t.as_str().to_string())
            .or_else(|| settings.recipients.first().cloned())
            .unwrap_or_else(|| "you@example.com".into());
        let (s, p, url) = (survey.clone(), period.clone(), public_url.clone());
        let email = store
            .read(move |c| {
                let links = Links {
                    public_url: &url,
                    unsubscribe_url: format!("{url}/d/(each-recipient-gets-a-link-when-sent)"),
                };
                content(c, &s, &p, &recipient, links, false)
            })
            .await?;
        let rendered = render_digest_email(&email)?;
        let file =
            std::path::PathBuf::from(format!("npsd-digest-{}-{}.html", survey.slug, period.key()));
        std::fs::write(&file, &rendered.html)
            .with_context(|| format!("cannot write {}", file.display()))?;
        println!("Subject: {}\n\n{}", rendered.subject, rendered.text);
        eprintln!("npsd: the HTML part is in {}", file.display());
        return Ok(());
    }

    let mailer = Mailer::from_config(config)?;
    let from: Mailbox = match survey.sender.as_deref().map(str::parse::<Mailbox>) {
        Some(Ok(m)) => m,
        _ => config.mail_from.clone(),
    };
    if let Some(to) = to {
        // One address, now, outside the schedule: the period stays unsent for the recipients.
        let token = Token::generate();
        let (s, p, url, address) = (
            survey.clone(),
            period.clone(),
            public_url.clone(),
            to.as_str().to_string(),
        );
        let hash = token.hash();
        let email = store
            .write(move |c| {
                digests::add_token(c, &hash, &s.id, &address, now)?;
                let links = Links {
                    public_url: &url,
                    unsubscribe_url: format!("{url}/d/{}", token.as_str()),
                };
                content(c, &s, &p, &address, links, false)
            })
            .await?;
        let message = build(&DigestMessage {
            content: &email,
            to: to.as_str(),
            from: &from,
            message_id_local: &crate::store::new_id(),
        })?;
        mailer.send(&message).await.map_err(anyhow::Error::new)?;
        println!(
            "npsd: sent the {} digest of {} to {to}",
            survey.slug,
            period.label()
        );
        return Ok(());
    }

    anyhow::ensure!(
        !settings.recipients.is_empty(),
        "the {} survey's digest has no recipients; add some with PATCH /api/v1/surveys/{} {{\"digest\": {{\"recipients\": [...]}}}}, or use --to ADDR",
        survey.slug,
        survey.slug
    );
    anyhow::ensure!(
        period.end <= now,
        "{} has not ended yet: only a finished period is sent to the recipients (use --dry-run or --to ADDR to see it now)",
        period.label()
    );
    let (s, p) = (survey.clone(), period.clone());
    let claimed = store
        .write(move |c| {
            let responses = reports::nps(
                c,
                &s.id,
                &ResponseFilter {
                    from: Some(p.start),
                    until: Some(p.end),
                    ..Default::default()
                },
            )?
            .summary
            .responses;
            digests::claim(c, &s, &p, responses, now)
        })
        .await?;
    let Some(claimed) = claimed else {
        anyhow::bail!(
            "the {} digest of {} was sent already; use --to ADDR to send it again to one address",
            survey.slug,
            period.label()
        );
    };
    let dispatcher = Dispatcher::new(
        store.clone(),
        mailer,
        clock,
        config.dispatcher.clone(),
        public_url,
        config.mail_from.clone(),
        Arc::new(tokio::sync::Notify::new()),
    )
    .for_digest(&claimed.id);
    dispatcher.dispatch_until_idle().await?;
    let id = claimed.id.clone();
    let statuses = store.read(move |c| digests::job_statuses(c, &id)).await?;
    let sent = statuses
        .iter()
        .filter(|s| **s == crate::store::state::OutboxStatus::Sent)
        .count();
    anyhow::ensure!(
        sent == statuses.len(),
        "sent the {} digest of {} to {sent} of {} recipient(s); the others failed or wait for a retry (npsd serve retries them)",
        survey.slug,
        period.label(),
        statuses.len()
    );
    println!(
        "npsd: sent the {} digest of {} to {sent} recipient(s)",
        survey.slug,
        period.label()
    );
    Ok(())
}
