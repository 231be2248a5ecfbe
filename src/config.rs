//! Configuration: loads certanon.toml with the documented keys and precedence, and reports every problem with file, line and key.
//!
//! The file is deserialized into raw structs whose values keep their byte spans (and which
//! refuse unknown keys), then checked and converted into `Config`. Every error is
//! `Error::Config` with `FILE:LINE` and the dotted key path in the message. Values from the file
//! are quoted in messages only where they are settings (a mode, a duration); the contents of the
//! database URL file are never read into a message.
//!
//! Durations are written `N unit` (`400 days`, `12 hours`, `2 weeks`, `90d`); a year is 365.25
//! days, so `7 years` is 2556 days and 18 hours. Months are refused because their length varies.
//! Relative paths are kept as written (relative to the working directory of the job).

use crate::error::{Error, Result};
use crate::job::schedule::Schedule;
use chrono::TimeDelta;
use chrono_tz::Tz;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::Spanned;

pub const DEFAULT_CONFIG_PATH: &str = "/etc/certanon/certanon.toml";
pub const CONFIG_ENV: &str = "CERTANON_CONFIG";
pub const DATABASE_URL_ENV: &str = "CERTANON_DATABASE_URL";
pub const DEFAULT_EXPORT_ROOT: &str = "/var/lib/certanon/exports";
pub const DEFAULT_K: u32 = 5;
pub const DEFAULT_MAX_SUPPRESSION: f64 = 0.05;
pub const DEFAULT_CONNECT_TIMEOUT_SECS: u64 = 10;
pub const DEFAULT_BATCH_SIZE: u32 = 1000;

#[derive(Clone, Debug)]
pub struct Config {
    pub path: PathBuf,
    /// SHA-256 of the file's bytes, lowercase hex: recorded in manifests and the ledger.
    pub sha256: String,
    /// The zone schedules are evaluated in; `None` is UTC.
    pub time_zone: Option<Tz>,
    pub database: DatabaseConfig,
    pub keys: KeysConfig,
    pub export: ExportConfig,
    pub privacy: PrivacyConfig,
    pub tasks: BTreeMap<String, TaskConfig>,
    pub metrics: MetricsConfig,
}

#[derive(Clone, Debug)]
pub struct DatabaseConfig {
    pub url_file: Option<PathBuf>,
    pub sslmode: SslMode,
    pub ca_file: Option<PathBuf>,
    pub connect_timeout_secs: u64,
    /// Whether the scan's worker threads run in the SCHED_IDLE class (see `job::yield_cpu`).
    pub yield_cpu: bool,
    /// `FILE:LINE` of `url_file`, so that a failure to read it points back at the setting.
    url_file_location: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyFull,
}

#[derive(Clone, Debug)]
pub struct KeysConfig {
    pub hmac_key_file: PathBuf,
    pub key_id: String,
}

#[derive(Clone, Debug)]
pub struct ExportConfig {
    pub root: PathBuf,
}

#[derive(Clone, Debug)]
pub struct PrivacyConfig {
    pub k: u32,
    pub max_suppression: f64,
}

#[derive(Clone, Debug)]
pub struct MetricsConfig {
    pub textfile: Option<PathBuf>,
}

