//! Unit tests of loading and checking the configuration.

use super::*;

mod dp;
mod duration_display;
mod fuzz;

const PATH: &str = "/etc/certanon/certanon.toml";

/// A configuration shaped like the documented example: one task of each kind.
const EXAMPLE: &str = r#"[database]
url_file = "/run/credentials/certanon.service/database-url"   # or CERTANON_DATABASE_URL
sslmode = "require"                                            # TLS with a CA file for remote servers

[keys]
hmac_key_file = "/run/credentials/certanon.service/hmac-key"
key_id = "k2026a"

[export]
root = "/var/lib/certanon/exports"

[privacy]
k = 5
max_suppression = 0.05

[tasks.monthly_statistics]
kind = "aggregates"
schedule = "30 2 1 * *"
retain_exports = "400 days"

[tasks.research_extract]
kind = "research_extract"
mode = "anonymous"
schedule = "0 3 1 */3 *"

[tasks.retention]
kind = "retention"
schedule = "0 4 * * 0"
personal_data_after_expiry = "7 years"
mode = "report"
"#;

const KEYS: &str = "[keys]\nhmac_key_file = \"/k\"\nkey_id = \"k1\"\n";

fn load(text: &str) -> Result<Config> {
    Config::from_str(text, Path::new(PATH))
}

fn error(text: &str) -> String {
    load(text)
        .expect_err("config should be rejected")
        .to_string()
}

#[test]
fn the_example_loads() {
    let config = load(EXAMPLE).expect("example loads");
    assert_eq!(config.path, Path::new(PATH));
    assert_eq!(
        config.sha256,
        hex::encode(Sha256::digest(EXAMPLE.as_bytes()))
    );
    assert_eq!(config.time_zone, None);
    assert_eq!(
        config.database.url_file.as_deref(),
        Some(Path::new("/run/credentials/certanon.service/database-url"))
    );
    assert_eq!(config.database.sslmode, Some(SslMode::Require));
    assert_eq!(config.database.connect_timeout_secs, 10);
    assert!(config.database.yield_cpu);
    assert_eq!(config.keys.key_id, "k2026a");
    assert_eq!(config.export.root, Path::new("/var/lib/certanon/exports"));
    assert_eq!(
        (
            config.privacy.k,
            config.privacy.max_suppression,
            config.privacy.dominance
        ),
        (5, 0.05, 0.5)
    );
    assert_eq!(
        config.tasks.keys().collect::<Vec<_>>(),
        ["monthly_statistics", "research_extract", "retention"]
    );
    let stats = &config.tasks["monthly_statistics"];
    assert_eq!(stats.kind, TaskKind::Aggregates);
    let new_year = "2026-01-01T00:00:00Z".parse().expect("time");
    let next = |task: &TaskConfig| task.schedule.next_after(new_year).map(|t| t.to_rfc3339());
    assert_eq!(next(stats).as_deref(), Some("2026-01-01T02:30:00+00:00"));
    assert_eq!(stats.retain_exports, Some(TimeDelta::days(400)));
    let extract = &config.tasks["research_extract"];
    assert_eq!(
        extract.kind,
        TaskKind::ResearchExtract {
            mode: ReleaseMode::Anonymous,
            recipient: None
        }
    );
    assert_eq!(extract.retain_exports, None);
    let retention = &config.tasks["retention"];
    assert_eq!(
        retention.kind,
        TaskKind::Retention {
            mode: RetentionMode::Report,
            personal_data_after_expiry: TimeDelta::seconds(7 * 31_557_600),
            batch_size: 1000,
            max_erase_per_run: EraseLimit::Percent(5.0),
        }
    );
    assert_eq!(
        next(retention).as_deref(),
        Some("2026-01-04T04:00:00+00:00")
    );
    assert_eq!(config.metrics.textfile, None);
}

