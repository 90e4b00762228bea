//! POST /api/v1/transactions (one) and /api/v1/transactions/batch (up to 1,000).
use super::auth::{Ingest, Scoped};
use super::fields::{self, Delay, NullableText, OptText, Properties, TransactionId};
use super::json::{Input, InvitationView};
use crate::domain::transaction::{NewTransaction, TransactionFields, MAX_BATCH};
use crate::domain::ValidationError;
use crate::http::error::ApiReply;
use crate::http::error::{ApiError, ErrorDetails};
use crate::http::State;
use actix_web::HttpResponse;
use npsd_app::ingest::{ingest, unknown_survey, Outcome};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A customer transaction to survey.
#[derive(Deserialize, ToSchema)]
pub struct TransactionInput {
    #[serde(default)]
    #[schema(inline, required = true)]
    transaction_id: TransactionId,
    #[serde(default)]
    #[schema(value_type = String, required = true, format = Email)]
    email: NullableText,
    #[serde(default)]
    #[schema(inline)]
    name: OptText,
    /// The survey's slug; default `default`.
    #[serde(default)]
    #[schema(inline)]
    survey: OptText,
    #[serde(default)]
    #[schema(inline)]
    locale: OptText,
    /// Up to 50 segment properties (plan, country...).
    #[serde(default)]
    #[schema(inline)]
    properties: Properties,
    /// Overrides the survey's send delay, 0 to 31536000.
    #[serde(default)]
    #[schema(inline)]
    delay_seconds: Delay,
}

impl TryFrom<TransactionInput> for NewTransaction {
    type Error = ValidationError;

    fn try_from(input: TransactionInput) -> Result<NewTransaction, ValidationError> {
        NewTransaction::try_from(TransactionFields {
            transaction_id: input.transaction_id.0,
            email: input.email.0,
            name: input.name.0,
            survey: input.survey.0,
            locale: input.locale.0,
            properties: input.properties.0,
            delay_seconds: input.delay_seconds.0,
        })
    }
}

crate::object_input!(TransactionInput);

/// Reads one transaction from a JSON value (one item of a batch, or a fuzzer's input).
pub fn parse_transaction(value: serde_json::Value) -> Result<NewTransaction, ValidationError> {
    fields::parse_object::<TransactionInput>(value).and_then(NewTransaction::try_from)
}

/// Up to 1,000 transactions, as a list or wrapped in an object. Each item is read on its own,
/// so one bad item is refused alone.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub enum BatchInput {
    List(#[schema(inline)] Vec<BatchItem>),
    Wrapped {
        #[schema(inline)]
        transactions: Vec<BatchItem>,
    },
}

/// One item of a batch: a transaction, or why it is not one.
pub struct BatchItem(Result<NewTransaction, ValidationError>);

impl<'de> Deserialize<'de> for BatchItem {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde_json::Value::deserialize(d).map(|v| BatchItem(parse_transaction(v)))
    }
}

impl super::json::FromJson for BatchInput {
    /// Not an object's fields: a list, or an object holding one; each item is read on its own.
    fn from_json(value: serde_json::Value) -> Result<BatchInput, ValidationError> {
        serde_json::from_value(value)
            .map_err(|_| ValidationError::new("transactions", "must be an array of transactions"))
    }
}

impl utoipa::PartialSchema for BatchItem {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::Ref::from_schema_name("TransactionInput").into()
    }
}
impl ToSchema for BatchItem {}

#[utoipa::path(post, path = "/api/v1/transactions", tag = "transactions",
    request_body = TransactionInput,
    responses(
        (status = 202, description = "Stored: the survey email is scheduled, or skipped with a reason", body = InvitationEnvelope),
        (status = 200, description = "This transaction was stored before: its invitation as it is now", body = InvitationEnvelope),
    ),
    security(("bearer" = [])))]
pub async fn create(
    _: Scoped<Ingest>,
    state: State,
    Input(input): Input<TransactionInput>,
) -> ApiReply {
    let tx = NewTransaction::try_from(input)?;
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
    request_body = BatchInput,
    responses((status = 200, description = "One result per item, in order", body = BatchResult)),
    security(("bearer" = [])))]
