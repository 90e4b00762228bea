// One schema for both backends: migrations/sqlite and migrations/postgres create the same columns.

diesel::table! {
    surveys (id) {
        id -> Text,
        slug -> Text,
        brand -> Text,
        question -> Nullable<Text>,
        sender -> Nullable<Text>,
        reply_to -> Nullable<Text>,
        locale -> Text,
        send_delay_seconds -> BigInt,
        throttle_days -> Integer,
        response_window_days -> Integer,
        accent_color -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        allowed_origins -> Text,
        embed_enabled -> Bool,
        embed_secret -> Nullable<Text>,
        intro -> Nullable<Text>,
        digest_enabled -> Bool,
        digest_recipients -> Text,
        digest_weekday -> Text,
        digest_hour -> Integer,
        digest_time_zone -> Text,
        digest_period -> Text,
        digest_changed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Text,
        name -> Text,
        key_hash -> Text,
        prefix -> Text,
        scopes -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        survey_id -> Nullable<Text>,
    }
}

diesel::table! {
    invitations (id) {
        id -> Text,
        survey_id -> Text,
        transaction_id -> Text,
        email -> Text,
        email_key -> Text,
        name -> Nullable<Text>,
        locale -> Text,
        status -> Text,
        reason -> Nullable<Text>,
        send_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        message_id -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        skip_reason -> Nullable<Text>,
    }
}

diesel::table! {
    invitation_properties (invitation_id, name) {
        invitation_id -> Text,
        name -> Text,
        value -> Text,
    }
}

diesel::table! {
    invitation_tokens (token_hash) {
        token_hash -> Text,
        invitation_id -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        purpose -> Text,
    }
}

diesel::table! {
    outbox (id) {
        id -> Text,
        kind -> Text,
        invitation_id -> Nullable<Text>,
        status -> Text,
        due_at -> Timestamp,
        attempts -> Integer,
        lease_id -> Nullable<Text>,
        lease_expires_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        digest_id -> Nullable<Text>,
        recipient -> Nullable<Text>,
        payload -> Nullable<Text>,
    }
}

