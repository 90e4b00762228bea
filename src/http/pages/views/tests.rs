use super::*;

fn acme() -> Branding {
    Branding {
        brand: "ACME".into(),
        accent_color: "#2563eb".into(),
        locale: "en".into(),
    }
}

fn form<'a>(branding: &'a Branding) -> SurveyFormPage<'a> {
    SurveyFormPage {
        branding,
        question: "How likely are you to recommend ACME to a friend or colleague?",
        form_action: "/r/TOKEN",
        selected: Some(7),
        comment: "",
        error: None,
        max_comment_chars: 5000,
        saved: None,
        answered_before: false,
    }
}

fn thanks_page(b: &Branding, score: u8) -> ThanksPage<'_> {
    ThanksPage {
        branding: b,
        score,
        has_comment: false,
        reply_to: Some("help@acme.example"),
        embedded: false,
    }
}

fn assert_page(html: &str) {
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<html lang=\"en\">"));
    assert!(html.contains("name=\"viewport\""));
    assert_eq!(html.matches("<main>").count(), 1);
    assert!(!html.contains("<script") && !html.contains("src=") && !html.contains("http"));
    assert!(!html.contains("npsd"), "never the tool's name");
}

#[test]
fn the_form_is_an_accessible_fieldset_of_eleven_radios_in_one_row() {
    let b = acme();
    let html = survey_form(&form(&b)).unwrap();
    assert_page(&html);
    assert!(html.contains("<form method=\"post\" action=\"/r/TOKEN\">"));
    assert!(html.contains("<fieldset>"));
    assert!(html.contains(
        "<legend>How likely are you to recommend ACME to a friend or colleague?</legend>"
    ));
    let mut from = 0;
    for n in 0..=10 {
        let input = format!("<input type=\"radio\" id=\"score-{n}\" name=\"score\" value=\"{n}\"");
        let at = html[from..]
            .find(&input)
            .unwrap_or_else(|| panic!("radio {n} missing or out of order"));
        from += at;
        assert!(html[from..].contains(&format!(
            "<label class=\"scale-choice\" for=\"score-{n}\">{n}"
        )));
    }
    assert_eq!(html.matches("type=\"radio\"").count(), 11);
    assert_eq!(html.matches(" checked").count(), 1);
    assert!(html.contains("value=\"7\" required checked>"));
    assert!(html.contains("grid-template-columns: repeat(11, minmax(0, 1fr))"));
    assert!(html.contains("<div class=\"scale-ends\" aria-hidden=\"true\"><span>Not likely</span><span>Very likely</span></div>"));
    assert!(html.contains("<span class=\"visually-hidden\">, Not likely</span>"));
    assert!(html.contains("<label class=\"field-label\" for=\"comment\">"));
    assert!(html.contains(
        "<textarea id=\"comment\" name=\"comment\" rows=\"4\" maxlength=\"5000\">\n</textarea>"
    ));
    assert!(html.contains("<button class=\"button\" type=\"submit\">Send</button>"));
    assert!(html.contains(":focus-visible"));
    assert!(html.contains("--accent: #2563eb;"));
    assert!(!html.contains("role=\"alert\"") && !html.contains("is saved"));
}

#[test]
fn the_form_says_the_click_was_saved() {
    let b = acme();
    let html = survey_form(&SurveyFormPage {
        saved: Some(3),
        selected: Some(3),
        ..form(&b)
    })
    .unwrap();
    assert!(html.contains("Thanks, your score of 3 is saved. Anything you'd like to add?"));
    let html = survey_form(&SurveyFormPage {
        saved: Some(3),
        answered_before: true,
        ..form(&b)
    })
    .unwrap();
    assert!(html.contains("You answered already: your score of 3 is saved."));
}

#[test]
fn the_form_shows_an_error_and_keeps_the_comment() {
    let b = acme();
    let page = SurveyFormPage {
        selected: None,
        comment: "Slow </textarea><b>delivery</b>",
        error: Some("Please choose a score from 0 to 10."),
        ..form(&b)
    };
    let html = survey_form(&page).unwrap();
    assert!(
        html.contains("<p class=\"alert\" role=\"alert\">Please choose a score from 0 to 10.</p>")
    );
    assert!(html.contains(">\nSlow &#60;/textarea&#62;&#60;b&#62;delivery&#60;/b&#62;</textarea>"));
    assert!(!html.contains(" checked"));
}

