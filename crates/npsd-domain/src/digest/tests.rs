use super::*;

fn at(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
}

fn weekly(tz: &str) -> DigestSettings {
    DigestSettings::default()
        .patched(&DigestPatch {
            enabled: Some(true),
            recipients: Some(vec!["cx@shop.example".into()]),
            time_zone: Some(tz.into()),
            ..Default::default()
        })
        .unwrap()
}

#[test]
fn settings_are_checked_field_by_field() {
    let d = DigestSettings::default();
    let field = |p: DigestPatch| d.patched(&p).unwrap_err().field;
    let text = |s: &str| Some(s.to_string());
    let patch = DigestPatch::default;
    assert_eq!(
        field(DigestPatch {
            weekday: text("funday"),
            ..patch()
        }),
        "digest.weekday"
    );
    for hour in [
        WholeInput::Whole(24),
        WholeInput::Whole(-1),
        WholeInput::NotWhole,
    ] {
        assert_eq!(
            field(DigestPatch {
                hour: Some(hour),
                ..patch()
            }),
            "digest.hour"
        );
    }
    assert_eq!(
        field(DigestPatch {
            time_zone: text("Mars/Olympus"),
            ..patch()
        }),
        "digest.time_zone"
    );
    assert_eq!(
        field(DigestPatch {
            recipients: Some(vec!["nope".into()]),
            ..patch()
        }),
        "digest.recipients"
    );
    assert_eq!(
        field(DigestPatch {
            period: text("hourly"),
            ..patch()
        }),
        "digest.period"
    );
    assert_eq!(
        field(DigestPatch {
            enabled: Some(true),
            ..patch()
        }),
        "digest.recipients"
    );
    assert_eq!(
        field(DigestPatch {
            unknown: text("color"),
            ..patch()
        }),
        "digest.color"
    );
    let s = d
        .patched(&DigestPatch {
            weekday: text("Friday"),
            hour: Some(WholeInput::Whole(0)),
            time_zone: text("America/New_York"),
            ..patch()
        })
        .unwrap();
    assert_eq!((s.weekday_name(), s.hour), ("fri", 0));
}

#[test]
fn a_week_is_monday_to_sunday_in_the_survey_zone() {
    let s = weekly("Europe/Berlin");
    // Thursday 26 November 2026, 12:00 UTC.
    let p = s.period_containing(at("2026-11-26 12:00"));
    assert_eq!(p.key(), "2026-W48");
    assert_eq!(
        p.start,
        at("2026-11-22 23:00"),
        "Monday 00:00 in Berlin (UTC+1)"
    );
    assert_eq!(p.end, at("2026-11-29 23:00"));
    assert_eq!(p.previous().key(), "2026-W47");
    assert_eq!(p.previous().label(), "Week 47, 16–22 November 2026");
    assert_eq!(
        s.slot_of(&p.previous()),
        at("2026-11-23 08:00"),
        "Monday 09:00 Berlin"
    );
}

#[test]
fn dst_weeks_cover_exactly_their_days() {
    // Berlin leaves summer time on Sunday 25 October 2026: that week has 169 hours.
    let s = weekly("Europe/Berlin");
    let p = s.period_containing(at("2026-10-21 12:00"));
    assert_eq!(p.start, at("2026-10-18 22:00"));
    assert_eq!(p.end, at("2026-10-25 23:00"));
    assert_eq!((p.end - p.start).num_hours(), 169);
    // New York enters summer time on Sunday 8 March 2026: that week has 167 hours.
    let s = weekly("America/New_York");
    let p = s.period_containing(at("2026-03-05 12:00"));
    assert_eq!(p.start, at("2026-03-02 05:00"));
    assert_eq!(p.end, at("2026-03-09 04:00"));
    assert_eq!((p.end - p.start).num_hours(), 167);
    // And the digest slot after it is Monday 09:00 New York daylight time.
    assert_eq!(s.slot_of(&p), at("2026-03-09 13:00"));
}

#[test]
fn the_digest_due_is_the_latest_slot_that_came() {
    let s = weekly("UTC");
    let long_ago = at("2026-01-01 00:00");
    // Monday 23 Nov 08:59: last week's slot has not come; the week before's has.
    assert_eq!(
        s.due(at("2026-11-23 08:59"), long_ago).unwrap().key(),
        "2026-W46"
    );
    assert_eq!(
        s.due(at("2026-11-23 09:00"), long_ago).unwrap().key(),
        "2026-W47"
    );
    // A week of downtime: only the latest period.
    assert_eq!(
        s.due(at("2026-12-09 10:00"), long_ago).unwrap().key(),
        "2026-W49"
    );
    // Enabled on Tuesday: the week that just ended goes at once.
    assert_eq!(
        s.due(at("2026-11-24 10:00"), at("2026-11-24 09:59"))
            .unwrap()
            .key(),
        "2026-W47"
    );
    // Enabled on Monday before the slot: nothing older than last week, which waits for 09:00.
    assert_eq!(s.due(at("2026-11-23 08:00"), at("2026-11-23 07:00")), None);
    // Off: never.
    let mut off = s.clone();
    off.enabled = false;
    assert_eq!(off.due(at("2026-11-24 10:00"), long_ago), None);
}

#[test]
fn daily_and_monthly_periods() {
    let mut s = weekly("UTC");
    s.period = PeriodKind::Daily;
    let due = s
        .due(at("2026-11-25 10:00"), at("2026-01-01 00:00"))
        .unwrap();
    assert_eq!(due.key(), "2026-11-24");
    assert_eq!(due.label(), "Tuesday 24 November 2026");
    s.period = PeriodKind::Monthly;
    let due = s
        .due(at("2026-12-01 09:30"), at("2026-01-01 00:00"))
        .unwrap();
    assert_eq!(due.key(), "2026-11");
    assert_eq!(due.label(), "November 2026");
    assert_eq!(due.preceding(12).len(), 12);
    assert_eq!(due.preceding(12)[0].key(), "2025-11");
}

#[test]
fn periods_by_name() {
    let tz = TimeZone::UTC;
    assert_eq!(
        parse_period("2026-W47", &tz).unwrap().start,
        at("2026-11-16 00:00")
    );
    assert_eq!(
        parse_period("2026-11-25", &tz).unwrap().kind,
        PeriodKind::Daily
    );
    assert_eq!(
        parse_period("2026-11", &tz).unwrap().end,
        at("2026-12-01 00:00")
    );
    assert!(parse_period("2026-W60", &tz).is_err());
    assert!(parse_period("yesterday", &tz).is_err());
}
