//! Configuration: loads certanon.toml with the documented keys and precedence, and reports
//! every problem with file, line and key.
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

/// The enumerated settings: their spelling in the file is also how manifests and logs name them.
/// Defined ahead of the submodules, which spell their own.
macro_rules! spelled {
    ($type:ident, $what:literal, $expected:literal, { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $type {
            pub fn as_str(self) -> &'static str {
                match self { $($type::$variant => $text),+ }
            }

            pub(in crate::config) fn parse(text: &str) -> std::result::Result<Self, String> {
                match text {
                    $($text => Ok($type::$variant),)+
                    _ => Err(format!(concat!("unknown ", $what, " {:?} (expected ", $expected, ")"), text)),
                }
            }
        }
    };
}

mod dp;
mod spans;
mod tasks;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use chrono::TimeDelta;
use chrono_tz::Tz;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use toml::Spanned;

use crate::error::{Error, Result};
use dp::RawDp;
pub(crate) use dp::{BudgetPeriod, DpConfig};
use spans::Source;
use tasks::RawTask;
pub use tasks::TaskConfig;
pub(crate) use tasks::{EraseLimit, ReleaseMode, RetentionMode, StatisticsMode, TaskKind};

const DEFAULT_CONFIG_PATH: &str = "/etc/certanon/certanon.toml";
const CONFIG_ENV: &str = "CERTANON_CONFIG";
const DATABASE_URL_ENV: &str = "CERTANON_DATABASE_URL";
const DEFAULT_EXPORT_ROOT: &str = "/var/lib/certanon/exports";
const DEFAULT_K: u32 = 5;
const DEFAULT_MAX_SUPPRESSION: f64 = 0.05;
const DEFAULT_DOMINANCE: f64 = 0.5;
const DEFAULT_CONNECT_TIMEOUT_SECS: u64 = 10;

#[derive(Clone, Debug)]
pub struct Config {
    pub(crate) path: PathBuf,
    /// SHA-256 of the file's bytes, lowercase hex: recorded in manifests and the ledger.
    pub sha256: String,
    /// The zone schedules are evaluated in; `None` is UTC.
    pub(crate) time_zone: Option<Tz>,
    pub(crate) database: DatabaseConfig,
    pub(crate) keys: KeysConfig,
    pub(crate) export: ExportConfig,
    pub(crate) privacy: PrivacyConfig,
    pub tasks: BTreeMap<String, TaskConfig>,
    pub(crate) metrics: MetricsConfig,
}

#[derive(Clone, Debug)]
pub(crate) struct DatabaseConfig {
    pub(crate) url_file: Option<PathBuf>,
    /// `None` when the file does not set it: the URL's own sslmode, else `require` over TCP.
    pub(crate) sslmode: Option<SslMode>,
    pub(crate) ca_file: Option<PathBuf>,
    pub(crate) connect_timeout_secs: u64,
    /// Whether the scan's worker threads run in the SCHED_IDLE class (see
    /// `job::scan::lower_priority`).
    pub(crate) yield_cpu: bool,
    /// `FILE:LINE` of `url_file`, so that a failure to read it points back at the setting.
    url_file_location: String,
}

/// Ordered from the weakest to the strictest: where the URL and the config both name one, the
/// stricter wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyFull,
}

#[derive(Clone, Debug)]
pub(crate) struct KeysConfig {
    pub(crate) hmac_key_file: PathBuf,
    pub(crate) key_id: String,
}

#[derive(Clone, Debug)]
pub(crate) struct ExportConfig {
    pub(crate) root: PathBuf,
}

#[derive(Clone, Debug)]
pub(crate) struct PrivacyConfig {
    pub(crate) k: u32,
    pub(crate) max_suppression: f64,
    /// The largest share of a published table count one subscriber may hold.
    pub(crate) dominance: f64,
    /// Fewest subjects that must share a profile in a pseudonymous extract; None: reported only.
    pub(crate) subject_k: Option<u32>,
}

#[derive(Clone, Debug)]
pub(crate) struct MetricsConfig {
    pub(crate) textfile: Option<PathBuf>,
}

spelled!(SslMode, "sslmode", "disable, prefer, require or verify-full", {
    Disable => "disable", Prefer => "prefer", Require => "require", VerifyFull => "verify-full",
});

/// The environment variables the job reads, captured once so tests can supply their own.
/// An empty variable counts as unset.
#[derive(Clone, Debug, Default)]
struct Env {
    config: Option<OsString>,
    database_url: Option<OsString>,
}

impl Env {
    fn from_process() -> Env {
        let var = |name| std::env::var_os(name).filter(|v| !v.is_empty());
        Env {
            config: var(CONFIG_ENV),
            database_url: var(DATABASE_URL_ENV),
        }
    }
}

/// What chose the config file's path; named in the error when the file is missing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PathSource {
    Flag,
    Env,
    Default,
}

/// The config file to read and why.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ConfigPath {
    path: PathBuf,
    source: PathSource,
}

