//! (Over 400 lines: the digest's rendering tests, one per thing a reader sees.)
use super::*;

fn figures(
    responses: u64,
    promoters: u64,
    passives: u64,
    detractors: u64,
    invitations_sent: u64,
    commented: u64,
) -> Figures {
    let n = responses as f64;
    let summary = NpsSummary::from_categories(promoters, passives, detractors);
    assert_eq!(summary.responses, responses);
    Figures {
        summary,
        invitations_sent,
        response_rate: (invitations_sent > 0).then(|| n / invitations_sent as f64),
        comment_rate: (responses > 0).then(|| commented as f64 / n),
    }
}

fn sample() -> DigestEmail {
    let trend_nps = [
        (Some(22.0), 9),
        (Some(25.5), 14),
        (Some(18.0), 11),
        (None, 0),
        (Some(-12.5), 8),
        (Some(30.0), 20),
        (Some(28.6), 21),
        (Some(33.3), 18),
        (Some(40.0), 25),
        (Some(27.8), 18),
        (Some(31.0), 116),
        (Some(36.7), 128),
    ];
    DigestEmail {
        brand: "Bike & Hike".into(),
        accent_color: "#0f766e".into(),
        period_label: "Week 47, 17–23 November 2026".into(),
        period_noun: "week",
        current: figures(128, 70, 35, 23, 500, 53),
        previous: Some(figures(116, 58, 36, 22, 480, 52)),
        trailing: Some(figures(1380, 580, 450, 350, 5520, 610)),
        distribution: [3, 1, 2, 2, 3, 5, 7, 15, 20, 32, 38],
        trend: trend_nps
            .iter()
            .enumerate()
            .map(|(i, &(nps, responses))| TrendPoint {
                label: format!("W{}", 36 + i),
                nps,
                responses,
                small_sample: responses < 30,
            })
            .collect(),
        detractor_comments: vec![
            NotableComment {
                score: 2,
                first_name: Some("Marta".into()),
                comment: "The app crashed twice at checkout <script>alert(1)</script> and support never replied.".into(),
                segment: vec![("plan".into(), "pro".into()), ("country".into(), "DE".into())],
            },
            NotableComment {
                score: 5,
                first_name: None,
                comment: "Too expensive for what it does.".into(),
                segment: vec![("plan".into(), "basic".into())],
            },
            NotableComment {
                score: 6,
                first_name: Some("Jo Smith".into()),
                comment: "Delivery was late again.\nThe bike itself is great though.".into(),
                segment: vec![],
            },
        ],
        promoter_comments: vec![
            NotableComment {
                score: 10,
                first_name: Some("Ann".into()),
                comment: "Love the new rental app, booking took a minute & the staff were lovely.".into(),
                segment: vec![("plan".into(), "pro".into()), ("country".into(), "NL".into())],
            },
            NotableComment {
                score: 9,
                first_name: Some("Luis".into()),
                comment: "Great routes, would recommend to anyone visiting the Alps.".into(),
                segment: vec![("plan".into(), "basic".into()), ("country".into(), "ES".into())],
            },
        ],
        dashboard_url: "https://nps.bikeandhike.example/dashboard/rentals".into(),
        api_url: "https://nps.bikeandhike.example/api/v1/surveys/rentals/nps?from=2026-11-17&to=2026-11-23".into(),
        unsubscribe_url: "https://nps.bikeandhike.example/digest/unsubscribe/tok123".into(),
        recipient: "ops@bikeandhike.example".into(),
        pausing: false,
        alerts_sent: 0,
    }
}

