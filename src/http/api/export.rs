//! Export: every response a filter selects as CSV or NDJSON, one row per response, streamed in
//! batches (a bounded channel between the database reader and the socket keeps memory flat
//! however many rows there are). CSV cells that a spreadsheet would run as a formula are
//! neutralised. The `csv` crate writes the quoting, which is easy to get subtly wrong by hand.
use super::auth::{Read, Scoped};
use super::json::timestamp;
use super::responses::parse_status;
use super::results::{category_of, comment_query};
use crate::domain::insight::{spreadsheet_safe, CommentSort};
use crate::http::error::ApiReply;
use crate::http::query::QueryPairs;
use crate::http::AppState;
use crate::http::State;
use crate::store::responses::{self, CommentQuery, CommentRow, Position};
use crate::store::{tallies, Store};
use actix_web::web::Bytes;
use actix_web::{web, HttpResponse};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// Rows per database read.
const BATCH: i64 = 1000;

#[derive(Clone, Copy)]
pub enum Format {
    Csv,
    Ndjson,
}

/// The fixed columns, before the properties.
const HEAD: [&str; 11] = [
    "id",
    "score",
    "category",
    "comment",
    "channel",
    "email",
    "name",
    "transaction_id",
    "customer_id",
    "page_url",
    "verified",
];
const TAIL: [&str; 2] = ["responded_at", "submitted_at"];

#[utoipa::path(get, path = "/api/v1/surveys/{slug}/responses.csv", tag = "results",
    params(("slug" = String, Path, description = "The survey's slug"), super::responses::ResponsesQuery, super::results::CommentsQuery, super::results::InsightFilters),
    responses((status = 200, description = "One row per response, every property its own column", content_type = "text/csv", body = String)),
    security(("bearer" = [])))]
pub async fn csv(
    _: Scoped<Read>,
    state: State,
    slug: web::Path<String>,
    query: QueryPairs,
) -> ApiReply {
    export(&state, slug.into_inner(), &query, Format::Csv).await
}

#[utoipa::path(get, path = "/api/v1/surveys/{slug}/responses.ndjson", tag = "results",
    params(("slug" = String, Path, description = "The survey's slug"), super::responses::ResponsesQuery, super::results::CommentsQuery, super::results::InsightFilters),
    responses((status = 200, description = "One JSON object per line and response", content_type = "application/x-ndjson", body = String)),
    security(("bearer" = [])))]
pub async fn ndjson(
    _: Scoped<Read>,
    state: State,
    slug: web::Path<String>,
    query: QueryPairs,
) -> ApiReply {
    export(&state, slug.into_inner(), &query, Format::Ndjson).await
}

/// Streams the responses of a query (the dashboard's export link uses this too).
pub async fn export(
    state: &AppState,
    slug: String,
    query: &QueryPairs,
    format: Format,
) -> ApiReply {
    let status = parse_status(query.get("status"))?;
    let survey = npsd_app::surveys::find(&state.app, slug).await?;
    let mut q = comment_query(query, survey.id.clone(), status)?;
    q.commented = None;
    q.sort = CommentSort::Newest;
    q.after = None;
    q.limit = BATCH;
    let survey_id = survey.id.clone();
    let names = state
        .app
        .store
        .read_replica(move |c| tallies::property_names(c, &survey_id))
        .await?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(2);
    actix_web::rt::spawn(produce(state.app.store.clone(), q, names, format, tx));
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let (content_type, ext) = match format {
        Format::Csv => ("text/csv; charset=utf-8", "csv"),
        Format::Ndjson => ("application/x-ndjson", "ndjson"),
    };
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        // Customers' addresses and comments: no browser or proxy may keep a copy (the dashboard's
        // download is a page, which the boundary does not mark for API answers).
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{}-responses.{ext}\"", survey.slug),
        ))
        .streaming(body))
}