impl ConfigPath {
    /// `--config`, else `CERTANON_CONFIG`, else the default path.
    fn locate(explicit: Option<&Path>, env: &Env) -> ConfigPath {
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

    fn load(&self) -> Result<Config> {
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
    fn load_optional(&self) -> Result<Option<Config>> {
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
    pub(crate) fn load(explicit: Option<&Path>) -> Result<Config> {
        ConfigPath::locate(explicit, &Env::from_process()).load()
    }

    /// Like `load`, but no file at the default path is `Ok(None)`.
    pub(crate) fn load_optional(explicit: Option<&Path>) -> Result<Option<Config>> {
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
}

/// Where the database URL came from: named when the server cannot be reached, so that the
/// operator knows which setting to correct.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UrlSource {
    Flag,
    Env,
    File(PathBuf),
}

impl std::fmt::Display for UrlSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UrlSource::Flag => f.write_str("URL from --database-url"),
            UrlSource::Env => write!(f, "URL from {DATABASE_URL_ENV}"),
            UrlSource::File(path) => write!(f, "URL from database.url_file {}", path.display()),
        }
    }
}

/// The database URL with or without a config file: `--database-url`, else
/// `CERTANON_DATABASE_URL`, else `database.url_file`.
pub(crate) fn resolve_database_url(
    cli: Option<&str>,
    config: Option<&Config>,
) -> Result<(String, UrlSource)> {
    resolve_database_url_in(cli, config, &Env::from_process())
}

fn resolve_database_url_in(
    cli: Option<&str>,
    config: Option<&Config>,
    env: &Env,
) -> Result<(String, UrlSource)> {
    if let Some(url) = cli.filter(|url| !url.is_empty()) {
        return Ok((url.to_string(), UrlSource::Flag));
    }
    if let Some(url) = &env.database_url {
        return url
            .to_str()
            .map(|url| (url.to_string(), UrlSource::Env))
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
    Ok((url.to_string(), UrlSource::File(file.clone())))
}

/// Parses `N unit`: seconds, minutes, hours, days, weeks or years (365.25 days), singular,
/// plural or abbreviated (`s`, `min`, `h`, `d`, `w`, `y`), with or without a space.
fn parse_duration(text: &str) -> std::result::Result<TimeDelta, String> {
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

/// A duration the way people write it in the config: the largest unit that divides it
/// (`7 years`, `2 weeks`, `400 days`), else days, hours, minutes and seconds. What
/// [`parse_duration`] reads is said back in a form it reads to the same length.
pub(crate) fn display_duration(d: TimeDelta) -> String {
    let secs = d.num_seconds();
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    const WHOLE: [(i64, &str); 3] = [(31_557_600, "year"), (7 * 86_400, "week"), (86_400, "day")];
    if let Some(&(size, unit)) = WHOLE.iter().find(|(size, _)| secs > 0 && secs % size == 0) {
        return plural(secs / size, unit);
    }
    let parts = [
        (secs / 86_400, "day"),
        (secs % 86_400 / 3600, "hour"),
        (secs % 3600 / 60, "minute"),
        (secs % 60, "second"),
    ];
    let text: Vec<String> = parts
        .iter()
        .filter(|(n, _)| *n != 0)
        .map(|&(n, unit)| plural(n, unit))
        .collect();
    if text.is_empty() {
        "0 seconds".into()
    } else {
        text.join(" ")
    }
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
    dominance: Option<Spanned<f64>>,
    subject_k: Option<Spanned<i64>>,
    #[serde(default)]
    dp: RawDp,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMetrics {
    textfile: Option<Spanned<PathBuf>>,
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
                let checked = task.check(src, &name, time_zone, &self.privacy.dp)?;
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
            Some(mode) => Some(
                SslMode::parse(mode.get_ref())
                    .map_err(|why| src.error(&mode.span(), "database.sslmode", why))?,
            ),
            None => None,
        };
        if let (Some(SslMode::VerifyFull), None, Some(mode)) =
            (sslmode, &self.ca_file, &self.sslmode)
        {
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
        let at_least_two = |value: Spanned<i64>, key: &str| {
            u32::try_from(*value.get_ref())
                .ok()
                .filter(|&k| k >= 2)
                .ok_or_else(|| src.error(&value.span(), key, "must be at least 2"))
        };
        let k = match self.k {
            Some(k) => at_least_two(k, "privacy.k")?,
            None => DEFAULT_K,
        };
        // Below k, removing subjects could leave a class of the extract with fewer than k rows.
        let subject_k = match self.subject_k {
            Some(value) if *value.get_ref() < i64::from(k) => {
                return Err(src.error(
                    &value.span(),
                    "privacy.subject_k",
                    format!("must be at least privacy.k ({k})"),
                ));
            }
            Some(value) => Some(at_least_two(value, "privacy.subject_k")?),
            None => None,
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
        let dominance = match self.dominance {
            Some(p) if *p.get_ref() > 0.0 && *p.get_ref() <= 1.0 => *p.get_ref(),
            Some(p) => {
                return Err(src.error(
                    &p.span(),
                    "privacy.dominance",
                    "must be a share in (0, 1], e.g. 0.5",
                ));
            }
            None => DEFAULT_DOMINANCE,
        };
        Ok(PrivacyConfig {
            k,
            max_suppression,
            dominance,
            subject_k,
        })
    }
}
