use super::*;

#[test]
fn defaults_are_the_embedded_set_up() {
    let c = Config::from_sources(&Sources::from_pairs([])).unwrap();
    assert_eq!(c.database_url, DatabaseUrl::Sqlite("npsd.db".into()));
    assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
    assert!(c.smtp_url.is_none());
    assert_eq!(c.mail_from.to_string(), "NPS <nps@localhost>");
    assert_eq!(c.log_format, LogFormat::Text);
    assert_eq!(c.query_timeout, Duration::from_secs(5));
    assert_eq!(c.embed_signature_max_age, Duration::from_secs(86_400));
}

#[test]
fn durations_are_seconds_or_words() {
    let max_age = |raw: &str| {
        Config::from_sources(&Sources::from_pairs([(
            "NPSD_EMBED_SIGNATURE_MAX_AGE",
            raw,
        )]))
        .unwrap()
        .embed_signature_max_age
    };
    assert_eq!(max_age("3600"), Duration::from_secs(3600));
    assert_eq!(max_age("90min"), Duration::from_secs(5400));
    assert_eq!(max_age("1d 12h"), Duration::from_secs(129_600));
}

#[test]
fn a_bad_value_names_its_variable() {
    for (var, value) in [
        ("NPSD_BIND", "nowhere"),
        ("NPSD_DATABASE_URL", "mysql://x"),
        ("NPSD_PUBLIC_URL", "ftp://x"),
        ("NPSD_SMTP_URL", "http://x"),
        ("NPSD_MAIL_FROM", "not an address"),
        ("NPSD_API_KEY", "short"),
        ("NPSD_DISPATCH_POLL_MS", "fast"),
        ("NPSD_LOG_FORMAT", "yaml"),
        ("NPSD_QUERY_TIMEOUT_MS", "0"),
        ("NPSD_EMBED_SIGNATURE_MAX_AGE", "a while"),
        ("NPSD_EMBED_SIGNATURE_MAX_AGE", "0"),
        ("NPSD_EMBED_SIGNATURE_MAX_AGE", "400 days"),
    ] {
        let e = Config::from_sources(&Sources::from_pairs([(var, value)])).unwrap_err();
        assert_eq!(e.var, var, "{e}");
        assert!(e.to_string().starts_with(var));
    }
}

#[test]
fn npsd_toml_is_read_and_the_environment_wins() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("npsd.toml");
    std::fs::write(
        &file,
        "bind = \"127.0.0.1:9999\"\nmail_dir = \"/tmp/mails\"\ndispatch_batch = 5\n",
    )
    .unwrap();
    let env = |pairs: &[(&str, &str)]| {
        let mut v: Vec<(String, String)> = vec![("NPSD_CONFIG".into(), file.display().to_string())];
        v.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        v.into_iter()
    };
    let c = Config::from_sources(&Sources::load(env(&[])).unwrap()).unwrap();
    assert_eq!(c.bind.to_string(), "127.0.0.1:9999");
    assert_eq!(c.mail_dir, PathBuf::from("/tmp/mails"));
    assert_eq!(c.dispatcher.batch_size, 5);
    let c = Config::from_sources(&Sources::load(env(&[("NPSD_BIND", "127.0.0.1:7777")])).unwrap())
        .unwrap();
    assert_eq!(c.bind.to_string(), "127.0.0.1:7777");

    std::fs::write(&file, "bind = [1, 2]").unwrap();
    assert_eq!(Sources::load(env(&[])).err().unwrap().var, "NPSD_BIND");
    std::fs::write(&file, "bind = ").unwrap();
    assert_eq!(Sources::load(env(&[])).err().unwrap().var, "NPSD_CONFIG");
    let missing = vec![(
        "NPSD_CONFIG".to_string(),
        "/nonexistent/npsd.toml".to_string(),
    )];
    assert_eq!(
        Sources::load(missing.into_iter()).err().unwrap().var,
        "NPSD_CONFIG"
    );
}

#[test]
fn debug_output_hides_secrets() {
    let c = Config::from_sources(&Sources::from_pairs([
        ("NPSD_API_KEY", "super-secret-key-123"),
        ("NPSD_SMTP_URL", "smtps://user:hunter2@mail.example.com"),
    ]))
    .unwrap();
    let shown = format!("{c:?}");
    assert!(!shown.contains("super-secret"));
    assert!(!shown.contains("hunter2"));
    // Passwords in URLs that do not parse as URLs are hidden too.
    for url in [
        "postgres://u:pw@db.example/npsd",
        "postgres://u:pw@[broken/npsd",
        "postgresql://u:pw@/npsd?host=/run/postgresql",
    ] {
        let c = Config::from_sources(&Sources::from_pairs([
            ("NPSD_DATABASE_URL", url),
            ("NPSD_SMTP_URL", "smtp://u:pw@mail.example:25"),
        ]))
        .unwrap();
        let shown = format!("{c:?} {:?} {}", c.database_url, c.database_url);
        assert!(!shown.contains("pw"), "{shown}");
    }
}