fn silent() -> DigestEmail {
    let mut d = sample();
    d.current = figures(0, 0, 0, 0, 40, 0);
    d.distribution = [0; 11];
    d.trend.last_mut().unwrap().nps = None;
    d.trend.last_mut().unwrap().responses = 0;
    d.detractor_comments.clear();
    d.promoter_comments.clear();
    d
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

#[test]
fn digest_email_matches_its_reviewed_snapshot() {
    crate::mail::templates::assert_snapshot(
        "digest_email",
        &render_digest_email(&sample()).unwrap(),
    );
}

#[test]
fn subject_carries_the_nps_and_stays_on_one_line() {
    let r = render_digest_email(&sample()).unwrap();
    assert_eq!(
        r.subject,
        "Bike & Hike NPS Week 47, 17–23 November 2026: +36.7"
    );
    assert_eq!(
        render_digest_email(&silent()).unwrap().subject,
        "Bike & Hike NPS Week 47, 17–23 November 2026: no responses"
    );
    let mut d = sample();
    d.brand = "A\r\nBcc: x@y.example".into();
    d.period_label = "May\n2026".into();
    let subject = render_digest_email(&d).unwrap().subject;
    assert!(!subject.contains(['\r', '\n']), "{subject}");
    d.current.summary.nps = Some(-7.0);
    assert!(render_digest_email(&d).unwrap().subject.ends_with(": -7"));
}

#[test]
fn text_and_html_carry_the_same_figures() {
    let d = sample();
    let r = render_digest_email(&d).unwrap();
    let both = [
        "Bike & Hike NPS — Week 47, 17–23 November 2026",
        "+36.7",
        "±13.2 at 95% confidence",
        "no clear change vs the previous week",
        "20 vs the last 12 weeks",
        "This week",
        "vs previous week",
        "Responses",
        "128",
        "+12",
        "Invitations sent",
        "500",
        "+20",
        "Response rate",
        "25.6%",
        "+1.4 pts",
        "Comment rate",
        "41.4%",
        "-3.4 pts",
        "NPS over the last 12 weeks",
        "W36",
        "W47",
        "-12.5",
        "What detractors said",
        "What promoters said",
        "A customer",
        "Open the dashboard",
        "The figures over the API",
        "You get this digest because ops@bikeandhike.example is on the Bike & Hike NPS digest list.",
        "Unsubscribe from this digest",
    ];
    for s in both {
        assert!(r.text.contains(s), "text lacks {s:?}");
        assert!(r.html.contains(&html_escape(s)), "HTML lacks {s:?}");
    }
    // The headline change: +5.7 is within the two margins (22.7..49.1 against 16.4..44.1);
    // +20 against the last 12 weeks (12.4..20.9) is not.
    assert!(r
        .html
        .contains(">no clear change vs the previous week</div>"));
    assert!(r.text.contains("\nno clear change vs the previous week\n"));
    assert!(r.html.contains("+20 vs the last 12 weeks"));
    assert!(r.text.contains("\nup 20 vs the last 12 weeks\n"));
    assert!(!r
        .text
        .contains("too few answers for a reliable figure.\nno clear"));
    assert!(r.text.is_ascii() || !r.text.contains(['▲', '▼']));
    // Every count of the distribution, in both.
    for (score, n) in d.distribution.iter().enumerate() {
        assert!(
            r.text.contains(&format!("\n{score:>2} | ")) && r.text.contains(&format!(" {n}\n")),
            "text score {score}"
        );
        assert!(
            r.html.contains(&format!(">{score}</td>")),
            "HTML score {score}"
        );
        assert!(r.html.contains(&format!(">{n}</td>")), "HTML count {n}");
    }
    assert!(r.text.contains("\n10 | #################### 38\n"));
    assert!(r.text.contains("\n 1 | #                    1\n"));
    assert!(r
        .html
        .contains("<table role=\"presentation\" width=\"100%\""));
    assert!(
        r.html
            .contains("<table role=\"presentation\" width=\"84%\""),
        "32 of 38"
    );
    // The trend, a line per point in text and a column per point in HTML.
    assert!(r.text.contains("\nW36    +22* (9 responses)\n"));
    assert!(r.text.contains("\nW39      –  (0 responses)\n"));
    assert!(r.text.contains("\nW46    +31  (116 responses)\n"));
    assert!(r.text.contains("\nW47  +36.7  (128 responses)\n"));
    assert!(r.html.contains(">+22*</td>"));
    let note = "* Fewer than 30 responses: too few answers for a reliable figure.";
    assert!(r.text.contains(&format!("\n{note}\n")));
    assert!(r.html.contains(note));
    assert_eq!(r.html.matches("class=\"tcol\"").count(), 12);
    // Every comment, with its name and segment.
    for c in d.detractor_comments.iter().chain(&d.promoter_comments) {
        for line in c.comment.lines() {
            assert!(
                r.text.contains(&format!("> {line}\n")),
                "text lacks {line:?}"
            );
            assert!(r.html.contains(&html_escape(line)), "HTML lacks {line:?}");
        }
        assert!(r.text.contains(&format!("Score {} - ", c.score)));
        for (k, v) in &c.segment {
            let pair = format!("{k}: {v}");
            assert!(r.text.contains(&pair) && r.html.contains(&pair), "{pair}");
        }
    }
    assert!(r.text.contains("Score 2 - Marta (plan: pro, country: DE)"));
    assert!(r.html.contains(">plan: pro · country: DE</td>"));
    assert!(r.text.contains("Score 6 - Jo\n"), "first name only");
    assert!(r
        .html
        .contains("Delivery was late again.<br>The bike itself is great though."));
    assert!(r.text.find("What detractors said") < r.text.find("What promoters said"));
    assert!(r.html.find("What detractors said") < r.html.find("What promoters said"));
}

#[test]
fn user_text_is_escaped_in_html_and_kept_in_text() {
    let mut d = sample();
    d.brand = "A&B <x>".into();
    d.recipient = "\"a\"@b.example".into();
    d.detractor_comments[0].first_name = Some("<b>Marta</b>".into());
    d.detractor_comments[0].segment[0].1 = "<i>pro</i>".into();
    d.accent_color = "red\"><script>".into();
    d.promoter_comments[0].comment = "<img src=x onerror=alert(1)>".into();
    let r = render_digest_email(&d).unwrap();
    assert!(r.html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"));
    assert!(r.html.contains("&#60;img src=x onerror=alert(1)&#62;"));
    assert!(r.html.contains(">A&#38;B &#60;x&#62;</td>"));
    assert!(r.html.contains("A&#38;B &#60;x&#62; NPS — Week 47"));
    assert!(r.html.contains("&#60;b&#62;Marta&#60;/b&#62;"));
    assert!(r.html.contains("plan: &#60;i&#62;pro&#60;/i&#62;"));
    assert!(r.html.contains("because &#34;a&#34;@b.example is on"));
    assert!(r.html.contains("<title>A&#38;B &#60;x&#62; NPS Week 47"));
    assert!(r.html.contains("?from=2026-11-17&#38;to=2026-11-23\""));
    for raw in ["<script", "<x>", "<b>", "<i>", "<img src=x"] {
        assert!(!r.html.contains(raw), "{raw} reached the HTML");
    }
    assert!(
        r.html.contains("background-color:#2563eb;"),
        "invalid accent falls back"
    );
    assert!(r.text.contains("<script>alert(1)</script>"));
    assert!(r.text.starts_with("A&B <x> NPS — Week 47"));
    assert!(r
        .text
        .contains("Score 2 - <b>Marta</b> (plan: <i>pro</i>, country: DE)"));
}

#[test]
fn a_silent_period_says_so_and_keeps_the_trend() {
    let r = render_digest_email(&silent()).unwrap();
    for body in [&r.text, &r.html] {
        assert!(body.contains("No responses this week."));
        assert!(!body.contains("fourth week"));
        assert!(!body.contains("95% confidence"));
        assert!(!body.contains("Scores"));
        assert!(!body.contains("What detractors said"));
        assert!(!body.contains("What promoters said"));
        assert!(body.contains("NPS over the last 12 weeks"));
        assert!(body.contains("Invitations sent"));
        assert!(body.contains("Open the dashboard"));
    }
    assert!(r.text.contains("\nW47      –  (0 responses)"));
    assert!(
        r.text.contains("Comment rate              –   –"),
        "{}",
        r.text
    );
    assert!(
        r.text.contains("Response rate          0.0%   -24.2 pts"),
        "{}",
        r.text
    );
    assert!(!r.html.contains("class=\"big\""));

    let mut d = silent();
    d.pausing = true;
    let r = render_digest_email(&d).unwrap();
    let line = "This is the fourth week in a row without responses, so this digest pauses until responses come in again.";
    assert!(r.text.contains(line));
    assert!(r.html.contains(line));

    let mut d = silent();
    d.period_noun = "month";
    d.pausing = true;
    d.previous = None;
    d.trailing = None;
    let r = render_digest_email(&d).unwrap();
    assert!(r
        .text
        .contains("No responses this month.\nThis is the fourth month in a row"));
    assert!(!r.text.contains("vs previous") && !r.html.contains("vs previous"));

    // Pausing only makes sense for a silent period.
    let mut d = sample();
    d.pausing = true;
    assert!(!render_digest_email(&d).unwrap().text.contains("fourth"));
}

#[test]
fn changes_are_worded_per_direction_and_omitted_without_a_reference() {
    let mut d = sample();
    d.period_noun = "day";
    // +70 (57.7..78.9) before +36.7 (22.7..49.1): a fall beyond both margins.
    d.previous = Some(figures(120, 92, 20, 8, 480, 52));
    d.trailing = Some(d.current.clone());
    let r = render_digest_email(&d).unwrap();
    assert!(r
        .html
        .contains("aria-label=\"down\">▼</span> 33.3 vs the previous day"));
    assert!(r.text.contains("\ndown 33.3 vs the previous day\n"));
    assert!(r
        .html
        .contains(">no clear change vs the last 12 days</div>"));
    assert!(r.text.contains("\nno clear change vs the last 12 days\n"));

    d.previous = Some(d.current.clone());
    d.trailing = None;
    let r = render_digest_email(&d).unwrap();
    assert!(r.text.contains("\nno clear change vs the previous day\n"));
    assert!(!r.text.contains("vs the last 12") && !r.html.contains("vs the last 12"));

    d.previous = None;
    d.current.summary.margin_of_error = None;
    let r = render_digest_email(&d).unwrap();
    assert!(!r.text.contains("previous") && !r.html.contains("previous"));
    assert!(!r.text.contains("confidence") && !r.html.contains("confidence"));
    assert!(
        r.text.contains("\nResponses              128\n"),
        "{}",
        r.text
    );
}

#[test]
fn a_handful_of_answers_says_so_and_claims_no_change() {
    // The case: one detractor this week after one promoter the week before.
    let mut d = sample();
    d.current = figures(1, 0, 0, 1, 500, 1);
    d.previous = Some(figures(1, 1, 0, 0, 480, 0));
    d.trailing = Some(figures(2, 1, 0, 1, 960, 0));
    d.distribution = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    let last = d.trend.last_mut().unwrap();
    (last.nps, last.responses, last.small_sample) = (Some(-100.0), 1, true);
    let r = render_digest_email(&d).unwrap();
    assert!(
        r.text.contains(
            "\nNPS: -100 (±73.5 at 95% confidence)\n\
             Only 1 response: too few answers for a reliable figure.\n\
             no clear change vs the previous week\n\
             no clear change vs the last 12 weeks\n"
        ),
        "{}",
        r.text
    );
    for s in [
        "±73.5 at 95% confidence",
        "Only 1 response: too few answers for a reliable figure.",
        "no clear change vs the previous week",
        "no clear change vs the last 12 weeks",
    ] {
        assert!(r.html.contains(&html_escape(s)), "HTML lacks {s:?}");
    }
    for body in [&r.text, &r.html] {
        assert!(!body.contains('▼') && !body.contains("200 vs"), "{body}");
    }
    assert!(
        r.text.contains("\nW47   -100* (1 response)\n"),
        "{}",
        r.text
    );

    // From 30 answers the sentence goes.
    d.current = figures(30, 20, 5, 5, 500, 1);
    let r = render_digest_email(&d).unwrap();
    assert!(!r.text.contains("Only 30") && !r.html.contains("Only 30"));
    d.current = figures(29, 20, 5, 4, 500, 1);
    let r = render_digest_email(&d).unwrap();
    let line = "Only 29 responses: too few answers for a reliable figure.";
    assert!(r.text.contains(line) && r.html.contains(line));
}

#[test]
fn numbers_are_formatted_for_reading() {
    assert_eq!(nps(Some(42.0)), "+42");
    assert_eq!(nps(Some(42.5)), "+42.5");
    assert_eq!(nps(Some(0.0)), "0");
    assert_eq!(nps(Some(-0.04)), "0");
    assert_eq!(nps(Some(-12.0)), "-12");
    assert_eq!(nps(None), "–");
    assert_eq!(nps(Some(f64::NAN)), "–");
    assert_eq!(count(0), "0");
    assert_eq!(count(999), "999");
    assert_eq!(count(12_480), "12,480");
    assert_eq!(count(1_234_567), "1,234,567");
    assert_eq!(count_change(5, 5), "no change");
    assert_eq!(count_change(1_500, 400), "+1,100");
    assert_eq!(count_change(3, 7), "-4");
    assert_eq!(percent(Some(0.2555)), "25.6%");
    assert_eq!(percent(Some(1.0)), "100.0%");
    assert_eq!(percent(None), "–");
    assert_eq!(rate_change(Some(0.30), Some(0.275)), "+2.5 pts");
    assert_eq!(rate_change(Some(0.2), Some(0.2)), "no change");
    assert_eq!(rate_change(Some(0.2), None), "–");
}

#[test]
fn no_external_resources_and_only_the_given_links() {
    for d in [sample(), silent()] {
        let r = render_digest_email(&d).unwrap();
        let html = r.html.to_ascii_lowercase();
        for banned in [
            "<script",
            "<img",
            "<link",
            "<iframe",
            "<object",
            "<embed",
            "<form",
            "url(",
            "@import",
            "src=",
            "http://",
            "javascript:",
        ] {
            assert!(!html.contains(banned), "{banned}");
        }
        assert!(html.starts_with("<!doctype html>\n<html lang=\"en\">"));
        assert!(html.contains("<title>"));
        let allowed = [&d.dashboard_url, &d.api_url, &d.unsubscribe_url].map(|u| html_escape(u));
        let hrefs: Vec<&str> = r
            .html
            .split("href=\"")
            .skip(1)
            .map(|s| &s[..s.find('"').unwrap()])
            .collect();
        assert_eq!(hrefs.len(), 3);
        for href in hrefs {
            assert!(allowed.iter().any(|a| a == href), "{href}");
        }
        assert_eq!(r.html.matches("https://").count(), 3);
        assert_eq!(r.text.matches("https://").count(), 3);
        assert!(r
            .text
            .contains(&format!("Open the dashboard: {}\n", d.dashboard_url)));
        assert!(r
            .text
            .contains(&format!("The figures over the API: {}\n", d.api_url)));
        assert!(r.text.contains(&format!(
            "Unsubscribe from this digest: {}",
            d.unsubscribe_url
        )));
        // Every table is presentational; every background has its bgcolor twin.
        assert_eq!(
            r.html.matches("<table").count(),
            r.html.matches("<table role=\"presentation\"").count()
        );
        assert_eq!(
            r.html.matches("background-color:").count(),
            r.html.matches("bgcolor=\"").count(),
            "every background-color has its bgcolor"
        );
    }
}

#[test]
fn stays_under_gmails_clipping_size_even_at_its_largest() {
    let r = render_digest_email(&sample()).unwrap();
    assert!(r.html.len() < 100_000 && r.text.len() < 100_000);

    let mut d = sample();
    let long = NotableComment {
        score: 0,
        first_name: Some("<".repeat(200)),
        comment: "<&\"".repeat(2_000),
        segment: (0..4)
            .map(|i| (format!("key{i}"), "<".repeat(40)))
            .collect(),
    };
    d.detractor_comments = vec![long.clone(); 8];
    d.promoter_comments = vec![NotableComment { score: 10, ..long }; 8];
    d.trend = (0..30)
        .map(|i| TrendPoint {
            label: format!("{i} Nov"),
            nps: Some(-100.0 + i as f64 * 7.0),
            responses: 1_000_000,
            small_sample: false,
        })
        .collect();
    let r = render_digest_email(&d).unwrap();
    assert!(r.html.len() < 100_000, "{} bytes", r.html.len());
    assert_eq!(
        r.html.matches("class=\"tcol\"").count(),
        12,
        "the 12 most recent points"
    );
    assert!(r.text.contains("\n29 Nov"));
    assert!(!r.text.contains("\n17 Nov"));
    assert_eq!(r.text.matches("\nScore 0 - ").count(), 5);
    assert_eq!(r.text.matches("\nScore 10 - ").count(), 5);
    assert!(r.text.contains(&format!("> {}…\n", "<&\"".repeat(200))));
}

#[test]
fn trend_bars_map_minus_100_to_100_onto_the_chart_height() {
    let mut d = sample();
    d.trend = [Some(-100.0), Some(0.0), Some(100.0), None, Some(36.7)]
        .into_iter()
        .enumerate()
        .map(|(i, nps)| TrendPoint {
            label: format!("P{i}"),
            nps,
            responses: 300,
            small_sample: false,
        })
        .collect();
    let r = render_digest_email(&d).unwrap();
    let bars: Vec<(u32, u32)> = view(&d, "#0f766e")
        .trend
        .iter()
        .map(|c| (c.spacer, c.bar))
        .collect();
    assert_eq!(bars, [(97, 3), (50, 50), (0, 100), (98, 2), (32, 68)]);
    assert!(r.html.contains(
        "<tr><td height=\"68\" bgcolor=\"#0f766e\" style=\"height:68px;background-color:#0f766e;"
    ));
    assert!(r
        .html
        .contains("<tr><td height=\"32\" style=\"height:32px;"));
    assert!(r.html.contains("width=\"20%\""));
    assert!(r.html.contains("NPS over the last 5 weeks"));
}

#[test]
fn build_makes_a_one_click_unsubscribable_alternative_message() {
    let d = sample();
    let from: Mailbox = "\"Bike & Hike NPS\" <nps@bikeandhike.example>"
        .parse()
        .unwrap();
    let message = build(&DigestMessage {
        content: &d,
        to: "ops@bikeandhike.example",
        from: &from,
        message_id_local: "digest-01JD5X",
    })
    .unwrap();
    let bytes = message.formatted();
    let raw = String::from_utf8_lossy(&bytes);
    assert!(
        raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"),
        "{raw}"
    );
    assert!(raw.contains(&format!("List-Unsubscribe: <{}>\r\n", d.unsubscribe_url)));
    assert!(raw.contains("Message-ID: <digest-01JD5X@bikeandhike.example>\r\n"));
    assert!(raw.contains("multipart/alternative"));
    assert!(raw.contains("\r\nDate: "));
    assert!(raw.contains("\r\nTo: ops@bikeandhike.example\r\n"));

    let rendered = render_digest_email(&d).unwrap();
    let parsed = mail_parser::MessageParser::default()
        .parse(&bytes[..])
        .unwrap();
    assert_eq!(parsed.subject(), Some(rendered.subject.as_str()));
    assert_eq!(
        parsed.body_text(0).as_deref(),
        Some(rendered.text.replace('\n', "\r\n").as_str())
    );
    assert_eq!(
        parsed.body_html(0).as_deref(),
        Some(rendered.html.replace('\n', "\r\n").as_str())
    );
    assert!(parsed.attachment_count() == 0, "no images or other parts");
    assert!(build(&DigestMessage {
        to: "not an address",
        ..DigestMessage {
            content: &d,
            to: "",
            from: &from,
            message_id_local: "x",
        }
    })
    .is_err());
}

#[test]
fn the_alerts_sent_are_counted_when_there_were_any() {
    let r = render_digest_email(&sample()).unwrap();
    assert!(!r.text.contains("Alerts sent"), "none sent, nothing said");
    let mut d = sample();
    d.alerts_sent = 3;
    let r = render_digest_email(&d).unwrap();
    assert!(
        r.text.contains("Alerts sent to the team this week: 3"),
        "{}",
        r.text
    );
    assert!(
        r.html
            .contains("Alerts sent to the team this week: <strong>3</strong>"),
        "{}",
        r.html
    );
}