#[derive(Clone, Debug)]
pub struct TaskConfig {
    pub name: String,
    pub kind: TaskKind,
    pub schedule: Schedule,
    pub schedule_expr: String,
    /// How long this task's exports are kept; `None` keeps them. Only exporting kinds have it.
    pub retain_exports: Option<TimeDelta>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TaskKind {
    Aggregates,
    ResearchExtract {
        mode: ReleaseMode,
        /// Derive a per-recipient pseudonym key, so that two recipients cannot join releases.
        recipient: Option<String>,
    },
    Retention {
        mode: RetentionMode,
        personal_data_after_expiry: TimeDelta,
        batch_size: u32,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReleaseMode {
    Pseudonymous,
    Anonymous,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetentionMode {
    Report,
    Erase,
}

/// The enumerated settings: their spelling in the file is also how manifests and logs name them.
macro_rules! spelled {
    ($type:ident, $what:literal, $expected:literal, { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $type {
            pub fn as_str(self) -> &'static str {
                match self { $($type::$variant => $text),+ }
            }

            fn parse(text: &str) -> std::result::Result<Self, String> {
                match text {
                    $($text => Ok($type::$variant),)+
                    _ => Err(format!(concat!("unknown ", $what, " {:?} (expected ", $expected, ")"), text)),
                }
            }
        }
    };
}

spelled!(SslMode, "sslmode", "disable, prefer, require or verify-full", {
    Disable => "disable", Prefer => "prefer", Require => "require", VerifyFull => "verify-full",
});
spelled!(ReleaseMode, "mode", "pseudonymous or anonymous", {
    Pseudonymous => "pseudonymous", Anonymous => "anonymous",
});
spelled!(RetentionMode, "mode", "report or erase", { Report => "report", Erase => "erase" });

impl TaskKind {
    /// The kind as written in the config (`aggregates`, `research_extract`, `retention`).
    pub fn as_str(&self) -> &'static str {
        match self {
            TaskKind::Aggregates => "aggregates",
            TaskKind::ResearchExtract { .. } => "research_extract",
            TaskKind::Retention { .. } => "retention",
        }
    }
}

/// The environment variables the job reads, captured once so tests can supply their own.
/// An empty variable counts as unset.
#[derive(Clone, Debug, Default)]
pub struct Env {
    pub config: Option<OsString>,
    pub database_url: Option<OsString>,
}

impl Env {
    pub fn from_process() -> Env {
        let var = |name| std::env::var_os(name).filter(|v| !v.is_empty());
        Env {
            config: var(CONFIG_ENV),
            database_url: var(DATABASE_URL_ENV),
        }
    }
}

/// What chose the config file's path; named in the error when the file is missing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathSource {
    Flag,
    Env,
    Default,
}

/// The config file to read and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigPath {
    pub path: PathBuf,
    pub source: PathSource,
}

impl ConfigPath {
    /// `--config`, else `CERTANON_CONFIG`, else the default path.
    pub fn locate(explicit: Option<&Path>, env: &Env) -> ConfigPath {
        match (explicit, &env.config) {
            (Some(path), _) => ConfigPath {
                path: path.to_path_buf(),
                source: PathSource::Flag,
            },
            (None, Some(path)) => ConfigPath {
                path: PathBuf::from(path),
                source: PathSource::Env,
            },
            (None, None) => ConfigPath {
                path: PathBuf::from(DEFAULT_CONFIG_PATH),
                source: PathSource::Default,
            },
        }
    }

    pub fn load(&self) -> Result<Config> {
        self.read()?.ok_or_else(|| {
            let why = match self.source {
                PathSource::Flag => "path from --config",
                PathSource::Env => "path from CERTANON_CONFIG",
                PathSource::Default => "the default path; pass --config or set CERTANON_CONFIG",
            };
            Error::config(
                self.path.display().to_string(),
                format!("not found ({why})"),
            )
        })
    }

    /// Like `load`, but a missing file at the default path is `None`: commands such as
    /// `db init --database-url` work without a config. A path the user chose must exist.
    pub fn load_optional(&self) -> Result<Option<Config>> {
        match self.source {
            PathSource::Default => self.read(),
            PathSource::Flag | PathSource::Env => self.load().map(Some),
        }
    }

    /// The parsed file, or `None` if there is no file at the path.
    fn read(&self) -> Result<Option<Config>> {
        let location = self.path.display().to_string();
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::config(location, format!("cannot read: {e}"))),
        };
        let text = String::from_utf8(bytes).map_err(|e| {
            Error::config(
                location,
                format!("not UTF-8 (at byte {})", e.utf8_error().valid_up_to()),
            )
        })?;
        Config::from_str(&text, &self.path).map(Some)
    }
}

impl Config {
    /// Loads the config chosen by `--config`, `CERTANON_CONFIG` or the default path.
    pub fn load(explicit: Option<&Path>) -> Result<Config> {
        ConfigPath::locate(explicit, &Env::from_process()).load()
    }

