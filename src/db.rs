//! Database connections (plain or TLS) and the versioned migrations behind `certanon db init`.
//!
//! Migrations are plain SQL files under `sql/`, compiled into the binary. Two components are
//! versioned separately in `certanon.schema_version`: the bookkeeping schema (always) and the
//! reference schema with its contract views (only with `--reference-schema`, since a real
//! deployment brings its own tables and views).

use std::path::PathBuf;
use std::time::Duration;

use tokio_postgres::{Client, GenericClient, NoTls};

pub use crate::config::{SslMode, UrlSource};
use crate::error::{DbContext, Error, IoContext, Result};

mod url;

const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How to reach PostgreSQL.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub url: String,
    /// Named, with the host and port, when the server cannot be reached.
    pub url_source: UrlSource,
    /// `database.sslmode` when the config sets it. The stricter of it and the URL's own
    /// `sslmode` applies; when neither says, `require`.
    pub sslmode: Option<SslMode>,
    pub ca_file: Option<PathBuf>,
    pub connect_timeout: Duration,
}

impl ConnectOptions {
    /// A URL with no configuration around it: TLS as the URL says, else required over TCP.
    pub fn from_url(url: impl Into<String>, url_source: UrlSource) -> Self {
        ConnectOptions {
            url: url.into(),
            url_source,
            sslmode: None,
            ca_file: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
        }
    }

    /// Without TLS whatever the URL says: for the throwaway cluster this program starts itself
    /// (`demo`, the tests), which listens on a unix socket.
    pub fn plain(url: impl Into<String>) -> Self {
        ConnectOptions {
            sslmode: Some(SslMode::Disable),
            ..ConnectOptions::from_url(url, UrlSource::Flag)
        }
    }
}

/// Opens one connection and drives it on the current runtime. Failing to reach the server
/// within the timeout is `Error::Unreachable` (exit 69), naming the host and port and where the
/// URL came from. The URL itself is never echoed: it may hold a password.
pub async fn connect(opts: &ConnectOptions) -> Result<Client> {
    let (url_mode, url) = url::take_sslmode(&opts.url)
        .map_err(|why| Error::config("database URL", format!("{why} ({})", opts.url_source)))?;
    let mut config: tokio_postgres::Config = url.parse().map_err(|e| {
        Error::config(
            "database URL",
            format!("cannot parse the database URL ({}): {e}", opts.url_source),
        )
    })?;
    config.connect_timeout(opts.connect_timeout);
    if config.get_application_name().is_none() {
        config.application_name("certanon");
    }
    let target = url::describe_target(&config, &opts.url_source);
    let mode = if only_unix_sockets(&config) {
        SslMode::Disable
    } else {
        effective_sslmode(opts.sslmode, url_mode, &target)
    };
    let unreachable = |why: String| Error::Unreachable(format!("{target}: {why}"));
    let attempt = async {
        if mode == SslMode::Disable {
            config.ssl_mode(tokio_postgres::config::SslMode::Disable);
            let (client, conn) = config.connect(NoTls).await.map_err(connect_failed)?;
            tokio::spawn(drive(conn));
            Ok(client)
        } else {
            config.ssl_mode(match mode {
                SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
                _ => tokio_postgres::config::SslMode::Require,
            });
            let tls = tls_connector(opts.ca_file.as_ref(), mode)?;
            let (client, conn) = config.connect(tls).await.map_err(connect_failed)?;
            tokio::spawn(drive(conn));
            Ok(client)
        }
    };
    match tokio::time::timeout(opts.connect_timeout + Duration::from_secs(1), attempt).await {
        Ok(Err(Error::Unreachable(why))) => Err(unreachable(why)),
        Ok(result) => result,
        Err(_) => Err(unreachable(format!(
            "no answer within the connect timeout of {} s",
            opts.connect_timeout.as_secs()
        ))),
    }
}