pub async fn create_batch(
    _: Scoped<Ingest>,
    state: State,
    Input(batch): Input<BatchInput>,
) -> ApiReply {
    let (BatchInput::List(items)
    | BatchInput::Wrapped {
        transactions: items,
    }) = batch;
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
        items.into_iter().map(|item| item.0).collect();
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

/// One item of a batch: its invitation (202 new, 200 known) or its error (422).
#[derive(Serialize, ToSchema)]
pub struct BatchItemResult {
    pub index: usize,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invitation: Option<InvitationView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorDetails>,
}

impl BatchItemResult {
    fn error(index: usize, e: &ValidationError) -> Self {
        BatchItemResult {
            index,
            status: 422,
            invitation: None,
            error: Some(ErrorDetails {
                code: "validation_failed".into(),
                message: format!("{}: {}", e.field, e.message),
                field: Some(e.field.clone()),
                scope: None,
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn parse(v: Value) -> Result<NewTransaction, ValidationError> {
        parse_transaction(v)
    }

    #[test]
    fn parses_the_full_form() {
        let t = parse(json!({
            "transaction_id": "order-1001", "email": "ann@example.com", "name": "Ann",
            "survey": "default", "locale": "en", "properties": {"plan": "pro", "country": "DE", "seats": 3, "ratio": 1.5, "vip": true},
            "delay_seconds": 0
        }))
        .unwrap();
        assert_eq!(t.transaction_id, "order-1001");
        assert_eq!(
            t.properties,
            vec![
                ("country".into(), "DE".into()),
                ("plan".into(), "pro".into()),
                ("ratio".into(), "1.5".into()),
                ("seats".into(), "3".into()),
                ("vip".into(), "true".into())
            ]
        );
        assert_eq!(t.delay_seconds, Some(0));
    }

    #[test]
    fn only_id_and_email_are_required() {
        let t = parse(json!({"transaction_id": "1", "email": "a@b.co", "other": [1]})).unwrap();
        assert_eq!(t.survey, "default");
        assert_eq!(t.name, None);
    }

    #[test]
    fn errors_name_the_field_with_the_api_message() {
        let error = |v: Value| {
            let e = parse(v).unwrap_err();
            (e.field, e.message)
        };
        let field = |v: Value| error(v).0;
        assert_eq!(
            error(json!({"email": "a@b.co"})),
            ("transaction_id".into(), "is required".into())
        );
        assert_eq!(
            error(json!({"transaction_id": "1"})),
            ("email".into(), "is required".into())
        );
        assert_eq!(
            error(json!({"transaction_id": "1", "email": 5})),
            ("email".into(), "must be a string".into())
        );
        assert_eq!(
            error(json!({"transaction_id": true, "email": "a@b.co"})),
            ("transaction_id".into(), "must be a string".into())
        );
        assert_eq!(
            field(json!({"transaction_id": "1", "email": "nope"})),
            "email"
        );
        assert_eq!(
            error(json!({"transaction_id": "1", "email": "a@b.co", "delay_seconds": -5})),
            (
                "delay_seconds".into(),
                "must be a whole number of seconds from 0 to 31536000".into()
            )
        );
        assert_eq!(
            error(json!({"transaction_id": "1", "email": "a@b.co", "delay_seconds": "5"})),
            ("delay_seconds".into(), "must be a number".into())
        );
        assert_eq!(
            error(json!({"transaction_id": "1", "email": "a@b.co", "properties": [1]})),
            (
                "properties".into(),
                "must be an object of names to values".into()
            )
        );
        assert_eq!(
            error(json!({"transaction_id": "1", "email": "a@b.co", "properties": {"a": {"b": 1}}})),
            (
                "properties.a".into(),
                "must be a string, number or boolean".into()
            )
        );
        assert_eq!(
            error(json!([1, 2])),
            ("body".into(), "must be a JSON object".into())
        );
        assert_eq!(
            field(
                json!({"transaction_id": "1", "email": "a@b.co", "properties": {"plan": "pro\0"}})
            ),
            "properties.plan"
        );
        assert_eq!(
            field(json!({"transaction_id": "1", "email": "a@b.co", "name": "A\0"})),
            "name"
        );
        assert_eq!(
            error(json!({"transaction_id": "1", "email": "a@b.co", "name": 7})),
            ("name".into(), "must be a string".into())
        );
    }

    #[test]
    fn numeric_ids_must_be_exact_integers() {
        let id = |v: Value| parse(json!({"transaction_id": v, "email": "a@b.co"}));
        assert_eq!(id(json!(42)).unwrap().transaction_id, "42");
        assert_eq!(id(json!(-7)).unwrap().transaction_id, "-7");
        assert_eq!(
            id(json!(18446744073709551615u64)).unwrap().transaction_id,
            "18446744073709551615"
        );
        let big: Value = serde_json::from_str("18446744073709551616").unwrap();
        for bad in [
            big,
            json!(1e2),
            json!(100.0),
            json!(1.5),
            json!(""),
            json!(null),
        ] {
            assert_eq!(id(bad).unwrap_err().field, "transaction_id");
        }
    }

    #[test]
    fn a_batch_is_a_list_or_wraps_one_and_reads_each_item_alone() {
        use super::super::json::FromJson;
        let items = |v: Value| match BatchInput::from_json(v) {
            Ok(
                BatchInput::List(items)
                | BatchInput::Wrapped {
                    transactions: items,
                },
            ) => Ok(items.into_iter().map(|i| i.0.is_ok()).collect::<Vec<_>>()),
            Err(e) => Err(e.field),
        };
        let ok = json!({"transaction_id": "1", "email": "a@b.co"});
        let bad = json!({"transaction_id": "2", "email": "a@b.co", "name": "\0"});
        assert_eq!(items(json!([ok, bad])), Ok(vec![true, false]));
        assert_eq!(items(json!({"transactions": [ok]})), Ok(vec![true]));
        assert_eq!(
            items(json!({"transactions": 5})),
            Err("transactions".into())
        );
        assert_eq!(items(json!("x")), Err("transactions".into()));
    }
}
