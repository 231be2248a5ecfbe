//! Shared test harness: one real PostgreSQL per test process and a fresh database per test.
//!
//! With `CERTANON_TEST_DATABASE_URL` set, tests create their databases on that server (the role
//! needs CREATEDB); otherwise the first test starts a throwaway cluster with
//! `certanon::demo::cluster::Cluster`, stopped when the test process exits (atexit), and by the
//! cluster's watchdog if the process is killed.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use certanon::db::{self, ConnectOptions};
use certanon::demo::cluster::Cluster;

static CLUSTER: Mutex<Option<Cluster>> = Mutex::new(None);
static STARTED: std::sync::OnceLock<String> = std::sync::OnceLock::new();
static NEXT_DB: AtomicUsize = AtomicUsize::new(0);

extern "C" fn stop_cluster() {
    if let Ok(mut guard) = CLUSTER.lock() {
        guard.take();
    }
}

/// Connection string of the server's maintenance database `postgres`.
fn admin_url() -> String {
    STARTED
        .get_or_init(|| {
            if let Ok(url) = std::env::var("CERTANON_TEST_DATABASE_URL") {
                return url;
            }
            let cluster = Cluster::start(None).expect("start a throwaway PostgreSQL cluster");
            let url = cluster.connection_string("postgres");
            *CLUSTER.lock().unwrap() = Some(cluster);
            // SAFETY: registering a plain extern "C" function with no captured state.
            unsafe { libc::atexit(stop_cluster) };
            url
        })
        .clone()
}

/// `url` pointing at database `dbname` instead of the one it names.
pub fn with_dbname(url: &str, dbname: &str) -> String {
    if let Some(rest) = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
    {
        let (authority, query) = match rest.split_once('/') {
            Some((a, tail)) => (a, tail.split_once('?').map(|(_, q)| q)),
            None => (rest, None),
        };
        match query {
            Some(q) => format!("postgresql://{authority}/{dbname}?{q}"),
            None => format!("postgresql://{authority}/{dbname}"),
        }
    } else {
        format!("{url} dbname={dbname}")
    }
}

pub struct TestDb {
    pub client: tokio_postgres::Client,
    pub url: String,
    pub name: String,
}

impl TestDb {
    /// A fresh, empty database.
    pub async fn empty() -> TestDb {
        TestDb::create(None).await
    }

