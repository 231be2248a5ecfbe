//! Before and while connecting: TLS that cannot fall back to plaintext (against a stand-in
//! server that declines TLS), the configuration and the key checked before the database is
//! tried, "unreachable" naming the server and where its URL came from, database errors that
//! cannot quote a data value, and a process that leaves no core dump.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use certanon::error::DbContext;

use crate::common::{Setup, TestDb, certanon_cmd, column};

const PASSWORD: &str = "s3cret-Pw-771";
const EXTRACT: &str = "[tasks.research_extract]\nkind = \"research_extract\"\nmode = \"pseudonymous\"\nschedule = \"0 3 1 */3 *\"\n";

/// A server on 127.0.0.1 that answers an SSLRequest with 'N' (no TLS) and, to whoever then
/// goes on in plaintext, asks for a cleartext password: everything clients send is recorded.
struct StandIn {
    port: u16,
    received: Arc<Mutex<Vec<u8>>>,
}

impl StandIn {
    fn start() -> StandIn {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a stand-in server");
        let port = listener.local_addr().expect("local address").port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&received);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let log = Arc::clone(&log);
                std::thread::spawn(move || serve(stream, &log));
            }
        });
        StandIn { port, received }
    }

    fn received(&self) -> Vec<u8> {
        self.received.lock().unwrap().clone()
    }

    /// Whether a client went past the SSLRequest: a startup message (it names the user) or a
    /// password message.
    fn saw_plaintext_login(&self) -> bool {
        let received = self.received();
        contains(&received, b"user\0") || contains(&received, PASSWORD.as_bytes())
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

fn serve(mut stream: TcpStream, log: &Mutex<Vec<u8>>) {
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = [0u8; 4096];
    let mut asked_password = false;
    while let Ok(n) = stream.read(&mut buf) {
        if n == 0 {
            return;
        }
        log.lock().unwrap().extend_from_slice(&buf[..n]);
        let reply: &[u8] = if buf[..n].starts_with(&SSL_REQUEST) {
            b"N"
        } else if !asked_password {
            asked_password = true;
            // AuthenticationCleartextPassword
            &[b'R', 0, 0, 0, 8, 0, 0, 0, 3]
        } else {
            return;
        };
        if stream.write_all(reply).is_err() {
            return;
        }
    }
}

fn one_line(stderr: &str) -> &str {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one line: {stderr}");
    lines[0]
}

/// `db init` against the stand-in; the stand-in must see no login and the command must end
/// with exit 69 and one line naming the server.
fn refused_without_a_login(url: &str, config: Option<&Setup>) {
    let server = StandIn::start();
    let url = url.replace("PORT", &server.port.to_string());
    let mut args = Vec::new();
    if let Some(setup) = config {
        args.extend(["--config", setup.config.to_str().unwrap()]);
    }
    args.extend(["--database-url", &url, "db", "init"]);
    let (code, _, stderr) = certanon_cmd(&args, &[]);
    assert_eq!(code, 69, "{url}: {stderr}");
    let line = one_line(&stderr);
    assert!(
        line.starts_with("certanon: database unreachable: ")
            && line.contains(&format!("127.0.0.1:{}", server.port))
            && line.contains("TLS"),
        "{line}"
    );
    assert!(!line.contains(PASSWORD), "{line}");
    assert!(
        !server.saw_plaintext_login(),
        "{url}: the stand-in received a login in plaintext: {:?}",
        String::from_utf8_lossy(&server.received())
    );
    assert!(
        server.received().starts_with(&SSL_REQUEST),
        "TLS was never asked for"
    );
}

#[test]
fn tls_is_required_over_tcp_unless_the_url_or_config_says_otherwise() {
    let url = format!("postgresql://certanon:{PASSWORD}@127.0.0.1:PORT/ca");
    // No configuration file at all, as `db init` and `seed` are often run.
    refused_without_a_login(&url, None);
    refused_without_a_login(&format!("{url}?sslmode=require"), None);
    refused_without_a_login(
        &format!("host=127.0.0.1 port=PORT user=certanon password={PASSWORD} sslmode=verify-full"),
        None,
    );
    // A configuration that does not set database.sslmode.
    refused_without_a_login(&url, Some(&Setup::new("")));
    // The stricter of the two wins, whichever says it.
    refused_without_a_login(
        &format!("{url}?sslmode=require"),
        Some(&Setup::new("[database]\nsslmode = \"prefer\"\n")),
    );
    refused_without_a_login(
        &format!("{url}?sslmode=prefer"),
        Some(&Setup::new("[database]\nsslmode = \"require\"\n")),
    );
}

#[test]
fn prefer_falls_back_only_when_written_and_says_so() {
    let server = StandIn::start();
    let url = format!(
        "postgresql://certanon:{PASSWORD}@127.0.0.1:{}/ca?sslmode=prefer",
        server.port
    );
    let (code, _, stderr) = certanon_cmd(&["--database-url", &url, "db", "init"], &[]);
    assert_ne!(code, 0, "{stderr}");
    assert!(
        server.saw_plaintext_login(),
        "prefer, written, falls back to plaintext"
    );
    assert!(stderr.contains("sslmode prefer"), "no warning: {stderr}");
    assert!(!stderr.contains(PASSWORD), "{stderr}");
}

/// Runs `args` with `env`, expecting exit 69 and one line that names `target` and not the
/// password.
fn unreachable(args: &[&str], env: &[(&str, &str)], target: &str) {
    let (code, _, stderr) = certanon_cmd(args, env);
    assert_eq!(code, 69, "{stderr}");
    let line = one_line(&stderr);
    assert!(line.contains(target), "{line}");
    assert!(!line.contains(PASSWORD), "{line}");
}

#[test]
fn unreachable_names_the_server_and_the_url_source_never_the_password() {
    let url = format!("postgresql://certanon:{PASSWORD}@127.0.0.1:1/ca");
    unreachable(
        &["--database-url", &url, "db", "init"],
        &[],
        "127.0.0.1:1 (URL from --database-url)",
    );
    unreachable(
        &["db", "init"],
        &[("CERTANON_DATABASE_URL", &url)],
        "127.0.0.1:1 (URL from CERTANON_DATABASE_URL)",
    );

    let setup = Setup::new("");
    let url_file = setup.dir.path().join("database-url");
    std::fs::write(
        &url_file,
        format!("host=/nonexistent/socket-dir port=5999 password={PASSWORD}\n"),
    )
    .unwrap();
    let mut config = std::fs::read_to_string(&setup.config).unwrap();
    config.push_str(&format!(
        "\n[database]\nurl_file = \"{}\"\n",
        url_file.display()
    ));
    std::fs::write(&setup.config, config).unwrap();
    unreachable(
        &["--config", setup.config.to_str().unwrap(), "status"],
        &[],
        &format!(
            "socket /nonexistent/socket-dir/.s.PGSQL.5999 (URL from database.url_file {})",
            url_file.display()
        ),
    );
}

/// `run` with the database down and the key broken as `spoil` leaves it: exit 78 naming the
/// key file, not 69.
fn key_problem_before_the_database(spoil: impl Fn(&Setup), why: &str) {
    let setup = Setup::new(EXTRACT);
    spoil(&setup);
    let (code, _, stderr) = certanon_cmd(
        &["--config", setup.config.to_str().unwrap(), "run", "--force"],
        &[(
            "CERTANON_DATABASE_URL",
            "postgresql://certanon@127.0.0.1:1/ca",
        )],
    );
    assert_eq!(code, 78, "{why}: {stderr}");
    let line = one_line(&stderr);
    assert!(
        line.starts_with(&format!("certanon: key file {}: ", setup.key.display())),
        "{why}: {line}"
    );
}

#[test]
fn the_key_is_checked_before_the_database_is_tried() {
    key_problem_before_the_database(|s| std::fs::remove_file(&s.key).unwrap(), "missing");
    key_problem_before_the_database(|s| std::fs::write(&s.key, [7u8; 16]).unwrap(), "short");
    key_problem_before_the_database(
        |s| std::fs::set_permissions(&s.key, std::fs::Permissions::from_mode(0o644)).unwrap(),
        "world-readable",
    );
}

/// Whoever sets CREDENTIALS_DIRECTORY to a directory of their own does not skip the mode check.
#[test]
fn a_key_file_in_a_credentials_directory_of_ones_own_is_still_checked() {
    let setup = Setup::new(EXTRACT);
    std::fs::set_permissions(&setup.key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let dir = setup.dir.path().to_str().unwrap();
    let (code, _, stderr) = certanon_cmd(
        &["--config", setup.config.to_str().unwrap(), "run", "--force"],
        &[
            (
                "CERTANON_DATABASE_URL",
                "postgresql://certanon@127.0.0.1:1/ca",
            ),
            ("CREDENTIALS_DIRECTORY", dir),
        ],
    );
    assert_eq!(code, 78, "{stderr}");
    assert!(
        one_line(&stderr).contains("readable by group or others"),
        "{stderr}"
    );
}

/// The text of the error `sql` fails with, as the job reports it.
async fn failure_text(db: &TestDb, sql: &str) -> String {
    db.client
        .batch_execute(sql)
        .await
        .during("probing")
        .expect_err(sql)
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn database_errors_that_can_quote_a_value_keep_only_code_and_names() {
    let db = TestDb::empty().await;
    db.client
        .batch_execute("CREATE TABLE t (v text CONSTRAINT v_short CHECK (length(v) < 5))")
        .await
        .unwrap();
    let cases = [
        ("SELECT 'secret-value-4711'::int", "SQLSTATE 22P02"),
        (
            "INSERT INTO t VALUES ('secret-value-4711')",
            "SQLSTATE 23514; schema public, table t, constraint v_short",
        ),
        (
            "DO $$ BEGIN RAISE EXCEPTION 'subject % is held', 'secret-value-4711'; END $$",
            "SQLSTATE P0001",
        ),
    ];
    for (sql, kept) in cases {
        let text = failure_text(&db, sql).await;
        assert!(!text.contains("secret-value-4711"), "{text}");
        assert!(text.contains(kept), "{text}");
    }

    // Errors of other classes keep the server's message: it names what is wrong, not data.
    let text = failure_text(&db, "SELECT * FROM no_such_table").await;
    assert!(text.contains("no_such_table"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scan_failing_on_a_data_value_records_no_value() {
    let db = TestDb::seeded_with(300).await;
    let common_name: String = db
        .client
        .query_one(
            "SELECT common_name FROM certinfo.certificates ORDER BY id LIMIT 1",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    // A contract view whose cast fails on one row's personal value, as a deployment's own view
    // might: PostgreSQL quotes the value in its message.
    db.client
        .batch_execute(
            "CREATE OR REPLACE VIEW certanon_src.certificates AS \
             SELECT id AS certificate_id, application_id, common_name, \
                    cardinality(subject_alt_names) AS san_count, subject_organization, \
                    validation_type, key_algorithm, \
                    CASE WHEN id = (SELECT min(id) FROM certinfo.certificates) \
                         THEN common_name::int ELSE key_size END AS key_size, \
                    signature_algorithm, not_before, not_after, issued_at, ct_precert_logged \
               FROM certinfo.certificates",
        )
        .await
        .unwrap();
    let setup = Setup::new(EXTRACT);
    let (code, _, stderr) = setup.certanon(&db, &["run", "--force"]);
    assert_ne!(code, 0, "the scan should fail: {stderr}");
    assert!(!stderr.contains(&common_name), "{stderr}");
    let errors: Vec<String> = column(
        &db.client,
        "SELECT coalesce(error, '') FROM certanon.runs",
        &[],
    )
    .await;
    assert!(
        errors.iter().any(|e| e.contains("SQLSTATE 22P02")),
        "{errors:?}"
    );
    assert!(
        errors.iter().all(|e| !e.contains(&common_name)),
        "{errors:?}"
    );
    let (_, status, _) = setup.certanon(&db, &["status"]);
    assert!(status.contains("SQLSTATE 22P02"), "{status}");
    assert!(!status.contains(&common_name), "{status}");
}

/// A process that is not dumpable has its /proc entries owned by root instead of its user;
/// run as `nobody`, that shows whether certanon made itself non-dumpable.
#[test]
fn the_process_refuses_core_dumps() {
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root to start certanon as another user");
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_certanon"))
        .args([
            "--database-url",
            &format!("postgresql://certanon@127.0.0.1:{port}/ca?connect_timeout=5"),
            "db",
            "init",
        ])
        .env_remove("CERTANON_CONFIG")
        .env_remove("CERTANON_DATABASE_URL")
        .current_dir("/")
        .uid(65534)
        .gid(65534)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start certanon as nobody");
    // Once it has connected, it waits for the stand-in's answer that never comes.
    let _held = listener.accept().expect("certanon connects");
    let owner = std::fs::metadata(format!("/proc/{}/status", child.id()))
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m));
    child.kill().ok();
    child.wait().ok();
    assert_eq!(owner.expect("stat /proc/PID"), 0, "certanon is dumpable");
}
