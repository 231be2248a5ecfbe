//! Command entry points for the binary: each resolves configuration, opens what it needs and
//! calls the pipeline modules. Kept here so that `main.rs` only parses arguments.

use std::path::{Path, PathBuf};

use crate::db::{self, ConnectOptions};
use crate::error::{Error, Result};

/// Options that every command shares.
#[derive(Debug, Default, Clone)]
pub struct Global {
    pub config: Option<PathBuf>,
    pub database_url: Option<String>,
}

/// Text logs on stderr (ANSI colours only on a terminal), or JSON lines. `RUST_LOG` overrides
/// the level given by -v/-q.
pub fn init_logging(level: &str, json: bool) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("certanon={level},warn")));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init()
    } else {
        builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init()
    };
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::Other(format!("cannot start the async runtime: {e}")))
}

fn connect_options(global: &Global) -> Result<ConnectOptions> {
    let url = match &global.database_url {
        Some(url) => url.clone(),
        None => std::env::var("CERTANON_DATABASE_URL").map_err(|_| {
            Error::Usage("no database: pass --database-url or set CERTANON_DATABASE_URL".into())
        })?,
    };
    Ok(ConnectOptions::plain(url))
}

pub fn db_init(global: &Global, reference_schema: bool) -> Result<()> {
    let opts = connect_options(global)?;
    runtime()?.block_on(async {
        let mut client = db::connect(&opts).await?;
        let report = db::init(&mut client, reference_schema).await?;
        if report.applied.is_empty() {
            tracing::info!(
                version = report.bookkeeping_version,
                "database schema already up to date"
            );
        }
        for name in &report.applied {
            tracing::info!(migration = %name, "applied");
        }
        Ok(())
    })
}

pub fn seed(global: &Global, rows: u64, seed: u64) -> Result<()> {
    let _ = (global, rows, seed);
    Err(Error::Other("seed: not built yet".into()))
}

pub fn demo(global: &Global, rows: u64, dir: &Path) -> Result<()> {
    let _ = global;
    crate::demo::demo(rows, dir)
}
