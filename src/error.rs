//! The job's error type. Each variant maps to one of the sysexits codes in [`exit`], and every
//! message names where the problem is (file and line, view and column, task) without ever
//! quoting a data value: database errors keep their code, never the DETAIL line (which can echo
//! row contents), and for the classes whose message can quote a value not the message either
//! (see `describe_db_error`).

use std::path::{Path, PathBuf};

/// Exit codes (sysexits) of the command line contract.
pub mod exit {
    pub const SUCCESS: i32 = 0;
    pub const FAILURE: i32 = 1;
    pub const USAGE: i32 = 2;
    pub const DATA_ERR: i32 = 65;
    pub const UNAVAILABLE: i32 = 69;
    pub const TEMP_FAIL: i32 = 75;
    pub const CONFIG: i32 = 78;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("usage: {0}")]
    Usage(String),

    /// Configuration file problem: `location` is `file:line` where known.
    #[error("config {location}: {message}")]
    Config { location: String, message: String },

    /// The key file is missing, short, or readable by others.
    #[error("key file {}: {message}", path.display())]
    Key { path: PathBuf, message: String },

    /// A differentially private release would spend more than its task's budget.
    #[error("privacy budget: {0}")]
    Budget(String),

    /// A contract view does not match what the policy knows.
    #[error("schema contract: {0}")]
    Contract(String),

    /// `verify` found an export that breaks a rule; one entry per failure.
    #[error("{} verification failure(s):\n{}", .0.len(), .0.join("\n"))]
    Verify(Vec<String>),

    /// `verify` was given something that is not an export directory at all.
    #[error("not an export: {0}")]
    NotAnExport(String),

    #[error("database unreachable: {0}")]
    Unreachable(String),

    #[error("another certanon run holds the lock ({0}); try again later")]
    Locked(String),

    #[error("database error while {context}: {message}")]
    Database { context: String, message: String },

    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },

    /// Some tasks of a multi-task run failed; each already logged its own error. `code` is
    /// the exit code their errors call for.
    #[error("{failed} of {total} task(s) failed: {names}")]
    TasksFailed {
        failed: usize,
        total: usize,
        names: String,
        code: i32,
    },

    /// A signal stopped the run; `code` is 128 + the signal's number, as a shell reports it.
    #[error(
        "stopped by {signal}: the tasks that were running are recorded as failed, and none of \
         their exports was published"
    )]
    Stopped { signal: &'static str, code: i32 },

    #[error("{0}")]
    Other(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => exit::USAGE,
            Error::Config { .. } | Error::Key { .. } | Error::Contract(_) | Error::Budget(_) => {
                exit::CONFIG
            }
            Error::Verify(_) | Error::NotAnExport(_) => exit::DATA_ERR,
            Error::Unreachable(_) => exit::UNAVAILABLE,
            Error::Locked(_) => exit::TEMP_FAIL,
            Error::TasksFailed { code, .. } | Error::Stopped { code, .. } => *code,
            Error::Database { .. } | Error::Io { .. } | Error::Other(_) => exit::FAILURE,
        }
    }

    pub(crate) fn config(location: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Config {
            location: location.into(),
            message: message.into(),
        }
    }

    pub(crate) fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    /// Wraps a PostgreSQL error, saying what the job was doing. Connection failures, and the
    /// server ending the session (SQLSTATE classes 08 and 57: shutdown, a terminated backend),
    /// become `Unreachable` (exit 69); server errors keep SQLSTATE and message, never DETAIL.
    pub(crate) fn db(context: impl Into<String>, err: tokio_postgres::Error) -> Self {
        let context = context.into();
        match err.as_db_error() {
            Some(db) if ["08", "57"].iter().any(|c| db.code().code().starts_with(c)) => {
                Error::Unreachable(format!(
                    "{context}: {} (SQLSTATE {})",
                    db.message(),
                    db.code().code()
                ))
            }
            Some(db) => Error::Database {
                context,
                message: describe_db_error(db),
            },
            None if err.is_closed() || is_connect_error(&err) => {
                Error::Unreachable(format!("{context}: {err}"))
            }
            None => Error::Database {
                context,
                message: err.to_string(),
            },
        }
    }
}

/// A server error as text. Data exceptions (class 22), integrity constraint violations (23)
/// and PL/pgSQL errors (P0) can quote a value in their message (`invalid input syntax for type
/// integer: "..."`, a RAISE with the row's contents): of those only the SQLSTATE and the names
/// of the column, constraint and table are kept. Other classes keep the server's message.
fn describe_db_error(db: &tokio_postgres::error::DbError) -> String {
    let code = db.code().code();
    let class = match code.get(..2) {
        Some("22") => "data exception",
        Some("23") => "integrity constraint violation",
        Some("P0") => "error raised in a database function",
        _ => return format!("{} (SQLSTATE {code})", db.message()),
    };
    let names: Vec<String> = [
        ("schema", db.schema()),
        ("table", db.table()),
        ("column", db.column()),
        ("constraint", db.constraint()),
        ("type", db.datatype()),
    ]
    .into_iter()
    .filter_map(|(what, name)| name.map(|name| format!("{what} {name}")))
    .collect();
    if names.is_empty() {
        format!("{class} (SQLSTATE {code})")
    } else {
        format!("{class} (SQLSTATE {code}; {})", names.join(", "))
    }
}

fn is_connect_error(err: &tokio_postgres::Error) -> bool {
    use std::error::Error as _;
    let mut source = err.source();
    while let Some(e) = source {
        if e.is::<std::io::Error>() {
            return true;
        }
        source = e.source();
    }
    false
}

/// Adds a path to an `io::Error`.
pub trait IoContext<T> {
    fn at(self, path: impl AsRef<Path>) -> Result<T>;
}

impl<T> IoContext<T> for std::result::Result<T, std::io::Error> {
    fn at(self, path: impl AsRef<Path>) -> Result<T> {
        self.map_err(|e| Error::io(path, e))
    }
}

/// Adds context to a PostgreSQL error.
pub trait DbContext<T> {
    fn during(self, context: &str) -> Result<T>;
}

impl<T> DbContext<T> for std::result::Result<T, tokio_postgres::Error> {
    fn during(self, context: &str) -> Result<T> {
        self.map_err(|e| Error::db(context, e))
    }
}
