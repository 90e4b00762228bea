//! What one client may hold of the server: a bounded number of open connections per address, and
//! a request body that must arrive within a deadline.
//!
//! actix-web times out a request's head (`client_request_timeout`) and an idle keep-alive
//! connection, but not a body: a client that sent its headers and then stopped held the
//! connection for as long as it liked (300 such sockets on `POST /login` held 300 descriptors,
//! unauthenticated). Here every body gets [`Config::request_body_timeout`] from the moment the
//! request reached the application; when it runs out, the request is answered 408 and the
//! connection closed. And each address may keep [`Config::connections_per_address`] connections
//! open at once: a request on a connection beyond that gets 429, and the connection is closed.
//!
//! Written here rather than taken from a crate: actix-web has no per-address connection limit
//! or body deadline, and the rate limiters (`governor`, `actix-governor`) count requests, not
//! connections held open.
//!
//! Behind a reverse proxy every connection comes from the proxy's address: raise the limit (or
//! set it to 0, off) there, and let the proxy bound its clients' connections.
//!
//! [`Config::request_body_timeout`]: crate::config::Config::request_body_timeout
//! [`Config::connections_per_address`]: crate::config::Config::connections_per_address
use crate::http::error::ApiError;
use crate::http::pages::PageError;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Extensions, Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::{header, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{HttpResponse, ResponseError};
use futures_util::Stream;
use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

/// Open connections per client address, counted from accept to close.
#[derive(Clone)]
pub struct ConnectionLimit {
    limit: u32,
    open: Arc<Mutex<HashMap<IpAddr, u32>>>,
}

/// Kept in the connection's data for its lifetime: gives its place back when the connection
/// closes, and knows whether it was one too many.
pub struct ConnectionSlot {
    ip: IpAddr,
    over_limit: bool,
    open: Arc<Mutex<HashMap<IpAddr, u32>>>,
}

impl ConnectionLimit {
    /// `limit` open connections per address; 0 turns the limit off.
    pub fn new(limit: u32) -> ConnectionLimit {
        ConnectionLimit {
            limit,
            open: Arc::default(),
        }
    }

    /// For `HttpServer::on_connect`: counts the new connection against its address.
    pub fn on_connect(&self, io: &dyn std::any::Any, data: &mut Extensions) {
        if self.limit == 0 {
            return;
        }
        let Some(ip) = io
            .downcast_ref::<actix_web::rt::net::TcpStream>()
            .and_then(|s| s.peer_addr().ok())
            .map(|a| a.ip())
        else {
            return;
        };
        let mut open = self.open.lock().expect("connection counts");
        let n = open.entry(ip).or_insert(0);
        *n += 1;
        data.insert(ConnectionSlot {
            ip,
            over_limit: *n > self.limit,
            open: self.open.clone(),
        });
    }

    /// Connections open now from `ip` (tests and diagnostics).
    pub fn open_from(&self, ip: IpAddr) -> u32 {
        self.open
            .lock()
            .expect("connection counts")
            .get(&ip)
            .copied()
            .unwrap_or(0)
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut open = self.open.lock().expect("connection counts");
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// How long a request's body may take to arrive; set once at start-up.
#[derive(Clone, Copy)]
pub struct BodyDeadline(pub Duration);

/// The middleware: refuses a request on a connection over its address's limit, and gives the
/// body a deadline.
pub async fn guard(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let api = crate::http::boundary::is_api(req.path());
    if req
        .conn_data::<ConnectionSlot>()
        .is_some_and(|slot| slot.over_limit)
    {
        let res = refused(
            api,
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_connections",
            "this address has too many connections open; close some and try again",
        );
        let (req, _) = req.into_parts();
        return Ok(ServiceResponse::new(req, res));
    }
    let deadline = req.app_data::<BodyDeadline>().copied();
    let timed_out = match deadline {
        Some(BodyDeadline(limit)) if has_body(&req) => {
            let timed_out = Arc::new(AtomicBool::new(false));
            let body = req.parts_mut().1.take();
            let stream: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> =
                Box::pin(Deadlined {
                    body,
                    sleep: Box::pin(tokio::time::sleep(limit)),
                    timed_out: timed_out.clone(),
                });
            req.set_payload(Payload::from(stream));
            Some(timed_out)
        }
        _ => None,
    };
    let res = next.call(req).await?.map_into_boxed_body();
    if timed_out.is_some_and(|flag| flag.load(Ordering::SeqCst)) {
        let replacement = refused(
            api,
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            "the request body did not arrive in time",
        );
        let (req, _) = res.into_parts();
        return Ok(ServiceResponse::new(req, replacement));
    }
    Ok(res)
}

/// A request that says it has a body: a length above zero, or chunks.
fn has_body(req: &ServiceRequest) -> bool {
    let headers = req.headers();
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .is_some_and(|n| n > 0)
}

/// The refusal in the form its reader expects, closing the connection after it.
fn refused(api: bool, status: StatusCode, code: &'static str, message: &str) -> HttpResponse {
    let mut res = if api {
        ApiError::BadRequest {
            code,
            message: message.into(),
        }
        .error_response()
    } else if status == StatusCode::TOO_MANY_REQUESTS {
        PageError::TooManyRequests.error_response()
    } else {
        PageError::Other(status).error_response()
    };
    *res.status_mut() = status;
    if status == StatusCode::TOO_MANY_REQUESTS {
        res.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
    }
    res.head_mut()
        .set_connection_type(actix_web::http::ConnectionType::Close);
    res
}

/// A body that fails once its deadline has passed.
struct Deadlined {
    body: Payload,
    sleep: Pin<Box<tokio::time::Sleep>>,
    timed_out: Arc<AtomicBool>,
}

impl Stream for Deadlined {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Poll::Ready(item) = Pin::new(&mut self.body).poll_next(cx) {
            return Poll::Ready(item);
        }
        if self.sleep.as_mut().poll(cx).is_ready() {
            self.timed_out.store(true, Ordering::SeqCst);
            return Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the request body did not arrive in time",
            )))));
        }
        Poll::Pending
    }
}
