//! GET /embed.js: the widget, with the shared scale stylesheet (templates/web/scale.css) put in at
//! build time, so the widget, the response page and the iframe form draw the same scale.
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

const SOURCE: &str = include_str!("../../../static/embed.js");
const SCALE_CSS: &str = include_str!("../../../templates/web/scale.css");
const PLACEHOLDER: &str = "/*@SCALE_CSS@*/";

/// Sites load the script on every page view: browsers may keep it an hour, then revalidate.
const CACHE_CONTROL: &str = "public, max-age=3600, stale-while-revalidate=86400";

pub struct Script {
    pub body: String,
    pub etag: String,
}

pub static SCRIPT: LazyLock<Script> = LazyLock::new(|| {
    // The stylesheet goes inside a JS template literal: it must not end it or interpolate.
    assert!(!SCALE_CSS.contains('`') && !SCALE_CSS.contains("${"));
    let body = SOURCE.replacen(PLACEHOLDER, SCALE_CSS, 1);
    let etag = format!(
        "\"{}\"",
        &hex::encode(Sha256::digest(body.as_bytes()))[..32]
    );
    Script { body, etag }
});

pub async fn serve(req: HttpRequest) -> HttpResponse {
    let script = &*SCRIPT;
    let unchanged = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == script.etag));
    let mut res = if unchanged {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::CACHE_CONTROL, CACHE_CONTROL))
        .insert_header((header::ETAG, script.etag.clone()))
        .insert_header(("Cross-Origin-Resource-Policy", "cross-origin"));
    if unchanged {
        return res.finish();
    }
    res.content_type("text/javascript; charset=utf-8")
        .body(script.body.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scale_stylesheet_is_put_in_once() {
        assert_eq!(
            SOURCE.matches(PLACEHOLDER).count(),
            1,
            "embed.js needs the placeholder once"
        );
        assert!(SCRIPT.body.contains(".scale-choice"));
        assert!(!SCRIPT.body.contains(PLACEHOLDER));
    }

    #[test]
    fn the_widget_stays_under_15_kb_gzipped() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(SCRIPT.body.as_bytes()).unwrap();
        let size = gz.finish().unwrap().len();
        assert!(size < 15 * 1024, "embed.js is {size} bytes gzipped");
    }
}