/// The example shipped to users in docs/ loads, so it cannot drift from what the loader accepts.
#[test]
fn the_shipped_example_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/certanon.example.toml");
    let text = std::fs::read_to_string(&path).expect("docs/certanon.example.toml");
    let config = Config::from_str(&text, &path).unwrap_or_else(|e| panic!("{e}"));
    let kinds: Vec<&str> = config.tasks.values().map(|t| t.kind.as_str()).collect();
    for kind in ["research_extract", "aggregates", "retention"] {
        assert!(kinds.contains(&kind), "the example has no {kind} task");
    }
    assert!(config.metrics.textfile.is_some());
    let dp = config.tasks.values().find_map(|t| t.dp.as_ref());
    assert!(
        dp.is_some_and(|d| d.max_certificates == 5 && d.epsilon_micro == 1_000_000),
        "the example's dp task takes [privacy.dp] with its own override"
    );
}

#[test]
fn every_documented_key_loads() {
    let text = r#"
time_zone = "Asia/Tokyo"
[database]
url_file = "/run/db-url"
sslmode = "verify-full"
ca_file = "/etc/certanon/db-ca.pem"
connect_timeout_secs = 3
yield_cpu = false
[keys]
hmac_key_file = "/run/hmac"
key_id = "k-2026-b"
[export]
root = "/srv/exports"
[privacy]
k = 10
max_suppression = 0
[tasks.extract_univ_x]
kind = "research_extract"
schedule = "@monthly"
retain_exports = "90d"
recipient = "univ-x"
[tasks.erase]
kind = "retention"
schedule = "0 4 * * sun"
mode = "erase"
personal_data_after_expiry = "2 weeks"
batch_size = 50
[metrics]
textfile = "/var/lib/node_exporter/textfile/certanon.prom"
"#;
    let config = load(text).expect("loads");
    let tokyo: Tz = "Asia/Tokyo".parse().expect("zone");
    assert_eq!(config.time_zone, Some(tokyo));
    assert_eq!(config.database.sslmode, Some(SslMode::VerifyFull));
    assert_eq!(
        config.database.ca_file.as_deref(),
        Some(Path::new("/etc/certanon/db-ca.pem"))
    );
    assert_eq!(config.database.connect_timeout_secs, 3);
    assert!(!config.database.yield_cpu);
    assert_eq!(config.privacy.max_suppression, 0.0);
    assert_eq!(
        config.tasks["extract_univ_x"].kind,
        TaskKind::ResearchExtract {
            mode: ReleaseMode::Pseudonymous,
            recipient: Some("univ-x".into())
        }
    );
    assert_eq!(
        config.tasks["extract_univ_x"].retain_exports,
        Some(TimeDelta::days(90))
    );
    assert_eq!(
        config.tasks["erase"].kind,
        TaskKind::Retention {
            mode: RetentionMode::Erase,
            personal_data_after_expiry: TimeDelta::weeks(2),
            batch_size: 50,
            max_erase_per_run: EraseLimit::Percent(5.0),
        }
    );
    // The schedule is evaluated in the configured zone: 04:00 in Tokyo is 19:00 UTC.
    let after = "2026-01-01T00:00:00Z".parse().expect("time");
    let next = config.tasks["erase"]
        .schedule
        .next_after(after)
        .expect("fires");
    assert_eq!(next.to_rfc3339(), "2026-01-03T19:00:00+00:00");
    assert_eq!(
        config.metrics.textfile.as_deref(),
        Some(Path::new("/var/lib/node_exporter/textfile/certanon.prom"))
    );
}

#[test]
fn a_small_config_gets_defaults() {
    let config = load(KEYS).expect("loads");
    assert_eq!(config.privacy.k, DEFAULT_K);
    assert_eq!(config.privacy.max_suppression, DEFAULT_MAX_SUPPRESSION);
    assert_eq!(config.privacy.dominance, DEFAULT_DOMINANCE);
    assert_eq!(config.privacy.subject_k, None);
    assert_eq!(config.export.root, Path::new(DEFAULT_EXPORT_ROOT));
    assert_eq!(config.database.sslmode, None);
    assert_eq!(config.database.url_file, None);
    assert!(config.tasks.is_empty());
}