    /// Like `load`, but no file at the default path is `Ok(None)`.
    pub fn load_optional(explicit: Option<&Path>) -> Result<Option<Config>> {
        ConfigPath::locate(explicit, &Env::from_process()).load_optional()
    }

    /// Parses and checks config text; `path` is used in messages and kept in `Config::path`.
    pub fn from_str(text: &str, path: &Path) -> Result<Config> {
        let source = Source { path, text };
        // Syntax first, so that its errors are reported as such and not as a key's problem.
        text.parse::<toml::Table>()
            .map_err(|e| source.syntax_error(&e))?;
        let raw: RawConfig = toml::from_str(text).map_err(|e| source.data_error(&e))?;
        raw.check(&source, Sha256::digest(text.as_bytes()))
    }

    /// The database URL: `cli` (`--database-url`), else `CERTANON_DATABASE_URL`, else the
    /// contents of `database.url_file`.
    pub fn database_url(&self, cli: Option<&str>) -> Result<String> {
        resolve_database_url(cli, Some(self))
    }
}

/// The database URL with or without a config file: `--database-url`, else
/// `CERTANON_DATABASE_URL`, else `database.url_file`.
pub fn resolve_database_url(cli: Option<&str>, config: Option<&Config>) -> Result<String> {
    resolve_database_url_in(cli, config, &Env::from_process())
}

pub fn resolve_database_url_in(
    cli: Option<&str>,
    config: Option<&Config>,
    env: &Env,
) -> Result<String> {
    if let Some(url) = cli.filter(|url| !url.is_empty()) {
        return Ok(url.to_string());
    }
    if let Some(url) = &env.database_url {
        return url
            .to_str()
            .map(str::to_string)
            .ok_or_else(|| Error::config(DATABASE_URL_ENV, "not valid UTF-8"));
    }
    let Some(config) = config else {
        return Err(Error::Usage(format!(
            "no database URL: pass --database-url or set {DATABASE_URL_ENV}"
        )));
    };
    let db = &config.database;
    let Some(file) = &db.url_file else {
        return Err(Error::config(
            config.path.display().to_string(),
            format!(
                "no database URL: set database.url_file, pass --database-url or set {DATABASE_URL_ENV}"
            ),
        ));
    };
    let fail = |why: String| {
        Error::config(
            &db.url_file_location,
            format!("database.url_file: {}: {why}", file.display()),
        )
    };
    let bytes = std::fs::read(file).map_err(|e| fail(e.to_string()))?;
    let url = String::from_utf8(bytes).map_err(|_| fail("not valid UTF-8".into()))?;
    let url = url.trim_end_matches(['\n', '\r']);
    if url.trim().is_empty() {
        return Err(fail("empty".into()));
    }
    Ok(url.to_string())
}

/// Parses `N unit`: seconds, minutes, hours, days, weeks or years (365.25 days), singular,
/// plural or abbreviated (`s`, `min`, `h`, `d`, `w`, `y`), with or without a space.
pub fn parse_duration(text: &str) -> std::result::Result<TimeDelta, String> {
    let bad = |why: &str| format!("bad duration {text:?}: {why}");
    let trimmed = text.trim();
    let digits = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(digits);
    if number.is_empty() {
        return Err(bad("expected a number and a unit, e.g. \"400 days\""));
    }
    let count: i64 = number.parse().map_err(|_| bad("number too large"))?;
    let unit_secs: i64 = match unit.trim().to_ascii_lowercase().as_str() {
        "s" | "sec" | "secs" | "second" | "seconds" => 1,
        "min" | "mins" | "minute" | "minutes" => 60,
        "h" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        "w" | "week" | "weeks" => 7 * 86_400,
        "y" | "year" | "years" => 31_557_600,
        "" => {
            return Err(bad(
                "missing unit (seconds, minutes, hours, days, weeks or years)",
            ));
        }
        "month" | "months" | "mo" => return Err(bad("months vary in length; use days")),
        other => {
            return Err(bad(&format!(
                "unknown unit {other:?} (expected seconds, minutes, hours, days, weeks or years)"
            )));
        }
    };
    if count == 0 {
        return Err(bad("must be longer than zero"));
    }
    count
        .checked_mul(unit_secs)
        .and_then(TimeDelta::try_seconds)
        .ok_or_else(|| bad("too long"))
}

