//! Entry points for fuzzing every parser of untrusted input, each with the invariants its output
//! must keep. `fuzz/` runs them under libFuzzer (`cargo fuzz run TARGET`); `cargo test` runs them
//! on seeds and random mutations for a bounded time, so CI exercises them on every change.
use crate::domain::email::EmailAddress;
use crate::domain::score::{Category, Score};
use crate::domain::token::Token;
use crate::domain::transaction::MAX_PROPERTIES;
use crate::http::api::json::{decode_cursor, parse_limit};
use crate::http::api::results::Period;
use crate::http::api::{keys, suppressions, surveys};
use crate::http::pages::respond::{clean_comment, score_in_link, ResponseForm};

fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// Link tokens from the path, and the score in a link's query.
pub fn link_token(data: &[u8]) {
    let raw = text(data);
    let (path, query) = raw.split_once('?').unwrap_or((&raw, ""));
    if let Some(token) = Token::from_url(path) {
        assert!((20..=128).contains(&token.as_str().len()));
        assert!(token
            .as_str()
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(token.hash().len(), 64);
    }
    if let Ok(Some(score)) = score_in_link(query) {
        if let Ok(s) = Score::parse("score", &score) {
            assert!(s.value() <= 10);
        }
    }
}

/// The answer form a person posts.
pub fn form_body(data: &[u8]) {
    if let Ok(form) = serde_urlencoded::from_bytes::<ResponseForm>(data) {
        if let Some(comment) = form.comment {
            let clean = clean_comment(&comment);
            assert!(clean
                .chars()
                .all(|c| !c.is_control() || c == '\n' || c == '\t'));
        }
        if let Some(Ok(score)) = form.score.map(|s| Score::parse("score", &s)) {
            assert!(score.value() <= 10);
        }
    }
}

/// Query filters of the API: periods, page sizes, cursors, categories, and the insights' segments,
/// search words, orders and intervals.
pub fn query_filters(data: &[u8]) {
    let mut from = None;
    let mut to = None;
    for (k, v) in url::form_urlencoded::parse(data) {
        match &*k {
            "from" => from = Some(v.into_owned()),
            "to" => to = Some(v.into_owned()),
            "limit" => {
                if let Ok(limit) = parse_limit(Some(&v)) {
                    assert!((1..=crate::http::api::json::MAX_LIMIT).contains(&limit));
                }
            }
            "cursor" => {
                if let Ok((_, id)) = decode_cursor(&v) {
                    assert!(
                        !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    );
                }
            }
            "category" => {
                let _ = Category::parse("category", &v);
            }
            _ => {}
        }
    }
    if let Ok(period) = Period::parse(from.as_deref(), to.as_deref()) {
        if let (Some(start), Some(end)) = (period.start(), period.end()) {
            assert!(start < end);
        }
    }
    insight_filters(data);
}

/// The insights' own filters: segments, search words, order, interval, score range, cursors.
fn insight_filters(data: &[u8]) {
    use crate::domain::insight::{parse_score_bound, CommentSort, Interval, SearchWords};
    let Ok(pairs) = crate::http::query::QueryPairs::parse(&text(data)) else {
        return;
    };
    if let Ok((period, filter)) = pairs.filter() {
        if let (Some(start), Some(end)) = (filter.from, filter.until) {
            assert!(start < end, "{period:?}", period = (period.from, period.to));
        }
        for (name, values) in filter.properties.iter() {
            assert!(!name.is_empty() && !values.is_empty());
            assert!(values.iter().all(|v| !v.is_empty() && !v.contains('\0')));
        }
    }
    if let Ok(Some(words)) = SearchWords::parse(pairs.get("q")) {
        // Only quoted words of letters and digits reach FTS5: no operator, no column filter.
        let fts = words.fts5();
        for term in fts.split(' ') {
            let inner = term.strip_prefix('"').and_then(|t| t.strip_suffix('"'));
            assert!(inner.is_some_and(|w| !w.is_empty() && w.chars().all(char::is_alphanumeric)));
        }
        assert!(words
            .plain()
            .chars()
            .all(|c| c.is_alphanumeric() || c == ' '));
    }
    let _ = CommentSort::parse(pairs.get("sort"));
    let _ = Interval::parse(pairs.get("interval"));
    if let Ok(Some(n)) = parse_score_bound("min_score", pairs.get("min_score")) {
        assert!((0..=10).contains(&n));
    }
    if let Some(c) = pairs.get("cursor") {
        if let Ok(p) = crate::http::api::json::decode_position(c) {
            assert!(
                !p.id.is_empty() && p.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            );
        }
    }
}

/// JSON bodies: transactions (single and in batches), survey settings, keys, suppressions, and
/// the embedded form's answers.
pub fn json_ingest(data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let items: Vec<&serde_json::Value> = match &value {
        serde_json::Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    for item in items {
        if let Ok(tx) = crate::http::api::transactions::parse_transaction(item.clone()) {
            assert!(!tx.transaction_id.is_empty() && tx.transaction_id.chars().count() <= 200);
            assert!(!tx.transaction_id.chars().any(char::is_control));
            assert!(tx.email.as_str().parse::<lettre::Address>().is_ok());
            assert!(tx.properties.len() <= MAX_PROPERTIES);
            assert!(tx
                .properties
                .iter()
                .all(|(k, v)| !k.contains('\0') && !v.contains('\0')));
            assert!(!tx
                .name
                .as_deref()
                .unwrap_or("")
                .chars()
                .any(char::is_control));
        }
    }
    if let Ok((_, patch)) = surveys::parse_patch(value.clone()) {
        if let Ok(settings) =
            patch.apply(&crate::domain::survey::SurveySettings::new_default("fuzz"))
        {
            if let Ok(valid) = crate::domain::survey::validate(settings) {
                for header in [
                    Some(valid.brand.as_str()),
                    valid.sender.as_deref(),
                    valid.reply_to.as_deref(),
                    valid.intro.as_deref(),
                ] {
                    assert!(!header.unwrap_or("").chars().any(char::is_control));
                }
                // Origins go into CORS and frame-ancestors headers: serialised origins only.
                for origin in &valid.allowed_origins {
                    assert!(origin.starts_with("http://") || origin.starts_with("https://"));
                    assert!(
                        !origin.contains([' ', ';', ',', '\'', '"'])
                            && !origin.chars().any(char::is_control)
                    );
                    assert_eq!(origin.matches('/').count(), 2, "{origin}");
                }
            }
        }
    }
    if let Ok(answer) = crate::http::embed::api::parse_answer(value.clone()) {
        assert!(answer.score.value() <= 10);
        let comment = answer.comment.as_deref().unwrap_or("");
        assert!(comment.chars().count() <= crate::domain::embed::MAX_COMMENT_CHARS);
        assert!(!comment
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t'));
        assert!(answer
            .page_url
            .as_deref()
            .is_none_or(|u| u.starts_with("http://") || u.starts_with("https://")));
        assert!(answer
            .visitor_id
            .as_deref()
            .is_none_or(|v| v.len() <= 64 && !v.chars().any(char::is_control)));
        for field in [answer.customer_id.as_deref(), answer.name.as_deref()] {
            assert!(!field.unwrap_or("").chars().any(char::is_control));
        }
        if let Some(key) = answer.respondent().key(false) {
            assert!(!key.contains('\0'));
        }
    }
    let _ = keys::parse_new_key(value.clone());
    if let Ok((email, _)) = suppressions::parse_new(value.clone()) {
        assert!(email.as_str().parse::<lettre::Address>().is_ok());
    }
}

/// Email addresses, as they arrive at ingest.
pub fn email_address(data: &[u8]) {
    if let Ok(email) = EmailAddress::parse("email", &text(data)) {
        let s = email.as_str();
        assert!(!s.chars().any(|c| c.is_whitespace() || c.is_control()));
        let address: lettre::Address = s.parse().expect("a parsed address is a lettre address");
        assert!(address.domain().contains('.'));
        assert!(!address.domain().starts_with('['));
    }
}

/// The Delighted-compatible API's parameters (query string or form body, as Delighted's
/// clients and hand-written integrations send them) and its Basic authorization header.
pub fn delighted_params(data: &[u8]) {
    use crate::http::delighted::auth::basic_key;
    use crate::http::delighted::params::Params;
    let raw = text(data);
    if let Some(key) = basic_key(Some(&raw)) {
        assert!(!key.is_empty() && !key.contains(':'));
    }
    let Ok(p) = Params::from_form(&raw) else {
        return;
    };
    if let Ok((offset, limit)) = p.page() {
        assert!((1..=100).contains(&limit) && offset >= 0);
    }
    if let Ok(Some(t)) = p.unix_time("since") {
        assert!((1..=9999).contains(&chrono::Datelike::year(&t)));
    }
    let _ = p.boolean("send");
    let _ = p.integer("delay");
    let _ = p.string("email");
    let _ = p.expands("person");
    if let Ok(Some(props)) = p.object("properties") {
        if let Ok(parsed) = crate::domain::transaction::parse_properties(props) {
            assert!(parsed.len() <= MAX_PROPERTIES);
        }
    }
}

/// A CSV history as `npsd import` reads it: the header mapped, each row an answer or a reason.
pub fn import_csv(data: &[u8]) {
    use crate::import::columns::{map_header, Format};
    use crate::import::row::parse_row;
    let now = chrono::DateTime::from_timestamp(1_800_000_000, 0)
        .expect("a time")
        .naive_utc();
    for format in [Format::Delighted, Format::Plain] {
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(data);
        let Ok(headers) = reader.headers().cloned() else {
            return;
        };
        let names: Vec<&str> = headers.iter().collect();
        let Ok(columns) = map_header(format, &names) else {
            continue;
        };
        for record in reader.records().take(50).flatten() {
            let line = record.position().map_or(0, |p| p.line());
            match parse_row(format, &columns, &record, line, &"survey".into(), now) {
                Ok(a) => {
                    assert!(a.score.value() <= 10);
                    assert!(a.responded_at <= now);
                    assert!(a.properties.len() <= MAX_PROPERTIES);
                    assert!(a.properties.iter().all(|(k, v)| !k.is_empty()
                        && k.chars().count() <= 64
                        && !v.is_empty()
                        && v.chars().count() <= 500));
                    assert!(a.comment.iter().all(|c| c
                        .chars()
                        .all(|ch| !ch.is_control() || ch == '\n' || ch == '\t')));
                    assert!(a.id.as_str().starts_with("import-") && a.id.as_str().len() == 39);
                }
                Err(reason) => assert!(!reason.is_empty()),
            }
        }
    }
}

/// Every target by name, for the bounded run and the fuzz crate.
pub type Target = fn(&[u8]);
pub const TARGETS: &[(&str, Target)] = &[
    ("link_token", link_token),
    ("form_body", form_body),
    ("query_filters", query_filters),
    ("json_ingest", json_ingest),
    ("email_address", email_address),
    ("delighted_params", delighted_params),
    ("import_csv", import_csv),
];

/// Seeds: realistic inputs the mutations start from.
pub fn seeds(target: &str) -> Vec<Vec<u8>> {
    let s: &[&str] = match target {
        "link_token" => &[
            "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCd?score=9",
            "short?score=10&score=3",
            "x".repeat(130).leak(),
            "tok_tok_tok_tok_tok_tok?score=%00",
        ],
        "form_body" => &[
            "score=9&comment=Great+service",
            "score=11&comment=%00%0d%0a",
            "score=9&score=3",
            "comment=",
        ],
        "query_filters" => &[
            "from=2026-01-01&to=2026-01-31&limit=50",
            "cursor=MTc2NDE2MDAwMDAwMDAwMHwwMTlh&category=promoter",
            "from=2026-02-30&to=2025-01-01&limit=-1",
            "property.plan=pro&property.plan=team&property.country=DE&q=slow%20delivery&sort=lowest&min_score=0&max_score=6&interval=week&tz=Asia/Kolkata",
            "q=%22a%22%20OR%20NEAR(b*)%20-c%20col:d&cursor=czN8MTc2NDE2MDAwMDAwMDAwMHwwMTlh&property.=x&by=plan",
        ],
        "json_ingest" => &[
            r#"{"transaction_id": "order-1", "email": "ann@example.com", "name": "Ann", "properties": {"plan": "pro", "seats": 3}}"#,
            r#"[{"transaction_id": 18446744073709551616, "email": "a@b.co"}, {"transaction_id": 1e2, "email": "x@[127.0.0.1]"}]"#,
            r##"{"slug": "s", "brand": "B\r\nBcc: x", "sender": "A <a@b.co>", "accent_color": "#fff"}"##,
            r#"{"name": "k", "scopes": ["ingest", "root"], "email": "A@B.CO", "reason": "bounce"}"#,
            r#"{"score": 9, "comment": "Great\r\nshop", "email": "ann@example.com", "customer_id": "c-1", "properties": {"plan": "pro"}, "page_url": "https://shop.example/a?b#c", "signature": "ab12", "visitor_id": "v-1", "website": ""}"#,
            r#"{"score": 0, "email": "a@b.co", "name": "A", "signature": "t=1780304400,v1=f40c7b5fa91caf18971a2bc1ea282ee4ecc74a41afed085798813f58b510209d"}"#,
            r#"{"allowed_origins": ["https://shop.example", "http://127.0.0.1:8080/", "https://a.example/path"], "embed_enabled": true, "intro": "Order {order_id}"}"#,
        ],
        "delighted_params" => &[
            "email=ann%40example.com&name=Ann&properties[plan]=pro&properties[question_product_name]=Kettle&delay=60&send=false",
            "expand[]=person&expand=notes&page=2&per_page=100&since=1700000000&until=99999999999999&order=desc",
            "Basic bnBzZF9rZXk6",
            "properties[a][b]=1&properties=x&page=0&per_page=-1&since=-62135596801",
        ],
        "import_csv" => &[
            "Response ID,Email,Name,Score,Comment,Response Timestamp,Survey Type,plan\n1,ann@example.com,Ann,9,\"Great, \"\"really\"\"\nyes\",2024-04-18 09:14:20,nps,pro\n2,bad,B,11,,2024-04-19T10:00:00Z,csat,free\n",
            "email,score,comment,responded_at,country\nann@example.com,10,ok,1713431660,DE\n,9.0,,2024-01-01,\n,9.5,,04/18/2024 09:14,FR\nx@y.co,7\n",
        ],
        "email_address" => &[
            "ann@example.com",
            "ann@[127.0.0.1]",
            "\"a b\"@example.com",
            "jörg@müller.example",
            "a@b",
        ],
        _ => &[],
    };
    s.iter().map(|x| x.as_bytes().to_vec()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn mutate(rng: &mut rand::rngs::StdRng, input: &[u8], pool: &[Vec<u8>]) -> Vec<u8> {
        let mut out = input.to_vec();
        for _ in 0..rng.random_range(1..8) {
            let choice = rng.random_range(0..6);
            let at = if out.is_empty() {
                0
            } else {
                rng.random_range(0..=out.len())
            };
            match choice {
                0 if !out.is_empty() => {
                    let i = rng.random_range(0..out.len());
                    out[i] ^= 1 << rng.random_range(0..8);
                }
                1 => out.insert(at, rng.random()),
                2 if at < out.len() => {
                    out.remove(at);
                }
                3 => {
                    let interesting: &[&[u8]] = &[
                        b"\0",
                        b"\r\n",
                        b"%00",
                        b"\xff",
                        b"\"",
                        b"{",
                        b"[",
                        b"@",
                        b"=",
                        b"&",
                        b"9999999999999999999999",
                    ];
                    let piece = interesting[rng.random_range(0..interesting.len())];
                    out.splice(at..at, piece.iter().copied());
                }
                4 => {
                    let other = &pool[rng.random_range(0..pool.len())];
                    let cut = rng.random_range(0..=other.len());
                    out.splice(at..at, other[..cut].iter().copied());
                }
                _ => out.truncate(at),
            }
        }
        out
    }

    /// Each target on its seeds and random mutations of them: bounded by count and time.
    #[test]
    fn every_parser_survives_mutated_input() {
        let budget = std::time::Duration::from_secs(3);
        for (name, target) in TARGETS {
            let pool = seeds(name);
            let mut rng = rand::rngs::StdRng::seed_from_u64(20261126);
            let started = std::time::Instant::now();
            let mut runs = 0;
            for seed in &pool {
                target(seed);
            }
            while runs < 50_000 && started.elapsed() < budget {
                let base = &pool[rng.random_range(0..pool.len())];
                let input = mutate(&mut rng, base, &pool);
                target(&input);
                runs += 1;
            }
            assert!(runs > 100, "{name} ran only {runs} inputs");
        }
    }
}