#[test]
fn an_unknown_mode_reads_exactly() {
    let text = EXAMPLE.replace("mode = \"anonymous\"", "mode = \"anon\"");
    assert_eq!(
        error(&text),
        "config /etc/certanon/certanon.toml:23: tasks.research_extract.mode: unknown mode \"anon\" (expected pseudonymous or anonymous)"
    );
}

/// A `[tasks.t]` table with `body`, after a valid `[keys]`.
fn task(body: &str) -> String {
    format!("{KEYS}[tasks.t]\n{body}\n")
}

/// Every text is rejected with one line that starts with `FILE:LINE ` and holds its fragment.
fn assert_rejected(cases: &[(String, &str, &str)]) {
    for (text, line, fragment) in cases {
        let message = error(text);
        let expected_prefix = format!("config {PATH}{line} ");
        assert!(
            message.starts_with(&expected_prefix),
            "{text:?}\n  gave {message:?}\n  expected location {line}"
        );
        assert!(
            message.contains(fragment),
            "{text:?}\n  gave {message:?}\n  expected {fragment:?}"
        );
        assert!(!message.contains('\n'), "{message:?} is not one line");
    }
}

#[test]
fn syntax_errors_name_their_line() {
    assert_rejected(&[
        ("[database\nsslmode = 1\n".into(), ":1:", "TOML syntax: "),
        (
            format!("{KEYS}[privacy]\nk = 5\nk = 6\n"),
            ":6:",
            "TOML syntax: duplicate key `k`",
        ),
    ]);
}

#[test]
fn unknown_keys_are_named_by_their_full_path() {
    assert_rejected(&[
        (
            format!("{KEYS}[database]\nsslmod = \"require\"\n"),
            ":5:",
            "database.sslmod: unknown key (expected",
        ),
        (
            format!("database . sslmod = \"x\"\n{KEYS}"),
            ":1:",
            "database.sslmod: unknown key",
        ),
        (
            format!("{KEYS}database.sslmod = \"x\"\n"),
            ":4:",
            "keys.database: unknown key",
        ),
        (
            format!("{KEYS}[databse]\n"),
            ":4:",
            ": databse: unknown key",
        ),
        (
            format!("{KEYS}[privacy.extra]\nx = 1\n"),
            ":4:",
            ": privacy.extra: unknown key",
        ),
        (
            format!("colour = \"blue\"\n{KEYS}"),
            ":1:",
            "colour: unknown key",
        ),
        (
            task("kind = \"aggregates\"\nshedule = \"@daily\""),
            ":6:",
            "tasks.t.shedule: unknown key",
        ),
        (
            format!("{KEYS}[tasks]\nt = {{ kind = \"aggregates\", when = 1 }}\n"),
            ":5:",
            "tasks.t.when: unknown key",
        ),
    ]);
}

#[test]
fn values_of_the_wrong_type_name_their_key() {
    assert_rejected(&[
        (
            format!("{KEYS}[privacy]\nk = \"five\"\n"),
            ":5:",
            "privacy.k: invalid type: string \"five\", expected i64",
        ),
        (
            format!("{KEYS}[database]\nyield_cpu = \"no\"\n"),
            ":5:",
            "yield_cpu",
        ),
        (
            task("kind = \"aggregates\"\nschedule = 3"),
            ":6:",
            "tasks.t.schedule: invalid type: integer `3`, expected a string",
        ),
        (
            task("kind = \"aggregates\"\nschedule = [\n  \"@daily\",\n]"),
            ":6:",
            "tasks.t.schedule: invalid type: sequence",
        ),
    ]);
}