/// The file being checked: turns byte spans into `FILE:LINE` and builds the errors.
struct Source<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Source<'_> {
    fn line_of(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    fn location(&self, span: &Range<usize>) -> String {
        format!("{}:{}", self.path.display(), self.line_of(span.start))
    }

    fn error(&self, span: &Range<usize>, key: &str, message: impl std::fmt::Display) -> Error {
        Error::config(self.location(span), format!("{key}: {message}"))
    }

    /// A required key is missing: point at its table's header if there is one.
    fn missing(&self, table: &str, key: &str) -> Error {
        let header = self
            .text
            .lines()
            .position(|line| header_of(line).is_some_and(|h| h == table))
            .map(|index| format!("{}:{}", self.path.display(), index + 1))
            .unwrap_or_else(|| self.path.display().to_string());
        let path = if table.is_empty() {
            key.to_string()
        } else {
            format!("{table}.{key}")
        };
        Error::config(header, format!("{path}: missing (required)"))
    }

    fn syntax_error(&self, e: &toml::de::Error) -> Error {
        let message = one_line(e);
        let location = match e.span() {
            Some(span) => self.location(&span),
            None => self.path.display().to_string(),
        };
        Error::config(location, format!("TOML syntax: {message}"))
    }

    /// An unknown key or a value of the wrong type, found by serde: name the key path from the
    /// table header in force and the key on the error's line.
    fn data_error(&self, e: &toml::de::Error) -> Error {
        let message = one_line(e);
        let Some(span) = e.span() else {
            return Error::config(self.path.display().to_string(), message);
        };
        let (table, key) = self.key_at(span.start);
        let Some(unknown) = message
            .strip_prefix("unknown field `")
            .and_then(|m| m.split('`').next())
        else {
            return self.error(&span, &join_key(&table, &key), message);
        };
        // The unknown key may be any part of a dotted key (`database.sslmod` under [keys] is an
        // unknown `keys.database`), or sit inside an inline table on the line.
        let parts: Vec<&str> = key.split('.').collect();
        let key_path = match parts.iter().position(|&p| p == unknown) {
            Some(at) => join_key(&table, &parts[..=at].join(".")),
            // An unknown table's own header line.
            None if key.is_empty() && table.rsplit('.').next() == Some(unknown) => table,
            None => join_key(&join_key(&table, &key), unknown),
        };
        let expected = message
            .split_once(", expected ")
            .map(|(_, rest)| format!(" (expected {rest})"));
        self.error(
            &span,
            &key_path,
            format!("unknown key{}", expected.unwrap_or_default()),
        )
    }

    /// The table header in force at `offset`, and the key of the value there (empty when
    /// `offset` is on a header line), as written.
    fn key_at(&self, offset: usize) -> (String, String) {
        let mut table = String::new();
        let mut key = String::new();
        for line in self.text.lines().take(self.line_of(offset)) {
            if let Some(header) = header_of(line) {
                table = header;
                key.clear();
            } else if let Some((k, _)) = line
                .split_once('=')
                .filter(|_| !line.trim_start().starts_with('#'))
            {
                // Kept across lines: a value (an array) may continue on the following lines.
                key = k.split('.').map(str::trim).collect::<Vec<_>>().join(".");
            }
        }
        (table, key)
    }
}

/// A toml error message on one line (syntax errors can span several).
fn one_line(e: &toml::de::Error) -> String {
    e.message()
        .lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(": ")
}

fn join_key(table: &str, key: &str) -> String {
    match (table.is_empty(), key.is_empty()) {
        (true, _) => key.to_string(),
        (false, true) => table.to_string(),
        (false, false) => format!("{table}.{key}"),
    }
}

/// The table a `[header]` or `[[header]]` line opens, with spaces around dots removed.
fn header_of(line: &str) -> Option<String> {
    let inner = line.trim().strip_prefix('[')?;
    let inner = inner.strip_prefix('[').unwrap_or(inner);
    let (name, _) = inner.split_once(']')?;
    Some(name.split('.').map(str::trim).collect::<Vec<_>>().join("."))
}

