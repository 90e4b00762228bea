//! Reading results: the NPS of a period, its trend, its breakdown by a property, and the comments
//! behind it. The figures come from the store's one NPS report; the arithmetic from the domain.
use crate::{App, ServiceResult};
use npsd_domain::insight::{self, CommentSort, Interval, TrendPeriod};
use npsd_domain::period::Period;
use npsd_domain::ValidationError;
use npsd_store::ids::SurveyId;
use npsd_store::reports::{self, NpsReport, Segment};
use npsd_store::responses::{self, CommentQuery, CommentRow, Position, ResponseFilter};
use npsd_store::tallies;
use std::collections::HashMap;

/// The NPS of a survey's answers that pass `filter`.
pub async fn nps(
    app: &App,
    survey_id: SurveyId,
    filter: ResponseFilter,
) -> ServiceResult<NpsReport> {
    Ok(app
        .store
        .read_insight(move |c| reports::nps(c, &survey_id, &filter))
        .await?)
}

/// The NPS per value of the property `by`, worst first.
pub async fn breakdown(
    app: &App,
    survey_id: SurveyId,
    filter: ResponseFilter,
    by: String,
) -> ServiceResult<Vec<Segment>> {
    Ok(app
        .store
        .read_insight(move |c| reports::breakdown(c, &survey_id, &filter, &by))
        .await?)
}

/// What a survey's page shows beside its trend and comments.
pub struct SurveyFigures {
    /// The NPS of the period.
    pub report: NpsReport,
    /// The property names answers carry, most used first.
    pub names: Vec<String>,
    /// The property broken down by: the one asked for, or the most used.
    pub by: String,
    pub segments: Vec<Segment>,
    /// The values of the first `offered` names, for filters.
    pub values: Vec<(String, Vec<String>)>,
}

/// The NPS of a period, the breakdown by a property (`by`, or the most used one) and the values
/// of the `offered` most used property names.
pub async fn survey_figures(
    app: &App,
    survey_id: SurveyId,
    filter: ResponseFilter,
    by: Option<String>,
    offered: usize,
) -> ServiceResult<SurveyFigures> {
    let (id, f) = (survey_id.clone(), filter.clone());
    let (report, names) = app
        .store
        .read_insight(move |c| {
            let report = reports::nps(c, &id, &f)?;
            let names = tallies::property_names(c, &id)?;
            Ok((report, names))
        })
        .await?;
    let by = by.or_else(|| names.first().cloned()).unwrap_or_default();
    let by_name = by.clone();
    let offered: Vec<String> = names.iter().take(offered).cloned().collect();
    let (segments, values) = app
        .store
        .read_insight(move |c| {
            let segments = if by_name.is_empty() {
                Vec::new()
            } else {
                reports::breakdown(c, &survey_id, &filter, &by_name)?
            };
            let mut values = Vec::new();
            for name in &offered {
                values.push((name.clone(), tallies::property_values(c, &survey_id, name)?));
            }
            Ok((segments, values))
        })
        .await?;
    Ok(SurveyFigures {
        report,
        names,
        by,
        segments,
        values,
    })
}

/// The trend of a survey's NPS: the whole periods covering a range, empty ones included.
pub struct Trend {
    pub interval: Interval,
    pub tz: String,
    pub periods: Vec<TrendPeriod>,
    pub reports: Vec<NpsReport>,
}

/// The trend over `period` (without `from`: the interval's default span up to `to`, which is
/// today in the period's zone by default).
pub async fn trend(
    app: &App,
    survey_id: SurveyId,
    interval: Interval,
    period: &Period,
    filter: ResponseFilter,
) -> ServiceResult<Trend> {
    let today = period.today(app.clock.now());
    let to = period.to.unwrap_or(today);
    let from = period.from.unwrap_or_else(|| interval.default_from(to));
    if from > to {
        return Err(ValidationError::new("from", "must not be after to").into());
    }
    let periods = insight::periods(interval, from, to, |d| period.midnight(d))?;
    let tz = period.tz.as_ref().map_or("UTC", |z| z.name()).to_string();
    let for_query = periods.clone();
    let reports = app
        .store
        .read_insight(move |c| reports::trend(c, &survey_id, &filter, &for_query))
        .await?;
    Ok(Trend {
        interval,
        tz,
        periods,
        reports,
    })
}

/// One page of a response list: its rows, their properties, and where the next page starts.
pub struct CommentPage {
    pub rows: Vec<CommentRow>,
    pub properties: HashMap<String, Vec<(String, String)>>,
    pub next: Option<Position>,
}

/// Reads one page of answers (`query.limit` of them) and the position of the next.
pub async fn comments(app: &App, mut query: CommentQuery) -> ServiceResult<CommentPage> {
    let limit = query.limit;
    query.limit = limit + 1;
    let sort = query.sort;
    let (mut rows, properties) = app
        .store
        .read_insight(move |c| {
            let rows = responses::comments(c, &query)?;
            let properties = responses::properties_of_comments(c, &rows)?;
            Ok((rows, properties))
        })
        .await?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| Position {
            score: (sort == CommentSort::Lowest).then_some(r.score),
            at: r.responded_at,
            id: r.response_id.to_string(),
        })
    } else {
        None
    };
    Ok(CommentPage {
        rows,
        properties,
        next,
    })
}