#[test]
fn privacy_settings_out_of_range_are_refused() {
    assert_rejected(&[
        (
            format!("{KEYS}[privacy]\nk = 1\n"),
            ":5:",
            "privacy.k: must be at least 2",
        ),
        (
            format!("{KEYS}[privacy]\nk = -3\n"),
            ":5:",
            "privacy.k: must be at least 2",
        ),
        (
            format!("{KEYS}[privacy]\nmax_suppression = 1.0\n"),
            ":5:",
            "privacy.max_suppression: must be a share in [0, 1)",
        ),
        (
            format!("{KEYS}[privacy]\nmax_suppression = -0.1\n"),
            ":5:",
            "privacy.max_suppression: must be",
        ),
        (
            format!("{KEYS}[privacy]\nmax_suppression = nan\n"),
            ":5:",
            "privacy.max_suppression: must be",
        ),
        (
            format!("{KEYS}[privacy]\nk = 2\nsubject_k = 1\n"),
            ":6:",
            "privacy.subject_k: must be at least privacy.k (2)",
        ),
        (
            format!("{KEYS}[privacy]\nsubject_k = 4\n"),
            ":5:",
            "privacy.subject_k: must be at least privacy.k (5)",
        ),
        (
            format!("{KEYS}[privacy]\ndominance = 0.0\n"),
            ":5:",
            "privacy.dominance: must be a share in (0, 1]",
        ),
        (
            format!("{KEYS}[privacy]\ndominance = 1.5\n"),
            ":5:",
            "privacy.dominance: must be",
        ),
        (
            format!("{KEYS}[privacy]\ndominance = nan\n"),
            ":5:",
            "privacy.dominance: must be",
        ),
    ]);
}

#[test]
fn a_subject_k_below_two_exits_as_a_configuration_problem() {
    let err = load(&format!("{KEYS}[privacy]\nsubject_k = 0\n")).expect_err("refused");
    assert_eq!(err.exit_code(), 78, "{err}");
    let config = load(&format!("{KEYS}[privacy]\nsubject_k = 5\n")).expect("loads");
    assert_eq!(config.privacy.subject_k, Some(5));
}

#[test]
fn zone_database_and_key_settings_are_checked() {
    assert_rejected(&[
        (
            format!("time_zone = \"Asia/Tokio\"\n{KEYS}"),
            ":1:",
            "time_zone: unknown time zone \"Asia/Tokio\"",
        ),
        (
            format!("{KEYS}[database]\nsslmode = \"on\"\n"),
            ":5:",
            "database.sslmode: unknown sslmode \"on\" (expected disable, prefer, require or verify-full)",
        ),
        (
            format!("{KEYS}[database]\nsslmode = \"verify-full\"\n"),
            ":5:",
            "database.sslmode: verify-full needs database.ca_file",
        ),
        (
            format!("{KEYS}[database]\nconnect_timeout_secs = 0\n"),
            ":5:",
            "database.connect_timeout_secs: must be at least 1",
        ),
        (
            "[keys]\nhmac_key_file = \"/k\"\nkey_id = \"k 1\"\n".into(),
            ":3:",
            "keys.key_id: must be 1 to 64 letters, digits or '-'",
        ),
        (
            "[keys]\nhmac_key_file = \"/k\"\nkey_id = \"k_1\"\n".into(),
            ":3:",
            "keys.key_id: must be",
        ),
        (
            "[privacy]\nk = 5\n\n[keys]\nhmac_key_file = \"/k\"\n".into(),
            ":4:",
            "keys.key_id: missing (required)",
        ),
    ]);
}

#[test]
fn a_task_needs_a_valid_name_kind_and_schedule() {
    assert_rejected(&[
        (
            task("schedule = \"@daily\""),
            ":4:",
            "tasks.t.kind: missing (required)",
        ),
        (
            task("kind = \"aggregates\""),
            ":4:",
            "tasks.t.schedule: missing (required)",
        ),
        (
            task("kind = \"stats\"\nschedule = \"@daily\""),
            ":5:",
            "tasks.t.kind: unknown kind \"stats\" (expected aggregates, research_extract or retention)",
        ),
        (
            task("kind = \"aggregates\"\nschedule = \"0 3 * *\""),
            ":6:",
            "tasks.t.schedule: expected 5 fields",
        ),
        (
            task("kind = \"aggregates\"\nschedule = \"0 0 30 2 *\""),
            ":6:",
            "tasks.t.schedule: never fires",
        ),
        (
            task("kind = \"aggregates\"\nschedule = \"60 * * * *\""),
            ":6:",
            "tasks.t.schedule: minute field \"60\": 60 is out of range (0-59)",
        ),
        (
            task("kind = \"aggregates\"\nschedule = \"@daily\"\nretain_exports = \"400 dayz\""),
            ":7:",
            "tasks.t.retain_exports: bad duration \"400 dayz\": unknown unit \"dayz\"",
        ),
        (
            format!("{KEYS}[tasks.\"a/b\"]\nkind = \"aggregates\"\nschedule = \"@daily\"\n"),
            ":4:",
            "tasks.a/b: task names are 1 to 64 letters",
        ),
    ]);
}

