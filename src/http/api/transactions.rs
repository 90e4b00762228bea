//! POST /api/v1/transactions (one) and /api/v1/transactions/batch (up to 1,000).
use super::auth::{Ingest, Scoped};
use super::json::Body;
use super::json::InvitationView;
use crate::domain::transaction::{NewTransaction, MAX_BATCH};
use crate::domain::ValidationError;
use crate::http::error::ApiError;
use crate::http::AppState;
use actix_web::{web, HttpResponse};
use npsd_app::ingest::{ingest, unknown_survey, Outcome};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

#[utoipa::path(post, path = "/api/v1/transactions", tag = "transactions",
    request_body = crate::http::api::openapi::TransactionInput,
    responses(
        (status = 202, description = "Stored: the survey email is scheduled, or skipped with a reason", body = InvitationEnvelope),
        (status = 200, description = "This transaction was stored before: its invitation as it is now", body = InvitationEnvelope),
    ),
    security(("bearer" = [])))]
pub async fn create(
    _: Scoped<Ingest>,
    state: web::Data<AppState>,
    Body(body): Body,
) -> Result<HttpResponse, ApiError> {
    let tx = NewTransaction::parse(&body)?;
    let result = ingest(&state.app, vec![tx])
        .await?
        .pop()
        .expect("one result per item");
    match result {
        Outcome::Stored {
            ingested,
            survey_slug,
        } => {
            let mut res = if ingested.created {
                HttpResponse::Accepted()
            } else {
                HttpResponse::Ok()
            };
            Ok(res.json(InvitationEnvelope {
                invitation: InvitationView::new(&ingested.invitation, &survey_slug),
            }))
        }
        Outcome::UnknownSurvey(slug) => Err(unknown_survey(&slug).into()),
    }
}

/// Accepts `[...]` or `{"transactions": [...]}`. Each item gets its own result, in order:
/// `{"index", "status": 202|200|422, "invitation"}` or `{"index", "status", "error"}`.
#[utoipa::path(post, path = "/api/v1/transactions/batch", tag = "transactions",
    request_body = crate::http::api::openapi::BatchInput,
    responses((status = 200, description = "One result per item, in order", body = BatchResult)),
    security(("bearer" = [])))]
pub async fn create_batch(
    _: Scoped<Ingest>,
    state: web::Data<AppState>,
    Body(body): Body,
) -> Result<HttpResponse, ApiError> {
    let items = match body {
        Value::Array(items) => items,
        Value::Object(mut obj) => match obj.remove("transactions") {
            Some(Value::Array(items)) => items,
            _ => {
                return Err(ValidationError::new(
                    "transactions",
                    "must be an array of transactions",
                )
                .into())
            }
        },
        _ => {
            return Err(
                ValidationError::new("transactions", "must be an array of transactions").into(),
            )
        }
    };
    if items.is_empty() {
        return Err(ValidationError::new("transactions", "must not be empty").into());
    }
    if items.len() > MAX_BATCH {
        return Err(ApiError::TooLarge(format!(
            "a batch holds at most {MAX_BATCH} transactions; this one has {}",
            items.len()
        )));
    }
    let parsed: Vec<Result<NewTransaction, ValidationError>> =
        items.iter().map(NewTransaction::parse).collect();
    let valid: Vec<NewTransaction> = parsed
        .iter()
        .filter_map(|p| p.as_ref().ok().cloned())
        .collect();
    let mut stored = ingest(&state.app, valid).await?.into_iter();
    let results: Vec<BatchItemResult> = parsed
        .iter()
        .enumerate()
        .map(|(index, p)| match p {
            Err(e) => BatchItemResult::error(index, e),
            Ok(_) => match stored.next().expect("one result per valid item") {
                Outcome::Stored {
                    ingested,
                    survey_slug,
                } => BatchItemResult {
                    index,
                    status: if ingested.created { 202 } else { 200 },
                    invitation: Some(InvitationView::new(&ingested.invitation, &survey_slug)),
                    error: None,
                },
                Outcome::UnknownSurvey(slug) => {
                    BatchItemResult::error(index, &unknown_survey(&slug))
                }
            },
        })
        .collect();
    let accepted = results.iter().filter(|r| r.status == 202).count();
    let duplicates = results.iter().filter(|r| r.status == 200).count();
    Ok(HttpResponse::Ok().json(BatchResult {
        rejected: results.len() - accepted - duplicates,
        results,
        accepted,
        duplicates,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct InvitationEnvelope {
    pub invitation: InvitationView,
}

/// An error as the API reports it.
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    /// The field at fault, for validation errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// One item of a batch: its invitation (202 new, 200 known) or its error (422).
#[derive(Serialize, ToSchema)]
pub struct BatchItemResult {
    pub index: usize,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invitation: Option<InvitationView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorDetail>,
}

impl BatchItemResult {
    fn error(index: usize, e: &ValidationError) -> Self {
        BatchItemResult {
            index,
            status: 422,
            invitation: None,
            error: Some(ErrorDetail {
                code: "validation_failed".into(),
                message: format!("{}: {}", e.field, e.message),
                field: Some(e.field.clone()),
            }),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct BatchResult {
    pub results: Vec<BatchItemResult>,
    pub accepted: usize,
    pub duplicates: usize,
    pub rejected: usize,
}