/// Reads batch after batch and sends each, formatted, until the rows end or the client leaves.
async fn produce(
    store: Store,
    mut q: CommentQuery,
    names: Vec<String>,
    format: Format,
    tx: tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
) {
    if let Format::Csv = format {
        if tx.send(Ok(csv_header(&names))).await.is_err() {
            return;
        }
    }
    loop {
        let batch = q.clone();
        let read = store
            .read_replica(move |c| {
                let rows = responses::comments(c, &batch)?;
                let props = responses::properties_of_comments(c, &rows)?;
                Ok((rows, props))
            })
            .await;
        let (rows, props) = match read {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = ?e, "export stopped: a read failed");
                let _ = tx
                    .send(Err(std::io::Error::other("export stopped: a read failed")))
                    .await;
                return;
            }
        };
        let Some(last) = rows.last() else { return };
        q.after = Some(Position {
            score: None,
            at: last.responded_at,
            id: last.response_id.to_string(),
        });
        let chunk = match format {
            Format::Csv => csv_rows(&rows, &props, &names),
            Format::Ndjson => ndjson_rows(&rows, &props),
        };
        if tx.send(Ok(chunk)).await.is_err() {
            return; // the client went away
        }
        if (rows.len() as i64) < BATCH {
            return;
        }
    }
}

fn csv_header(names: &[String]) -> Bytes {
    let mut w = csv::Writer::from_writer(Vec::new());
    let props = names.iter().map(|n| {
        if HEAD.contains(&n.as_str()) || TAIL.contains(&n.as_str()) {
            format!("property.{n}")
        } else {
            // Property names come from answers (the public widget's too): neutralised like cells.
            spreadsheet_safe(n).into_owned()
        }
    });
    let header: Vec<String> = HEAD
        .iter()
        .map(|s| s.to_string())
        .chain(props)
        .chain(TAIL.iter().map(|s| s.to_string()))
        .collect();
    let _ = w.write_record(&header);
    Bytes::from(w.into_inner().unwrap_or_default())
}

fn csv_rows(
    rows: &[CommentRow],
    props: &HashMap<String, Vec<(String, String)>>,
    names: &[String],
) -> Bytes {
    let mut w = csv::Writer::from_writer(Vec::with_capacity(rows.len() * 160));
    let safe = |s: Option<&str>| spreadsheet_safe(s.unwrap_or("")).into_owned();
    for r in rows {
        let mine = props.get(r.response_id.as_str());
        let value_of = |name: &str| {
            mine.and_then(|p| p.iter().find(|(k, _)| k == name))
                .map(|(_, v)| v.as_str())
        };
        let mut record: Vec<String> = vec![
            r.response_id.to_string(),
            r.score.to_string(),
            category_of(r.score).to_string(),
            safe(r.comment.as_deref()),
            r.channel.to_string(),
            safe(r.email()),
            safe(r.name()),
            safe(r.transaction_id.as_deref()),
            safe(r.customer_id.as_deref()),
            safe(r.page_url.as_deref()),
            r.verified.to_string(),
        ];
        record.extend(names.iter().map(|n| safe(value_of(n))));
        record.push(timestamp(r.responded_at));
        record.push(r.submitted_at.map(timestamp).unwrap_or_default());
        let _ = w.write_record(&record);
    }
    Bytes::from(w.into_inner().unwrap_or_default())
}

fn ndjson_rows(rows: &[CommentRow], props: &HashMap<String, Vec<(String, String)>>) -> Bytes {
    let mut out = Vec::with_capacity(rows.len() * 300);
    for r in rows {
        let properties: Map<String, Value> = props
            .get(r.response_id.as_str())
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        let line = json!({
            "id": r.response_id,
            "score": r.score,
            "category": category_of(r.score),
            "comment": r.comment,
            "channel": r.channel.as_str(),
            "email": r.email(),
            "name": r.name(),
            "transaction_id": r.transaction_id,
            "customer_id": r.customer_id,
            "page_url": r.page_url,
            "verified": r.verified,
            "properties": properties,
            "responded_at": timestamp(r.responded_at),
            "submitted_at": r.submitted_at.map(timestamp),
        });
        let _ = serde_json::to_writer(&mut out, &line);
        out.push(b'\n');
    }
    Bytes::from(out)
}