#[test]
fn settings_of_another_kind_are_refused() {
    assert_rejected(&[
        (
            task("kind = \"aggregates\"\nschedule = \"@daily\"\nmode = \"anonymous\""),
            ":7:",
            "tasks.t.mode: unknown mode \"anonymous\" (expected suppression or dp)",
        ),
        (
            task("kind = \"aggregates\"\nschedule = \"@daily\"\nrecipient = \"x\""),
            ":7:",
            "tasks.t.recipient: not a setting of kind aggregates (only of research_extract)",
        ),
        (
            task("kind = \"aggregates\"\nschedule = \"@daily\"\nbatch_size = 10"),
            ":7:",
            "tasks.t.batch_size: not a setting of kind aggregates (only of retention)",
        ),
        (
            task(
                "kind = \"research_extract\"\nschedule = \"@daily\"\npersonal_data_after_expiry = \"1 year\"",
            ),
            ":7:",
            "tasks.t.personal_data_after_expiry: not a setting of kind research_extract",
        ),
        (
            task(
                "kind = \"retention\"\nschedule = \"@daily\"\npersonal_data_after_expiry = \"7 years\"\nretain_exports = \"1 day\"",
            ),
            ":8:",
            "tasks.t.retain_exports: not a setting of kind retention",
        ),
    ]);
}

#[test]
fn settings_of_each_kind_are_checked() {
    assert_rejected(&[
        (
            task("kind = \"research_extract\"\nschedule = \"@daily\"\nmode = \"report\""),
            ":7:",
            "tasks.t.mode: unknown mode \"report\" (expected pseudonymous or anonymous)",
        ),
        (
            task("kind = \"research_extract\"\nschedule = \"@daily\"\nrecipient = \"../x\""),
            ":7:",
            "tasks.t.recipient: must be",
        ),
        (
            task("kind = \"retention\"\nschedule = \"@daily\""),
            ":5:",
            "tasks.t.personal_data_after_expiry: required for kind retention",
        ),
        (
            task(
                "kind = \"retention\"\nschedule = \"@daily\"\npersonal_data_after_expiry = \"7 years\"\nmode = \"anonymous\"",
            ),
            ":8:",
            "tasks.t.mode: unknown mode \"anonymous\" (expected report or erase)",
        ),
        (
            task("kind = \"retention\"\nschedule = \"@daily\"\npersonal_data_after_expiry = \"7\""),
            ":7:",
            "tasks.t.personal_data_after_expiry: bad duration \"7\": missing unit",
        ),
        (
            task(
                "kind = \"retention\"\nschedule = \"@daily\"\npersonal_data_after_expiry = \"7 years\"\nbatch_size = 0",
            ),
            ":8:",
            "tasks.t.batch_size: must be at least 1",
        ),
    ]);
}

#[test]
fn missing_keys_table_names_the_file() {
    assert_eq!(
        error("[privacy]\nk = 5\n"),
        format!("config {PATH}: keys: missing (required)")
    );
}

#[test]
fn errors_exit_78() {
    assert_eq!(
        load("[").expect_err("syntax").exit_code(),
        crate::error::exit::CONFIG
    );
}

