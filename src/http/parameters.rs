//! Query parameters a route does not take are refused with a 422 naming the first one, not
//! ignored: `?chanel=web` would otherwise answer every channel's figures as if they were
//! filtered. What a route takes is what the OpenAPI document lists for it, so the check and the
//! reference cannot drift apart; a documented `property.NAME` stands for every `property.`
//! segment. Delighted's API at /v1 keeps Delighted's leniency: it does not pass through here.
use super::openapi::ApiDoc;
use crate::domain::ValidationError;
use crate::http::error::ApiError;
use crate::http::query::QueryPairs;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use std::collections::HashMap;
use std::sync::LazyLock;
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::OpenApi;

/// The query parameters one operation documents, in the document's order.
struct Taken(Vec<String>);

impl Taken {
    fn new<'a>(parameters: impl Iterator<Item = &'a Parameter>) -> Taken {
        Taken(
            parameters
                .filter(|p| p.parameter_in == ParameterIn::Query)
                .map(|p| p.name.clone())
                .collect(),
        )
    }

    fn allows(&self, name: &str) -> bool {
        self.0.iter().any(|taken| match taken.strip_suffix("NAME") {
            // `property.NAME`: any name after the prefix (the filter judges the name itself).
            Some(prefix) if prefix.ends_with('.') => name.starts_with(prefix),
            _ => taken == name,
        })
    }

    fn refusal(&self, name: &str) -> ValidationError {
        if name.is_empty() {
            return ValidationError::new("query", "has a parameter without a name");
        }
        let message = if self.0.is_empty() {
            "is not a parameter of this route, which takes none".to_string()
        } else {
            format!(
                "is not a parameter of this route, which takes {}",
                self.0.join(", ")
            )
        };
        ValidationError::new(name, message)
    }
}

/// Every documented operation's parameters, by method and path as the routes spell it
/// (`/api/v1/surveys/{slug}/nps`).
static TAKEN: LazyLock<HashMap<(Method, String), Taken>> = LazyLock::new(|| {
    let mut taken = HashMap::new();
    for (path, item) in ApiDoc::openapi().paths.paths {
        let shared = item.parameters.unwrap_or_default();
        for (method, operation) in [
            (Method::GET, item.get),
            (Method::POST, item.post),
            (Method::PUT, item.put),
            (Method::PATCH, item.patch),
            (Method::DELETE, item.delete),
        ] {
            if let Some(op) = operation {
                let parameters = shared.iter().chain(op.parameters.iter().flatten());
                taken.insert((method, path.clone()), Taken::new(parameters));
            }
        }
    }
    taken
});

/// The first parameter of the request's query that its route does not document. A route the
/// document does not list, or a query that cannot be read, is left to the handler.
fn unknown_parameter(req: &ServiceRequest) -> Option<ValidationError> {
    if req.query_string().is_empty() {
        return None;
    }
    let taken = TAKEN.get(&(req.method().clone(), req.match_pattern()?))?;
    let pairs = QueryPairs::parse(req.query_string()).ok()?;
    pairs
        .0
        .iter()
        .find(|(name, _)| !taken.allows(name))
        .map(|(name, _)| taken.refusal(name))
}

/// The middleware, on the /api/v1 scopes (inside authentication, so a request without a key
/// still gets its 401 first).
pub async fn known_parameters_only(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if let Some(refusal) = unknown_parameter(&req) {
        return Ok(req.error_response(ApiError::from(refusal)));
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taken(method: Method, path: &str) -> &'static Taken {
        TAKEN
            .get(&(method, path.to_string()))
            .unwrap_or_else(|| panic!("{path} is documented"))
    }

    #[test]
    fn a_route_takes_what_its_documentation_lists() {
        let comments = taken(Method::GET, "/api/v1/surveys/{slug}/comments");
        for name in ["channel", "from", "q", "cursor", "property.plan"] {
            assert!(comments.allows(name), "{name}");
        }
        for name in ["chanel", "slug", "property", "properties.plan", "by"] {
            assert!(!comments.allows(name), "{name}");
        }
        assert!(taken(Method::GET, "/api/v1/surveys/{slug}/nps/breakdown").allows("by"));
        assert!(taken(Method::GET, "/api/v1/suppressions").allows("cursor"));
        assert!(!taken(Method::GET, "/api/v1/surveys").allows("limit"));
    }

    #[test]
    fn the_refusal_names_the_parameter_and_what_the_route_takes() {
        let e = taken(Method::GET, "/api/v1/surveys/{slug}/nps").refusal("chanel");
        assert_eq!(e.field, "chanel");
        assert!(
            e.message.contains("channel") && e.message.contains("property.NAME"),
            "{}",
            e.message
        );
        let e = taken(Method::GET, "/api/v1/surveys").refusal("limit");
        assert!(e.message.ends_with("takes none"), "{}", e.message);
    }
}