/// The TLS mode for a TCP connection: the stricter of the configured one and the URL's, and
/// `require` when neither is written. A mode that lets the password travel in clear is only
/// ever the operator's explicit choice, and is logged as such.
fn effective_sslmode(
    configured: Option<SslMode>,
    in_url: Option<SslMode>,
    target: &str,
) -> SslMode {
    let mode = configured.max(in_url).unwrap_or(SslMode::Require);
    match mode {
        SslMode::Disable => tracing::warn!(
            "sslmode disable for {target}: the password and the data cross the network in clear"
        ),
        SslMode::Prefer => tracing::warn!(
            "sslmode prefer for {target}: if the server (or anything in between) declines TLS, \
             the password and the data cross the network in clear; use require"
        ),
        SslMode::Require | SslMode::VerifyFull => {}
    }
    mode
}

/// PostgreSQL has no TLS on unix sockets, and libpq ignores sslmode there; so do we (rustls would
/// refuse the empty host name it is handed for a socket). Anything that may go over TCP keeps
/// its TLS.
fn only_unix_sockets(config: &tokio_postgres::Config) -> bool {
    let hosts = config.get_hosts();
    !hosts.is_empty()
        && config.get_hostaddrs().is_empty()
        && hosts
            .iter()
            .all(|h| !matches!(h, tokio_postgres::config::Host::Tcp(_)))
}

/// A failed connection attempt, with its causes: tokio-postgres's own message ("error
/// performing TLS handshake") leaves out why (a refused port, an unknown certificate issuer).
/// A server's refusal (authentication, no such database) keeps its SQLSTATE.
fn connect_failed(e: tokio_postgres::Error) -> Error {
    if e.as_db_error().is_some() {
        return match Error::db("connecting", e) {
            Error::Database { message, .. } => Error::Unreachable(message),
            other => other,
        };
    }
    let mut message = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    Error::Unreachable(message)
}

async fn drive<S, T>(conn: tokio_postgres::Connection<S, T>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    if let Err(e) = conn.await {
        tracing::debug!("database connection closed: {e}");
    }
}