#[test]
fn durations() {
    let ok: &[(&str, TimeDelta)] = &[
        ("400 days", TimeDelta::days(400)),
        ("1 day", TimeDelta::days(1)),
        ("90d", TimeDelta::days(90)),
        ("12 hours", TimeDelta::hours(12)),
        ("30 minutes", TimeDelta::minutes(30)),
        ("45 min", TimeDelta::minutes(45)),
        ("2 weeks", TimeDelta::weeks(2)),
        ("10 seconds", TimeDelta::seconds(10)),
        ("1 year", TimeDelta::seconds(31_557_600)),
        ("7 years", TimeDelta::days(2556) + TimeDelta::hours(18)),
        (" 3 Days ", TimeDelta::days(3)),
    ];
    for (text, expected) in ok {
        assert_eq!(parse_duration(text).as_ref(), Ok(expected), "{text}");
    }
    let bad: &[(&str, &str)] = &[
        ("", "expected a number and a unit"),
        ("days", "expected a number and a unit"),
        ("-3 days", "expected a number and a unit"),
        ("1.5 days", "unknown unit \".5 days\""),
        ("7", "missing unit"),
        ("0 days", "longer than zero"),
        ("6 months", "months vary in length"),
        ("3 fortnights", "unknown unit \"fortnights\""),
        ("99999999999999999999 days", "number too large"),
        ("9999999999999 years", "too long"),
    ];
    for (text, fragment) in bad {
        let err = parse_duration(text).expect_err(text);
        assert!(err.contains(fragment), "{text:?}: {err}");
    }
}

fn env(config: Option<&str>, database_url: Option<&str>) -> Env {
    Env {
        config: config.map(OsString::from),
        database_url: database_url.map(OsString::from),
    }
}

#[test]
fn config_path_precedence() {
    let flag = Path::new("/flag.toml");
    let both = env(Some("/env.toml"), None);
    assert_eq!(
        ConfigPath::locate(Some(flag), &both),
        ConfigPath {
            path: flag.into(),
            source: PathSource::Flag
        }
    );
    assert_eq!(
        ConfigPath::locate(None, &both),
        ConfigPath {
            path: "/env.toml".into(),
            source: PathSource::Env
        }
    );
    assert_eq!(
        ConfigPath::locate(None, &Env::default()),
        ConfigPath {
            path: DEFAULT_CONFIG_PATH.into(),
            source: PathSource::Default
        }
    );
}

#[test]
fn missing_file_says_which_source_chose_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("nope.toml");
    let shown = missing.display().to_string();
    let from_flag = ConfigPath {
        path: missing.clone(),
        source: PathSource::Flag,
    };
    assert_eq!(
        from_flag.load().expect_err("missing").to_string(),
        format!("config {shown}: not found (path from --config)")
    );
    let from_env = ConfigPath {
        path: missing.clone(),
        source: PathSource::Env,
    };
    assert!(
        from_env
            .load()
            .expect_err("missing")
            .to_string()
            .ends_with("not found (path from CERTANON_CONFIG)")
    );
    // A path the user chose must exist even when the config is optional.
    assert!(from_env.load_optional().is_err());
    let default = ConfigPath {
        path: missing,
        source: PathSource::Default,
    };
    assert!(
        default
            .load()
            .expect_err("missing")
            .to_string()
            .contains("the default path; pass --config or set CERTANON_CONFIG")
    );
    assert!(default.load_optional().expect("optional").is_none());
}

#[test]
fn loads_from_a_file_and_hashes_its_bytes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("certanon.toml");
    std::fs::write(&path, EXAMPLE).expect("write");
    let config = ConfigPath::locate(None, &env(path.to_str(), None))
        .load()
        .expect("loads");
    assert_eq!(config.path, path);
    assert_eq!(config.sha256.len(), 64);
    assert_eq!(
        config.sha256,
        hex::encode(Sha256::digest(EXAMPLE.as_bytes()))
    );
    std::fs::write(&path, b"[keys]\nkey_id = \"\xff\"\n").expect("write");
    let err = ConfigPath {
        path: path.clone(),
        source: PathSource::Flag,
    }
    .load()
    .expect_err("not UTF-8");
    assert_eq!(
        err.to_string(),
        format!("config {}: not UTF-8 (at byte 17)", path.display())
    );
}