#[test]
fn every_dynamic_value_is_escaped() {
    let b = Branding {
        brand: "A&B <x>".into(),
        accent_color: "red;}</style><x>".into(),
        locale: "en".into(),
    };
    let page = SurveyFormPage {
        question: "Would you recommend \"A&B\"?",
        form_action: "/r/a\"b",
        error: Some("<x>"),
        ..form(&b)
    };
    let html = survey_form(&page).unwrap();
    assert!(html.contains("<header class=\"brand\">A&#38;B &#60;x&#62;</header>"));
    assert!(html.contains("<legend>Would you recommend &#34;A&#38;B&#34;?</legend>"));
    assert!(html.contains("action=\"/r/a&#34;b\""));
    assert!(html.contains("role=\"alert\">&#60;x&#62;</p>"));
    assert!(
        html.contains("--accent: #2563eb;"),
        "an invalid accent never reaches the CSS"
    );
    assert!(!html.contains("<x>"));
    let hidden = [("email", "<x>".to_string())];
    for html in [
        thanks(&thanks_page(&b, 2)).unwrap(),
        unsubscribe(&UnsubscribePage {
            branding: &b,
            form_action: "/u/t",
            email_masked: "<a>",
            list: "surveys",
        })
        .unwrap(),
        unsubscribed(&UnsubscribedPage {
            branding: &b,
            email_masked: "<a>",
            list: "surveys",
        })
        .unwrap(),
        error_page(&ErrorPage {
            branding: Some(&b),
            title: "<x>",
            message: "<x>",
        })
        .unwrap(),
        embed_form(&EmbedFormPage {
            branding: &b,
            question: "<x>",
            form_action: "/embed/s",
            hidden: &hidden,
            error: Some("<x>"),
        })
        .unwrap(),
        embed_comment(&EmbedCommentPage {
            branding: &b,
            form_action: "/embed/s/comment",
            score: 3,
            response_id: "<x>",
            edit_token: "<x>",
            comment: "<x>",
            error: None,
        })
        .unwrap(),
    ] {
        assert!(!html.contains("<x>") && !html.contains("<a>"), "{html}");
    }
}

#[test]
fn accent_colour_themes_the_page() {
    let b = Branding {
        accent_color: "#facc15".into(),
        ..acme()
    };
    let html = survey_form(&form(&b)).unwrap();
    assert!(html.contains("--accent: #facc15; --on-accent: #111111;"));
}

#[test]
fn thanks_depends_on_the_answer() {
    let b = acme();
    let html = thanks(&thanks_page(&b, 9)).unwrap();
    assert_page(&html);
    assert!(html.contains("<h1>Thank you!</h1>"));
    assert!(html.contains("glad you&#39;d recommend ACME"));
    assert!(
        !html.contains("help@acme.example"),
        "promoters get no apology"
    );
    assert!(html.contains("a score of 9 out of 10."));
    let html = thanks(&ThanksPage {
        has_comment: true,
        ..thanks_page(&b, 3)
    })
    .unwrap();
    assert!(html.contains("sorry ACME fell short"));
    assert!(html.contains("<a href=\"mailto:help@acme.example\">help@acme.example</a>"));
    assert!(html.contains("a score of 3 out of 10 and left a comment."));
    let html = thanks(&thanks_page(&b, 7)).unwrap();
    assert!(html.contains("It helps ACME get better."));
}

#[test]
fn unsubscribe_asks_then_confirms() {
    let b = acme();
    let page = UnsubscribePage {
        branding: &b,
        form_action: "/u/TOKEN",
        email_masked: "a***@example.com",
        list: "surveys",
    };
    let html = unsubscribe(&page).unwrap();
    assert_page(&html);
    assert!(html.contains("Unsubscribe a***@example.com from ACME surveys?"));
    assert!(html.contains("<form method=\"post\" action=\"/u/TOKEN\">"));
    assert!(html.contains("name=\"List-Unsubscribe\" value=\"One-Click\""));
    assert!(html.contains(">Unsubscribe</button>"));

    let html = unsubscribed(&UnsubscribedPage {
        branding: &b,
        email_masked: "a***@example.com",
        list: "surveys",
    })
    .unwrap();
    assert_page(&html);
    assert!(html.contains("<h1>You are unsubscribed</h1>"));
    assert!(html.contains("You will not receive further surveys from ACME."));
    assert!(html.contains("a***@example.com"));
}

#[test]
fn error_pages_carry_the_brand_when_known_and_are_neutral_otherwise() {
    let html = error_page(&ErrorPage {
        branding: None,
        title: "Link not found",
        message: "This link is not valid.",
    })
    .unwrap();
    assert_page(&html);
    assert!(html.contains("<title>Link not found</title>"));
    assert!(!html.contains("<header"));
    assert!(html.contains("<h1>Link not found</h1>"));
    let b = acme();
    let html = error_page(&ErrorPage {
        branding: Some(&b),
        title: "This survey has closed",
        message: "This link has expired.",
    })
    .unwrap();
    assert_page(&html);
    assert!(html.contains("<title>This survey has closed | ACME</title>"));
    assert!(html.contains("<header class=\"brand\">ACME</header>"));
}

#[test]
fn the_embedded_form_works_without_script() {
    let b = acme();
    let hidden = [("email", "ann@example.com".to_string())];
    let html = embed_form(&EmbedFormPage {
        branding: &b,
        question: "How likely?",
        form_action: "/embed/default",
        hidden: &hidden,
        error: None,
    })
    .unwrap();
    assert_page(&html);
    assert!(html.contains("<body class=\"embedded\">"));
    assert!(html.contains("<input type=\"hidden\" name=\"email\" value=\"ann@example.com\">"));
    for n in 0..=10 {
        assert!(html.contains(&format!("type=\"submit\" name=\"score\" value=\"{n}\"")));
    }
    assert!(html.contains("aria-label=\"0, Not likely\""));
    assert!(html.contains("name=\"website\" tabindex=\"-1\""));
}
