use super::*;

#[test]
fn a_product_name_takes_the_brands_place_in_the_question() {
    let mut s = SurveySettings::new_default("default");
    assert_eq!(
        s.question_about(Some("the Acme Kettle")),
        "How likely are you to recommend the Acme Kettle to a friend or colleague?"
    );
    assert_eq!(s.question_about(Some("  ")), s.question_text());
    s.question = Some("Would you recommend {brand}?".into());
    assert_eq!(
        s.question_about(Some("Kettle")),
        "Would you recommend Kettle?"
    );
    assert_eq!(s.question_about(None), "Would you recommend ACME?");
}

#[test]
fn the_default_survey_is_valid() {
    let s = validate(SurveySettings::new_default("default")).unwrap();
    assert_eq!(
        s.question_text(),
        "How likely are you to recommend ACME to a friend or colleague?"
    );
}

#[test]
fn patches_are_checked_as_a_whole() {
    let base = SurveySettings::new_default("default");
    let patch = SurveyPatch {
        brand: Some("Shoe Shop".into()),
        question: Some(Some("Would you recommend {brand}?".into())),
        ..Default::default()
    };
    let s = patch.apply(&base).unwrap();
    assert_eq!(s.question_text(), "Would you recommend Shoe Shop?");
    let bad = SurveyPatch {
        accent_color: Some("red".into()),
        ..Default::default()
    };
    assert_eq!(bad.apply(&base).unwrap_err().field, "accent_color");
    let bad = SurveyPatch {
        throttle_days: Some(-1),
        ..Default::default()
    };
    assert_eq!(bad.apply(&base).unwrap_err().field, "throttle_days");
    let bad = SurveyPatch {
        sender: Some(Some("not an address".into())),
        ..Default::default()
    };
    assert_eq!(bad.apply(&base).unwrap_err().field, "sender");
}

#[test]
fn intro_lines_fill_placeholders_or_drop_out() {
    let props = vec![("order_id".to_string(), "A-17".to_string())];
    assert_eq!(
        render_intro(
            Some("Thanks for order {order_id}, {first_name}."),
            Some("Ann Lee"),
            &props
        )
        .as_deref(),
        Some("Thanks for order A-17, Ann.")
    );
    assert_eq!(render_intro(Some("Order {missing}"), None, &props), None);
    assert_eq!(render_intro(Some("Hi {first_name}"), None, &props), None);
    assert_eq!(render_intro(Some("Broken {order_id"), None, &props), None);
    assert_eq!(render_intro(None, None, &props), None);
    assert_eq!(first_name("  Ann  Lee ").as_deref(), Some("Ann"));
    let bad = SurveyPatch {
        allowed_origins: Some(vec!["https://a.example/path".into()]),
        ..Default::default()
    };
    assert_eq!(
        bad.apply(&SurveySettings::new_default("s"))
            .unwrap_err()
            .field,
        "allowed_origins"
    );
}

#[test]
fn slugs_and_locales() {
    assert!(parse_slug("slug", "post-purchase_2").is_ok());
    assert!(parse_slug("slug", "Bad Slug").is_err());
    assert_eq!(parse_locale("locale", "de_CH").unwrap(), "de-CH");
    assert!(parse_locale("locale", "english!").is_err());
}

#[test]
fn text_colour_contrasts_with_the_accent() {
    assert_eq!(accent_colors("#2563eb"), ("#2563eb", "#ffffff"));
    assert_eq!(accent_colors("#facc15"), ("#facc15", "#111111"));
    assert_eq!(accent_colors("#000000").1, "#ffffff");
    assert_eq!(accent_colors("#ffffff").1, "#111111");
    assert_eq!(accent_colors("nope"), ("#2563eb", "#ffffff"));
}