fn config_with_url_file(file: &Path) -> Config {
    let text = format!(
        "[database]\nurl_file = {:?}\n{KEYS}",
        file.display().to_string()
    );
    load(&text).expect("loads")
}

#[test]
fn database_url_precedence() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("database-url");
    std::fs::write(&file, "postgres://from-file/db\n").expect("write");
    let config = config_with_url_file(&file);
    let with_env = env(None, Some("postgres://from-env/db"));
    let resolve = |cli, config, env: &Env| {
        let (url, source) = resolve_database_url_in(cli, config, env).expect("url");
        (url, source.to_string())
    };
    let named = |url: &str, source: &str| (url.to_string(), source.to_string());
    assert_eq!(
        resolve(Some("postgres://from-cli/db"), Some(&config), &with_env),
        named("postgres://from-cli/db", "URL from --database-url")
    );
    assert_eq!(
        resolve(None, Some(&config), &with_env),
        named("postgres://from-env/db", "URL from CERTANON_DATABASE_URL")
    );
    assert_eq!(
        resolve(None, Some(&config), &Env::default()),
        named(
            "postgres://from-file/db",
            &format!("URL from database.url_file {}", file.display())
        )
    );
    assert_eq!(
        resolve(Some("postgres://from-cli/db"), None, &Env::default()),
        named("postgres://from-cli/db", "URL from --database-url")
    );
    assert_eq!(
        resolve(None, None, &with_env),
        named("postgres://from-env/db", "URL from CERTANON_DATABASE_URL")
    );
}

#[test]
fn database_url_errors_name_the_source_not_the_content() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("database-url");
    let none = Env::default();

    let no_file = config_with_url_file(&file);
    let err = resolve_database_url_in(None, Some(&no_file), &none)
        .expect_err("missing")
        .to_string();
    assert!(
        err.starts_with(&format!(
            "config {PATH}:2: database.url_file: {}: ",
            file.display()
        )),
        "{err}"
    );

    std::fs::write(&file, b"postgres://u:s3cret@h/db\xff").expect("write");
    let err = resolve_database_url_in(None, Some(&no_file), &none)
        .expect_err("not UTF-8")
        .to_string();
    assert!(
        err.ends_with("not valid UTF-8") && !err.contains("s3cret"),
        "{err}"
    );

    std::fs::write(&file, "\n").expect("write");
    let err = resolve_database_url_in(None, Some(&no_file), &none)
        .expect_err("empty")
        .to_string();
    assert!(err.ends_with(": empty"), "{err}");

    let without = load(KEYS).expect("loads");
    let err = resolve_database_url_in(None, Some(&without), &none).expect_err("no source");
    assert!(
        err.to_string()
            .contains("no database URL: set database.url_file"),
        "{err}"
    );
    assert_eq!(err.exit_code(), crate::error::exit::CONFIG);

    let err = resolve_database_url_in(None, None, &none).expect_err("no source");
    assert_eq!(err.exit_code(), crate::error::exit::USAGE);
    assert!(
        err.to_string()
            .contains("pass --database-url or set CERTANON_DATABASE_URL")
    );
}

#[test]
fn spelled_settings_round_trip() {
    for mode in [
        SslMode::Disable,
        SslMode::Prefer,
        SslMode::Require,
        SslMode::VerifyFull,
    ] {
        assert_eq!(SslMode::parse(mode.as_str()), Ok(mode));
    }
    for mode in [ReleaseMode::Pseudonymous, ReleaseMode::Anonymous] {
        assert_eq!(ReleaseMode::parse(mode.as_str()), Ok(mode));
    }
    for mode in [RetentionMode::Report, RetentionMode::Erase] {
        assert_eq!(RetentionMode::parse(mode.as_str()), Ok(mode));
    }
}