fn is_identifier(text: &str, extra: &[char]) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || extra.contains(&c))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    time_zone: Option<Spanned<String>>,
    #[serde(default)]
    database: RawDatabase,
    keys: Option<RawKeys>,
    #[serde(default)]
    export: RawExport,
    #[serde(default)]
    privacy: RawPrivacy,
    #[serde(default)]
    tasks: BTreeMap<Spanned<String>, RawTask>,
    #[serde(default)]
    metrics: RawMetrics,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDatabase {
    url_file: Option<Spanned<PathBuf>>,
    sslmode: Option<Spanned<String>>,
    ca_file: Option<Spanned<PathBuf>>,
    connect_timeout_secs: Option<Spanned<i64>>,
    yield_cpu: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKeys {
    hmac_key_file: Option<Spanned<PathBuf>>,
    key_id: Option<Spanned<String>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExport {
    root: Option<Spanned<PathBuf>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrivacy {
    k: Option<Spanned<i64>>,
    max_suppression: Option<Spanned<f64>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMetrics {
    textfile: Option<Spanned<PathBuf>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTask {
    kind: Option<Spanned<String>>,
    schedule: Option<Spanned<String>>,
    retain_exports: Option<Spanned<String>>,
    mode: Option<Spanned<String>>,
    recipient: Option<Spanned<String>>,
    personal_data_after_expiry: Option<Spanned<String>>,
    batch_size: Option<Spanned<i64>>,
}

impl RawConfig {
    fn check(self, src: &Source<'_>, digest: impl AsRef<[u8]>) -> Result<Config> {
        let time_zone = self
            .time_zone
            .map(|tz| {
                tz.get_ref().parse::<Tz>().map_err(|_| {
                    src.error(
                        &tz.span(),
                        "time_zone",
                        format!("unknown time zone {:?}", tz.get_ref()),
                    )
                })
            })
            .transpose()?;
        let keys = self
            .keys
            .ok_or_else(|| src.missing("", "keys"))?
            .check(src)?;
        let tasks = self
            .tasks
            .into_iter()
            .map(|(name, task)| {
                let checked = task.check(src, &name, time_zone)?;
                Ok((name.into_inner(), checked))
            })
            .collect::<Result<_>>()?;
        Ok(Config {
            path: src.path.to_path_buf(),
            sha256: hex::encode(digest),
            time_zone,
            database: self.database.check(src)?,
            keys,
            export: ExportConfig {
                root: self
                    .export
                    .root
                    .map_or_else(|| PathBuf::from(DEFAULT_EXPORT_ROOT), Spanned::into_inner),
            },
            privacy: self.privacy.check(src)?,
            tasks,
            metrics: MetricsConfig {
                textfile: self.metrics.textfile.map(Spanned::into_inner),
            },
        })
    }
}

impl RawDatabase {
    fn check(self, src: &Source<'_>) -> Result<DatabaseConfig> {
        let sslmode = match &self.sslmode {
            Some(mode) => SslMode::parse(mode.get_ref())
                .map_err(|why| src.error(&mode.span(), "database.sslmode", why))?,
            None => SslMode::Prefer,
        };
        if let (SslMode::VerifyFull, None, Some(mode)) = (sslmode, &self.ca_file, &self.sslmode) {
            return Err(src.error(
                &mode.span(),
                "database.sslmode",
                "verify-full needs database.ca_file",
            ));
        }
        let connect_timeout_secs = match self.connect_timeout_secs {
            Some(secs) => u64::try_from(*secs.get_ref())
                .ok()
                .filter(|&s| s > 0)
                .ok_or_else(|| {
                    src.error(
                        &secs.span(),
                        "database.connect_timeout_secs",
                        "must be at least 1",
                    )
                })?,
            None => DEFAULT_CONNECT_TIMEOUT_SECS,
        };
        let url_file_location = match &self.url_file {
            Some(file) => src.location(&file.span()),
            None => src.path.display().to_string(),
        };
        Ok(DatabaseConfig {
            url_file: self.url_file.map(Spanned::into_inner),
            sslmode,
            ca_file: self.ca_file.map(Spanned::into_inner),
            connect_timeout_secs,
            yield_cpu: self.yield_cpu.unwrap_or(true),
            url_file_location,
        })
    }
}

impl RawKeys {
    fn check(self, src: &Source<'_>) -> Result<KeysConfig> {
        let hmac_key_file = self
            .hmac_key_file
            .ok_or_else(|| src.missing("keys", "hmac_key_file"))?;
        let key_id = self.key_id.ok_or_else(|| src.missing("keys", "key_id"))?;
        if !is_identifier(key_id.get_ref(), &['-']) {
            return Err(src.error(
                &key_id.span(),
                "keys.key_id",
                "must be 1 to 64 letters, digits or '-'",
            ));
        }
        Ok(KeysConfig {
            hmac_key_file: hmac_key_file.into_inner(),
            key_id: key_id.into_inner(),
        })
    }
}

impl RawPrivacy {
    fn check(self, src: &Source<'_>) -> Result<PrivacyConfig> {
        let k = match self.k {
            Some(k) => u32::try_from(*k.get_ref())
                .ok()
                .filter(|&k| k >= 2)
                .ok_or_else(|| src.error(&k.span(), "privacy.k", "must be at least 2"))?,
            None => DEFAULT_K,
        };
        let max_suppression = match self.max_suppression {
            Some(share) if (0.0..1.0).contains(share.get_ref()) => *share.get_ref(),
            Some(share) => {
                return Err(src.error(
                    &share.span(),
                    "privacy.max_suppression",
                    "must be a share in [0, 1), e.g. 0.05",
                ));
            }
            None => DEFAULT_MAX_SUPPRESSION,
        };
        Ok(PrivacyConfig { k, max_suppression })
    }
}

impl RawTask {
    fn check(self, src: &Source<'_>, name: &Spanned<String>, tz: Option<Tz>) -> Result<TaskConfig> {
        let task = name.get_ref();
        let key = |k: &str| format!("tasks.{task}.{k}");
        if !is_identifier(task, &['-', '_']) {
            return Err(src.error(
                &name.span(),
                &format!("tasks.{task}"),
                "task names are 1 to 64 letters, digits, '-' or '_'",
            ));
        }
        let missing = |k: &str| src.missing(&format!("tasks.{task}"), k);
        let kind_text = self.kind.ok_or_else(|| missing("kind"))?;
        let expr = self.schedule.ok_or_else(|| missing("schedule"))?;
        let schedule = Schedule::parse(expr.get_ref(), tz)
            .map_err(|why| src.error(&expr.span(), &key("schedule"), why))?;
        let duration = |value: &Spanned<String>, k: &str| {
            parse_duration(value.get_ref()).map_err(|why| src.error(&value.span(), &key(k), why))
        };
        let kind_name = kind_text.get_ref().as_str();
        // A key that belongs to another kind is a mistake worth stopping on, not ignoring.
        let reject = |value: Option<Range<usize>>, k: &str, for_kind: &str| match value {
            Some(span) => Err(src.error(
                &span,
                &key(k),
                format!("not a setting of kind {kind_name} (only of {for_kind})"),
            )),
            None => Ok(()),
        };
        let span_of = |v: &Option<Spanned<String>>| v.as_ref().map(Spanned::span);
        let mode_at = (&self.mode, key("mode"));
        let kind = match kind_name {
            "aggregates" => {
                reject(
                    span_of(&self.mode),
                    "mode",
                    "research_extract and retention",
                )?;
                reject(span_of(&self.recipient), "recipient", "research_extract")?;
                TaskKind::Aggregates
            }
            "research_extract" => {
                let recipient = match self.recipient {
                    Some(r) if is_identifier(r.get_ref(), &['-', '_']) => Some(r.into_inner()),
                    Some(r) => {
                        return Err(src.error(
                            &r.span(),
                            &key("recipient"),
                            "must be 1 to 64 letters, digits, '-' or '_'",
                        ));
                    }
                    None => None,
                };
                TaskKind::ResearchExtract {
                    mode: parse_mode(src, &mode_at, ReleaseMode::parse, ReleaseMode::Pseudonymous)?,
                    recipient,
                }
            }
            "retention" => {
                reject(
                    span_of(&self.retain_exports),
                    "retain_exports",
                    "aggregates and research_extract",
                )?;
                reject(span_of(&self.recipient), "recipient", "research_extract")?;
                let after = self.personal_data_after_expiry.as_ref().ok_or_else(|| {
                    src.error(
                        &kind_text.span(),
                        &key("personal_data_after_expiry"),
                        "required for kind retention",
                    )
                })?;
                let batch_size = match &self.batch_size {
                    Some(size) => u32::try_from(*size.get_ref())
                        .ok()
                        .filter(|&s| s > 0)
                        .ok_or_else(|| {
                            src.error(&size.span(), &key("batch_size"), "must be at least 1")
                        })?,
                    None => DEFAULT_BATCH_SIZE,
                };
                TaskKind::Retention {
                    mode: parse_mode(src, &mode_at, RetentionMode::parse, RetentionMode::Report)?,
                    personal_data_after_expiry: duration(after, "personal_data_after_expiry")?,
                    batch_size,
                }
            }
            other => {
                return Err(src.error(
                    &kind_text.span(),
                    &key("kind"),
                    format!("unknown kind {other:?} (expected aggregates, research_extract or retention)"),
                ));
            }
        };
        if !matches!(kind, TaskKind::Retention { .. }) {
            reject(
                span_of(&self.personal_data_after_expiry),
                "personal_data_after_expiry",
                "retention",
            )?;
            reject(
                self.batch_size.as_ref().map(Spanned::span),
                "batch_size",
                "retention",
            )?;
        }
        Ok(TaskConfig {
            name: task.clone(),
            kind,
            schedule,
            schedule_expr: expr.into_inner(),
            retain_exports: self
                .retain_exports
                .as_ref()
                .map(|r| duration(r, "retain_exports"))
                .transpose()?,
        })
    }
}

/// A task's `mode`, parsed by its kind's parser, or the kind's default.
fn parse_mode<T>(
    src: &Source<'_>,
    (mode, key): &(&Option<Spanned<String>>, String),
    parse: fn(&str) -> std::result::Result<T, String>,
    default: T,
) -> Result<T> {
    match mode {
        Some(mode) => parse(mode.get_ref()).map_err(|why| src.error(&mode.span(), key, why)),
        None => Ok(default),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: &str = "/etc/certanon/certanon.toml";

    /// The configuration example of DESIGN.md, verbatim.
    const DESIGN_EXAMPLE: &str = r#"[database]
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
    fn design_example_loads() {
        let config = load(DESIGN_EXAMPLE).expect("example loads");
        assert_eq!(config.path, Path::new(PATH));
        assert_eq!(
            config.sha256,
            hex::encode(Sha256::digest(DESIGN_EXAMPLE.as_bytes()))
        );
        assert_eq!(config.time_zone, None);
        assert_eq!(
            config.database.url_file.as_deref(),
            Some(Path::new("/run/credentials/certanon.service/database-url"))
        );
        assert_eq!(config.database.sslmode, SslMode::Require);
        assert_eq!(config.database.connect_timeout_secs, 10);
        assert!(config.database.yield_cpu);
        assert_eq!(config.keys.key_id, "k2026a");
        assert_eq!(config.export.root, Path::new("/var/lib/certanon/exports"));
        assert_eq!(
            (config.privacy.k, config.privacy.max_suppression),
            (5, 0.05)
        );
        assert_eq!(
            config.tasks.keys().collect::<Vec<_>>(),
            ["monthly_statistics", "research_extract", "retention"]
        );
        let stats = &config.tasks["monthly_statistics"];
        assert_eq!(stats.kind, TaskKind::Aggregates);
        assert_eq!(stats.schedule_expr, "30 2 1 * *");
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
            }
        );
        assert_eq!(retention.schedule.expr(), "0 4 * * 0");
        assert_eq!(config.metrics.textfile, None);
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
        assert_eq!(config.database.sslmode, SslMode::VerifyFull);
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
                batch_size: 50
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
        assert_eq!(config.export.root, Path::new(DEFAULT_EXPORT_ROOT));
        assert_eq!(config.database.sslmode, SslMode::Prefer);
        assert_eq!(config.database.url_file, None);
        assert!(config.tasks.is_empty());
    }

    #[test]
    fn the_spec_example_error_reads_exactly() {
        let text = DESIGN_EXAMPLE.replace("mode = \"anonymous\"", "mode = \"anon\"");
        assert_eq!(
            error(&text),
            "config /etc/certanon/certanon.toml:23: tasks.research_extract.mode: unknown mode \"anon\" (expected pseudonymous or anonymous)"
        );
    }

    #[test]
    fn errors_name_line_and_key() {
        let task = |body: &str| format!("{KEYS}[tasks.t]\n{body}\n");
        let table: Vec<(String, &str, &str)> = vec![
            ("[database\nsslmode = 1\n".into(), ":1:", "TOML syntax: "),
            (
                format!("{KEYS}[privacy]\nk = 5\nk = 6\n"),
                ":6:",
                "TOML syntax: duplicate key `k`",
            ),
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
            (
                format!("{KEYS}[privacy]\nk = \"five\"\n"),
                ":5:",
                "privacy.k: invalid type: string \"five\", expected i64",
            ),
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
                format!("{KEYS}[database]\nyield_cpu = \"no\"\n"),
                ":5:",
                "yield_cpu",
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
                task("kind = \"aggregates\"\nschedule = 3"),
                ":6:",
                "tasks.t.schedule: invalid type: integer `3`, expected a string",
            ),
            (
                task("kind = \"aggregates\"\nschedule = [\n  \"@daily\",\n]"),
                ":6:",
                "tasks.t.schedule: invalid type: sequence",
            ),
            (
                task("kind = \"aggregates\"\nschedule = \"@daily\"\nretain_exports = \"400 dayz\""),
                ":7:",
                "tasks.t.retain_exports: bad duration \"400 dayz\": unknown unit \"dayz\"",
            ),
            (
                task("kind = \"aggregates\"\nschedule = \"@daily\"\nmode = \"anonymous\""),
                ":7:",
                "tasks.t.mode: not a setting of kind aggregates",
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
                task(
                    "kind = \"research_extract\"\nschedule = \"@daily\"\npersonal_data_after_expiry = \"1 year\"",
                ),
                ":7:",
                "tasks.t.personal_data_after_expiry: not a setting of kind research_extract",
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
                task(
                    "kind = \"retention\"\nschedule = \"@daily\"\npersonal_data_after_expiry = \"7\"",
                ),
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
            (
                task(
                    "kind = \"retention\"\nschedule = \"@daily\"\npersonal_data_after_expiry = \"7 years\"\nretain_exports = \"1 day\"",
                ),
                ":8:",
                "tasks.t.retain_exports: not a setting of kind retention",
            ),
            (
                format!("{KEYS}[tasks.\"a/b\"]\nkind = \"aggregates\"\nschedule = \"@daily\"\n"),
                ":4:",
                "tasks.a/b: task names are 1 to 64 letters",
            ),
        ];
        for (text, line, fragment) in &table {
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
        std::fs::write(&path, DESIGN_EXAMPLE).expect("write");
        let config = ConfigPath::locate(None, &env(path.to_str(), None))
            .load()
            .expect("loads");
        assert_eq!(config.path, path);
        assert_eq!(config.sha256.len(), 64);
        assert_eq!(
            config.sha256,
            hex::encode(Sha256::digest(DESIGN_EXAMPLE.as_bytes()))
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
        let resolve =
            |cli, config, env: &Env| resolve_database_url_in(cli, config, env).expect("url");
        assert_eq!(
            resolve(Some("postgres://from-cli/db"), Some(&config), &with_env),
            "postgres://from-cli/db"
        );
        assert_eq!(
            resolve(None, Some(&config), &with_env),
            "postgres://from-env/db"
        );
        assert_eq!(
            resolve(None, Some(&config), &Env::default()),
            "postgres://from-file/db"
        );
        assert_eq!(
            resolve(Some("postgres://from-cli/db"), None, &Env::default()),
            "postgres://from-cli/db"
        );
        assert_eq!(resolve(None, None, &with_env), "postgres://from-env/db");
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
}