diesel::table! {
    digests (id) {
        id -> Text,
        survey_id -> Text,
        period_key -> Text,
        period_start -> Timestamp,
        period_end -> Timestamp,
        status -> Text,
        responses -> Integer,
        pausing -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    digest_tokens (token_hash) {
        token_hash -> Text,
        survey_id -> Text,
        recipient -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    unsubscribes (survey_id, email_key) {
        survey_id -> Text,
        email_key -> Text,
        source -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    responses (id) {
        id -> Text,
        survey_id -> Text,
        invitation_id -> Nullable<Text>,
        channel -> Text,
        score -> Integer,
        comment -> Nullable<Text>,
        status -> Text,
        status_reason -> Nullable<Text>,
        responded_at -> Timestamp,
        submitted_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        email -> Nullable<Text>,
        email_key -> Nullable<Text>,
        name -> Nullable<Text>,
        customer_id -> Nullable<Text>,
        page_url -> Nullable<Text>,
        verified -> Bool,
        respondent_key -> Nullable<Text>,
        edit_token_hash -> Nullable<Text>,
        edit_token_expires_at -> Nullable<Timestamp>,
        manual_status -> Nullable<Text>,
    }
}

diesel::table! {
    response_properties (response_id, name) {
        response_id -> Text,
        name -> Text,
        value -> Text,
    }
}

diesel::table! {
    link_events (id) {
        id -> Text,
        invitation_id -> Text,
        kind -> Text,
        score -> Nullable<Integer>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    suppressions (email_hash) {
        email_hash -> Text,
        email -> Nullable<Text>,
        reason -> Text,
        created_at -> Timestamp,
        hash_kind -> Text,
    }
}

diesel::table! {
    score_tallies (survey_id, hour, channel) {
        survey_id -> Text,
        hour -> Timestamp,
        channel -> Text,
        s0 -> BigInt,
        s1 -> BigInt,
        s2 -> BigInt,
        s3 -> BigInt,
        s4 -> BigInt,
        s5 -> BigInt,
        s6 -> BigInt,
        s7 -> BigInt,
        s8 -> BigInt,
        s9 -> BigInt,
        s10 -> BigInt,
        comments -> BigInt,
        sent -> BigInt,
    }
}

diesel::table! {
    property_tallies (survey_id, name, value, hour, channel) {
        survey_id -> Text,
        name -> Text,
        value -> Text,
        hour -> Timestamp,
        channel -> Text,
        promoters -> BigInt,
        passives -> BigInt,
        detractors -> BigInt,
    }
}

diesel::table! {
    score_tallies_daily (survey_id, day, channel) {
        survey_id -> Text,
        day -> Timestamp,
        channel -> Text,
        s0 -> BigInt,
        s1 -> BigInt,
        s2 -> BigInt,
        s3 -> BigInt,
        s4 -> BigInt,
        s5 -> BigInt,
        s6 -> BigInt,
        s7 -> BigInt,
        s8 -> BigInt,
        s9 -> BigInt,
        s10 -> BigInt,
        comments -> BigInt,
        sent -> BigInt,
    }
}

diesel::table! {
    property_tallies_daily (survey_id, name, value, day, channel) {
        survey_id -> Text,
        name -> Text,
        value -> Text,
        day -> Timestamp,
        channel -> Text,
        promoters -> BigInt,
        passives -> BigInt,
        detractors -> BigInt,
    }
}

// Views (the `tally_journal` migration): the tallies plus the journal not folded yet, what
// figures read. Their "keys" are only what diesel's `table!` needs; the rows are not unique.
diesel::table! {
    score_tallies_live (survey_id, hour, channel) {
        survey_id -> Text,
        hour -> Timestamp,
        channel -> Text,
        s0 -> BigInt,
        s1 -> BigInt,
        s2 -> BigInt,
        s3 -> BigInt,
        s4 -> BigInt,
        s5 -> BigInt,
        s6 -> BigInt,
        s7 -> BigInt,
        s8 -> BigInt,
        s9 -> BigInt,
        s10 -> BigInt,
        comments -> BigInt,
        sent -> BigInt,
    }
}

diesel::table! {
    score_tallies_daily_live (survey_id, day, channel) {
        survey_id -> Text,
        day -> Timestamp,
        channel -> Text,
        s0 -> BigInt,
        s1 -> BigInt,
        s2 -> BigInt,
        s3 -> BigInt,
        s4 -> BigInt,
        s5 -> BigInt,
        s6 -> BigInt,
        s7 -> BigInt,
        s8 -> BigInt,
        s9 -> BigInt,
        s10 -> BigInt,
        comments -> BigInt,
        sent -> BigInt,
    }
}

diesel::table! {
    property_tallies_live (survey_id, name, value, hour, channel) {
        survey_id -> Text,
        name -> Text,
        value -> Text,
        hour -> Timestamp,
        channel -> Text,
        promoters -> BigInt,
        passives -> BigInt,
        detractors -> BigInt,
    }
}

diesel::table! {
    property_tallies_daily_live (survey_id, name, value, day, channel) {
        survey_id -> Text,
        name -> Text,
        value -> Text,
        day -> Timestamp,
        channel -> Text,
        promoters -> BigInt,
        passives -> BigInt,
        detractors -> BigInt,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        email_key -> Text,
        role -> Text,
        password_hash -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    user_sessions (token_hash) {
        token_hash -> Text,
        user_id -> Text,
        csrf_token -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    sign_in_links (token_hash) {
        token_hash -> Text,
        user_id -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    app_secrets (name) {
        name -> Text,
        value -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(invitations -> surveys (survey_id));
diesel::joinable!(invitation_properties -> invitations (invitation_id));
diesel::joinable!(invitation_tokens -> invitations (invitation_id));
diesel::joinable!(outbox -> invitations (invitation_id));
diesel::joinable!(outbox -> digests (digest_id));
diesel::joinable!(digests -> surveys (survey_id));
diesel::joinable!(responses -> invitations (invitation_id));
diesel::joinable!(link_events -> invitations (invitation_id));
diesel::joinable!(responses -> surveys (survey_id));
diesel::joinable!(response_properties -> responses (response_id));
diesel::joinable!(unsubscribes -> surveys (survey_id));

diesel::joinable!(user_sessions -> users (user_id));
diesel::joinable!(sign_in_links -> users (user_id));

diesel::allow_columns_to_appear_in_same_group_by_clause!(
    response_properties::value,
    responses::score,
);

diesel::allow_tables_to_appear_in_same_query!(
    score_tallies,
    property_tallies,
    score_tallies_daily,
    property_tallies_daily,
    users,
    user_sessions,
    sign_in_links,
    app_secrets,
    surveys,
    api_keys,
    invitations,
    invitation_properties,
    invitation_tokens,
    outbox,
    unsubscribes,
    responses,
    response_properties,
    link_events,
    suppressions,
    digests,
    digest_tokens,
    people,
);

diesel::table! {
    people (id) {
        id -> Text,
        email_key -> Text,
        email -> Text,
        name -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    events (seq) {
        seq -> BigInt,
        txid -> BigInt,
        #[sql_name = "type"]
        kind -> Text,
        survey_id -> Nullable<Text>,
        subject_id -> Nullable<Text>,
        data -> Text,
        occurred_at -> Timestamp,
    }
}

diesel::table! {
    webhooks (id) {
        id -> Text,
        url -> Text,
        events -> Text,
        survey_id -> Nullable<Text>,
        description -> Nullable<Text>,
        format -> Text,
        secret -> Text,
        enabled -> Bool,
        disabled_reason -> Nullable<Text>,
        cursor_txid -> BigInt,
        cursor_seq -> BigInt,
        attempts -> Integer,
        next_attempt_at -> Nullable<Timestamp>,
        failing_since -> Nullable<Timestamp>,
        lease_id -> Nullable<Text>,
        lease_expires_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Text,
        webhook_id -> Text,
        event_id -> Text,
        event_type -> Text,
        attempt -> Integer,
        outcome -> Text,
        response_code -> Nullable<Integer>,
        response_body -> Nullable<Text>,
        error -> Nullable<Text>,
        duration_ms -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));
diesel::allow_tables_to_appear_in_same_query!(webhooks, webhook_deliveries, surveys);

diesel::table! {
    alert_rules (id) {
        id -> Text,
        survey_id -> Text,
        name -> Text,
        conditions -> Text,
        emails -> Text,
        slack_url -> Nullable<Text>,
        teams_url -> Nullable<Text>,
        summary_minutes -> Integer,
        enabled -> Bool,
        cursor_txid -> BigInt,
        cursor_seq -> BigInt,
        attempts -> Integer,
        next_attempt_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        lease_id -> Nullable<Text>,
        lease_expires_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    alert_matches (rule_id, response_id) {
        rule_id -> Text,
        response_id -> Text,
        survey_id -> Text,
        matched_at -> Timestamp,
        notified_at -> Nullable<Timestamp>,
        discard_noted_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(alert_matches -> alert_rules (rule_id));
diesel::allow_tables_to_appear_in_same_query!(alert_rules, alert_matches);