/// rustls with the configured CA file (or the system's roots). Certificates are always
/// verified, including the host name: `require` here is as strict as libpq's `verify-full`.
fn tls_connector(
    ca_file: Option<&PathBuf>,
    mode: SslMode,
) -> Result<tokio_postgres_rustls::MakeRustlsConnect> {
    let mut roots = rustls::RootCertStore::empty();
    let ca_files: Vec<PathBuf> = match ca_file {
        Some(path) => vec![path.clone()],
        None => [
            "/etc/ssl/certs/ca-certificates.crt",
            "/etc/pki/tls/certs/ca-bundle.crt",
        ]
        .iter()
        .map(PathBuf::from)
        .filter(|p| p.is_file())
        .take(1)
        .collect(),
    };
    for path in &ca_files {
        let pem = std::fs::read(path).at(path)?;
        for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
            let cert = cert.map_err(|e| {
                Error::config(
                    "database.ca_file",
                    format!("{}: not a PEM certificate: {e}", path.display()),
                )
            })?;
            roots.add(cert).map_err(|e| {
                Error::config(
                    "database.ca_file",
                    format!("{}: unusable CA certificate: {e}", path.display()),
                )
            })?;
        }
    }
    if roots.is_empty() && mode != SslMode::Prefer {
        return Err(Error::config(
            "database.ca_file",
            "TLS is required but no CA certificate was found: set database.ca_file",
        ));
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Other(format!("TLS setup: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

struct Migration {
    version: i32,
    name: &'static str,
    sql: &'static str,
}

/// A migration named after its file in `sql/<dir>/`, embedded in the binary.
macro_rules! migration {
    ($dir:literal, $version:literal, $name:literal) => {
        Migration {
            version: $version,
            name: $name,
            sql: include_str!(concat!("../sql/", $dir, "/", $name, ".sql")),
        }
    };
}

const BOOKKEEPING: &[Migration] = &[
    migration!("migrations", 1, "0001_certanon_bookkeeping"),
    migration!("migrations", 2, "0002_abandoned_runs"),
    migration!("migrations", 3, "0003_released_levels"),
    migration!("migrations", 4, "0004_append_only_ledgers"),
    migration!("migrations", 5, "0005_privacy_budget"),
];

const REFERENCE: &[Migration] = &[
    migration!("reference", 1, "0001_certinfo"),
    migration!("reference", 2, "0002_contract_views"),
];

/// What `db init` did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct InitReport {
    pub applied: Vec<String>,
    pub bookkeeping_version: i32,
    pub reference_version: Option<i32>,
}

/// Applies pending migrations in order, each in its own transaction, under a transaction-level
/// advisory lock so two concurrent `db init`s serialize. Safe to run twice. Refuses (exit 78) a
/// database whose recorded version is newer than this binary knows.
pub async fn init(client: &mut Client, reference_schema: bool) -> Result<InitReport> {
    let mut report = InitReport::default();
    report.bookkeeping_version = apply(client, "bookkeeping", BOOKKEEPING, &mut report).await?;
    if reference_schema {
        report.reference_version = Some(apply(client, "reference", REFERENCE, &mut report).await?);
    }
    Ok(report)
}

/// Highest bookkeeping version this binary knows.
pub fn bookkeeping_version() -> i32 {
    BOOKKEEPING.last().map_or(0, |m| m.version)
}

async fn apply(
    client: &mut Client,
    component: &str,
    migrations: &[Migration],
    report: &mut InitReport,
) -> Result<i32> {
    let known = migrations.last().map_or(0, |m| m.version);
    let start = recorded_version(client, component).await?;
    if start > known {
        return Err(Error::Contract(format!(
            "the database's {component} schema is at version {start}, newer than this certanon \
             knows ({known}); upgrade certanon"
        )));
    }
    let mut current = start;
    for m in migrations.iter().filter(|m| m.version > start) {
        let tx = client.transaction().await.during("starting a migration")?;
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtext('certanon db init'))",
            &[],
        )
        .await
        .during("taking the migration lock")?;
        // Another init may have applied it while we waited for the lock.
        let applied_meanwhile = recorded_version(&tx, component).await? >= m.version;
        if !applied_meanwhile {
            tx.batch_execute(m.sql)
                .await
                .during(&format!("applying migration {}", m.name))?;
            tx.execute(
                "INSERT INTO certanon.schema_version (component, version, name) VALUES ($1, $2, $3)",
                &[&component, &m.version, &m.name],
            )
            .await
            .during("recording the schema version")?;
            report.applied.push(format!("{component}/{}", m.name));
        }
        tx.commit()
            .await
            .during(&format!("committing migration {}", m.name))?;
        current = m.version;
    }
    Ok(current)
}

/// The highest applied migration of `component` ('bookkeeping' or 'reference'); 0 when none.
pub(crate) async fn recorded_version(client: &impl GenericClient, component: &str) -> Result<i32> {
    let exists: bool = client
        .query_one(
            "SELECT to_regclass('certanon.schema_version') IS NOT NULL",
            &[],
        )
        .await
        .during("reading the schema version")?
        .get(0);
    if !exists {
        return Ok(0);
    }
    let row = client
        .query_one(
            "SELECT coalesce(max(version), 0) FROM certanon.schema_version WHERE component = $1",
            &[&component],
        )
        .await
        .during("reading the schema version")?;
    Ok(row.get(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unix_only(url: &str) -> bool {
        only_unix_sockets(&url.parse().expect("a valid URL"))
    }

    #[test]
    fn only_socket_urls_skip_tls() {
        assert!(unix_only("host=/run/postgresql port=5432 dbname=ca"));
        assert!(unix_only("postgresql://user@%2Frun%2Fpostgresql/ca"));
        assert!(!unix_only("host=localhost dbname=ca"));
        assert!(!unix_only("hostaddr=127.0.0.1 dbname=ca"));
        assert!(!unix_only(
            "host=/run/postgresql hostaddr=127.0.0.1 dbname=ca"
        ));
        assert!(!unix_only("host=/run/postgresql,db.example.jp dbname=ca"));
        assert!(!unix_only("dbname=ca"));
    }
}