    /// Creates a database, copied from `template` when given (retrying while the template's
    /// last connection closes), and connects to it.
    async fn create(template: Option<&str>) -> TestDb {
        let admin_url = admin_url();
        let admin = db::connect(&ConnectOptions::plain(admin_url.clone()))
            .await
            .expect("connect as admin");
        let name = format!(
            "certanon_test_{}_{}",
            std::process::id(),
            NEXT_DB.fetch_add(1, Ordering::SeqCst)
        );
        let sql = match template {
            Some(t) => format!("CREATE DATABASE {name} TEMPLATE {t}"),
            None => format!("CREATE DATABASE {name}"),
        };
        let mut attempts = 0;
        while let Err(e) = admin.batch_execute(&sql).await {
            attempts += 1;
            assert!(attempts < 50, "create test database: {e}");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let url = with_dbname(&admin_url, &name);
        let client = db::connect(&ConnectOptions::plain(url.clone()))
            .await
            .expect("connect to test database");
        TestDb { client, url, name }
    }

    /// A fresh database with the bookkeeping schema, the reference schema and its contract views.
    pub async fn reference() -> TestDb {
        let mut db = TestDb::empty().await;
        db::init(&mut db.client, true)
            .await
            .expect("db init --reference-schema");
        db
    }

    /// Another connection to the same database.
    pub async fn connect(&self) -> tokio_postgres::Client {
        db::connect(&ConnectOptions::plain(self.url.clone()))
            .await
            .expect("connect")
    }

    /// Runs the certanon binary against this database and returns (exit code, stdout, stderr).
    pub fn certanon(&self, args: &[&str]) -> (i32, String, String) {
        certanon_cmd(args, &[("CERTANON_DATABASE_URL", &self.url)])
    }
}

/// Runs the certanon binary with extra environment variables.
pub fn certanon_cmd(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_certanon"));
    cmd.args(args)
        .env_remove("CERTANON_CONFIG")
        .env_remove("CERTANON_DATABASE_URL")
        .env_remove("RUST_LOG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run certanon");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The first column of every row `sql` returns.
pub async fn column<T: tokio_postgres::types::FromSqlOwned>(
    client: &tokio_postgres::Client,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Vec<T> {
    client
        .query(sql, params)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// md5 of every row of a table in primary-key order: equal before and after means byte-identical
/// rows (text output of every column, bytea included).
pub async fn table_checksum(client: &tokio_postgres::Client, table: &str) -> String {
    let row = client
        .query_one(
            &format!(
                "SELECT coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t.*)), '') FROM {table} t"
            ),
            &[],
        )
        .await
        .expect("checksum query");
    row.get(0)
}

/// Certificates in the shared seeded template: the extract and statistics are tested on at
/// least this many.
pub const SEEDED_ROWS: u64 = 100_000;

static TEMPLATE: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();

impl TestDb {
    /// A fresh database holding the reference schema seeded with `SEEDED_ROWS` certificates
    /// (seed 1), copied from a template seeded once per test process.
    pub async fn seeded() -> TestDb {
        let template = TEMPLATE
            .get_or_init(|| async {
                let db = TestDb::seeded_with(SEEDED_ROWS).await;
                db.client
                    .batch_execute("VACUUM ANALYZE")
                    .await
                    .expect("vacuum");
                db.name.clone()
            })
            .await
            .clone();
        TestDb::create(Some(&template)).await
    }

    /// A fresh reference database seeded with `rows` certificates (seed 1).
    pub async fn seeded_with(rows: u64) -> TestDb {
        let mut db = TestDb::reference().await;
        let options = certanon::demo::seed::SeedOptions {
            certificates: rows,
            seed: 1,
            ..Default::default()
        };
        certanon::demo::seed::seed(&mut db.client, &options)
            .await
            .expect("seed");
        db
    }
}

/// A job configuration in a temporary directory: key file (mode 0600), export root, and the
/// given `[tasks.*]` tables.
pub struct Setup {
    pub dir: tempfile::TempDir,
    pub config: std::path::PathBuf,
    pub exports: std::path::PathBuf,
    pub key: std::path::PathBuf,
}

impl Setup {
    pub fn new(tasks_toml: &str) -> Setup {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = dir.path().join("hmac-key");
        certanon::transform::pseudonymize::keygen(&key).expect("keygen");
        let exports = dir.path().join("exports");
        let config = dir.path().join("certanon.toml");
        std::fs::write(
            &config,
            format!(
                "[keys]\nhmac_key_file = \"{}\"\nkey_id = \"t1\"\n\n[export]\nroot = \"{}\"\n\n[privacy]\nk = 5\nmax_suppression = 0.05\n\n{tasks_toml}",
                key.display(),
                exports.display()
            ),
        )
        .expect("write config");
        Setup {
            dir,
            config,
            exports,
            key,
        }
    }

    /// Runs the binary with this config against `db`.
    pub fn certanon(&self, db: &TestDb, args: &[&str]) -> (i32, String, String) {
        let mut full = vec!["--config", self.config.to_str().expect("utf-8 path")];
        full.extend_from_slice(args);
        certanon_cmd(&full, &[("CERTANON_DATABASE_URL", &db.url)])
    }

    /// Committed export directories of a task, oldest first.
    pub fn exports_of(&self, task: &str) -> Vec<std::path::PathBuf> {
        let mut dirs: Vec<_> = std::fs::read_dir(self.exports.join(task))
            .map(|d| {
                d.flatten()
                    .map(|e| e.path())
                    .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
                    .collect()
            })
            .unwrap_or_default();
        dirs.sort();
        dirs
    }
}

/// Checksums of every certinfo table: equal before and after means no source row changed.
pub async fn source_checksums(client: &tokio_postgres::Client) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for t in certanon::demo::seed::TABLES {
        let table = format!("certinfo.{t}");
        out.push((table.clone(), table_checksum(client, &table).await));
    }
    out
}

/// Whether an outside checker (a command such as `frictionless` or `chromium`, or a Python
/// module such as `duckdb` when `python_module` is set) can be run here.
///
/// The checkers read exports the way analysts' tools will; `.ci/run` installs them and sets
/// `CERTANON_REQUIRE_TOOLS=1`, so in CI a missing checker fails the test instead of skipping it.
/// A developer without them sees the test skipped with a line saying what to install.
pub fn external_tool(name: &str, python_module: bool) -> bool {
    let found = if python_module {
        std::process::Command::new("python3")
            .args(["-c", &format!("import {name}")])
            .output()
            .is_ok_and(|o| o.status.success())
    } else {
        std::process::Command::new("sh")
            .args(["-c", &format!("command -v {name}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !found {
        assert!(
            std::env::var_os("CERTANON_REQUIRE_TOOLS").is_none(),
            "{name} is required (CERTANON_REQUIRE_TOOLS is set) but not installed"
        );
        eprintln!("skipped: {name} is not installed (.ci/run installs it)");
    }
    found
}

/// A CSV file's header and rows, as text.
pub fn read_csv(path: &std::path::Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_path(path).expect("open csv");
    let header = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_string)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.expect("csv row").iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}
