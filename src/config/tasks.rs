//! The `[tasks.NAME]` tables: each task's kind with the settings that kind has (release mode
//! and recipient of a research extract, horizon and batch size of retention), its schedule and
//! how long its exports are kept. A setting of another kind is refused, not ignored.

use std::fmt;
use std::ops::Range;

use chrono::TimeDelta;
use chrono_tz::Tz;
use serde::Deserialize;
use toml::Spanned;

use super::dp::{DpConfig, RawDp};
use super::spans::Source;
use super::{is_identifier, parse_duration};
use crate::error::{Error, Result};
use crate::job::schedule::Schedule;

const DEFAULT_BATCH_SIZE: u32 = 1000;

#[derive(Clone, Debug)]
pub struct TaskConfig {
    pub(crate) name: String,
    pub(crate) kind: TaskKind,
    pub(crate) schedule: Schedule,
    /// How long this task's exports are kept; `None` keeps them. Only exporting kinds have it.
    pub(crate) retain_exports: Option<TimeDelta>,
    /// An aggregates task in mode "dp" publishes noisy counts with these settings instead of
    /// suppressing cells.
    pub(crate) dp: Option<DpConfig>,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum TaskKind {
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
        /// The most subjects one erase-mode run may erase without an explicit confirmation.
        max_erase_per_run: EraseLimit,
    },
}

/// `max_erase_per_run`: a number of subjects, or a share of the subjects holding personal data.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum EraseLimit {
    Subjects(u64),
    Percent(f64),
}

/// A mistyped horizon (`7 days` for `7 years`) would erase nearly everyone: by default a run
/// may erase at most this share of the subjects holding personal data.
const DEFAULT_ERASE_LIMIT: EraseLimit = EraseLimit::Percent(5.0);

impl EraseLimit {
    /// The limit in subjects, given how many hold personal data.
    pub(crate) fn subjects(self, holding: u64) -> u64 {
        match self {
            EraseLimit::Subjects(n) => n,
            EraseLimit::Percent(p) => (holding as f64 * p / 100.0).floor() as u64,
        }
    }

    fn parse(raw: &RawLimit) -> std::result::Result<EraseLimit, &'static str> {
        const WHY: &str = "must be a number of subjects (0 or more) or a share such as \"5%\"";
        match raw {
            RawLimit::Subjects(n) => u64::try_from(*n).map(EraseLimit::Subjects).map_err(|_| WHY),
            RawLimit::Text(text) => text
                .trim()
                .strip_suffix('%')
                .and_then(|p| p.trim().parse::<f64>().ok())
                .filter(|p| (0.0..=100.0).contains(p))
                .map(EraseLimit::Percent)
                .ok_or(WHY),
        }
    }
}

impl fmt::Display for EraseLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EraseLimit::Subjects(n) => write!(f, "{n} subjects"),
            EraseLimit::Percent(p) => write!(f, "{p}% of the subjects holding personal data"),
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawLimit {
    Subjects(i64),
    Text(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReleaseMode {
    Pseudonymous,
    Anonymous,
}

/// How an aggregates task protects its tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StatisticsMode {
    Suppression,
    Dp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RetentionMode {
    Report,
    Erase,
}

spelled!(ReleaseMode, "mode", "pseudonymous or anonymous", {
    Pseudonymous => "pseudonymous", Anonymous => "anonymous",
});
spelled!(StatisticsMode, "mode", "suppression or dp", {
    Suppression => "suppression", Dp => "dp",
});
spelled!(RetentionMode, "mode", "report or erase", { Report => "report", Erase => "erase" });

impl TaskKind {
    /// The kind as written in the config (`aggregates`, `research_extract`, `retention`), which
    /// is also how manifests, the ledger and logs name it.
    pub(crate) fn as_str(&self) -> &'static str {
        match self {
            TaskKind::Aggregates => "aggregates",
            TaskKind::ResearchExtract { .. } => "research_extract",
            TaskKind::Retention { .. } => "retention",
        }
    }
}

impl fmt::Display for TaskKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTask {
    kind: Option<Spanned<String>>,
    schedule: Option<Spanned<String>>,
    retain_exports: Option<Spanned<String>>,
    mode: Option<Spanned<String>>,
    recipient: Option<Spanned<String>>,
    personal_data_after_expiry: Option<Spanned<String>>,
    batch_size: Option<Spanned<i64>>,
    max_erase_per_run: Option<Spanned<RawLimit>>,
    dp: Option<Spanned<RawDp>>,
}

/// The task table being checked, for errors that name its keys.
struct Table<'a> {
    src: &'a Source<'a>,
    task: &'a str,
    /// The kind as written.
    kind: &'a str,
}

impl Table<'_> {
    fn key(&self, key: &str) -> String {
        format!("tasks.{}.{key}", self.task)
    }

    fn error(&self, span: &Range<usize>, key: &str, why: impl fmt::Display) -> Error {
        self.src.error(span, &self.key(key), why)
    }

    /// A key that belongs to another kind is a mistake worth stopping on, not ignoring.
    fn reject<T>(&self, value: &Option<Spanned<T>>, key: &str, for_kind: &str) -> Result<()> {
        match value {
            Some(value) => Err(self.error(
                &value.span(),
                key,
                format!("not a setting of kind {} (only of {for_kind})", self.kind),
            )),
            None => Ok(()),
        }
    }

    fn duration(&self, value: &Spanned<String>, key: &str) -> Result<TimeDelta> {
        parse_duration(value.get_ref()).map_err(|why| self.error(&value.span(), key, why))
    }

    /// The task's `mode`, parsed by its kind's parser, or the kind's default.
    fn mode<T>(
        &self,
        mode: &Option<Spanned<String>>,
        parse: fn(&str) -> std::result::Result<T, String>,
        default: T,
    ) -> Result<T> {
        match mode {
            Some(mode) => {
                parse(mode.get_ref()).map_err(|why| self.error(&mode.span(), "mode", why))
            }
            None => Ok(default),
        }
    }
}

impl RawTask {
    pub(super) fn check(
        self,
        src: &Source<'_>,
        name: &Spanned<String>,
        tz: Option<Tz>,
        dp: &RawDp,
    ) -> Result<TaskConfig> {
        let task = name.get_ref();
        if !is_identifier(task, &['-', '_']) {
            return Err(src.error(
                &name.span(),
                &format!("tasks.{task}"),
                "task names are 1 to 64 letters, digits, '-' or '_'",
            ));
        }
        let missing = |k: &str| src.missing(&format!("tasks.{task}"), k);
        let kind_text = self.kind.as_ref().ok_or_else(|| missing("kind"))?;
        let expr = self.schedule.as_ref().ok_or_else(|| missing("schedule"))?;
        let table = Table {
            src,
            task,
            kind: kind_text.get_ref(),
        };
        let schedule = Schedule::parse(expr.get_ref(), tz)
            .map_err(|why| table.error(&expr.span(), "schedule", why))?;
        let mut dp_config = None;
        let kind = match kind_text.get_ref().as_str() {
            "aggregates" => {
                dp_config = self.statistics_mode(&table, dp)?;
                TaskKind::Aggregates
            }
            "research_extract" => self.research_extract(&table)?,
            "retention" => self.retention(&table, &kind_text.span())?,
            other => {
                return Err(table.error(
                    &kind_text.span(),
                    "kind",
                    format!("unknown kind {other:?} (expected aggregates, research_extract or retention)"),
                ));
            }
        };
        match kind {
            TaskKind::Aggregates | TaskKind::ResearchExtract { .. } => {
                let only = "retention";
                table.reject(
                    &self.personal_data_after_expiry,
                    "personal_data_after_expiry",
                    only,
                )?;
                table.reject(&self.batch_size, "batch_size", only)?;
                table.reject(&self.max_erase_per_run, "max_erase_per_run", only)?;
            }
            TaskKind::Retention { .. } => {}
        }
        if dp_config.is_none() {
            table.reject(&self.dp, "dp", "aggregates in mode \"dp\"")?;
        }
        Ok(TaskConfig {
            name: task.clone(),
            kind,
            schedule,
            retain_exports: self
                .retain_exports
                .as_ref()
                .map(|r| table.duration(r, "retain_exports"))
                .transpose()?,
            dp: dp_config,
        })
    }

    /// The settings of an aggregates task in mode "dp", `None` in mode "suppression".
    fn statistics_mode(&self, table: &Table<'_>, global: &RawDp) -> Result<Option<DpConfig>> {
        table.reject(&self.recipient, "recipient", "research_extract")?;
        match table.mode(
            &self.mode,
            StatisticsMode::parse,
            StatisticsMode::Suppression,
        )? {
            StatisticsMode::Suppression => Ok(None),
            StatisticsMode::Dp => {
                let own = self
                    .dp
                    .as_ref()
                    .map(|d| d.get_ref().clone())
                    .unwrap_or_default();
                own.check(global, table.src, table.task).map(Some)
            }
        }
    }

    fn research_extract(&self, table: &Table<'_>) -> Result<TaskKind> {
        let recipient = match &self.recipient {
            Some(r) if is_identifier(r.get_ref(), &['-', '_']) => Some(r.get_ref().clone()),
            Some(r) => {
                return Err(table.error(
                    &r.span(),
                    "recipient",
                    "must be 1 to 64 letters, digits, '-' or '_'",
                ));
            }
            None => None,
        };
        Ok(TaskKind::ResearchExtract {
            mode: table.mode(&self.mode, ReleaseMode::parse, ReleaseMode::Pseudonymous)?,
            recipient,
        })
    }

    /// `kind_span` is where a missing horizon is reported: the line that asks for retention.
    fn retention(&self, table: &Table<'_>, kind_span: &Range<usize>) -> Result<TaskKind> {
        table.reject(
            &self.retain_exports,
            "retain_exports",
            "aggregates and research_extract",
        )?;
        table.reject(&self.recipient, "recipient", "research_extract")?;
        let after = self.personal_data_after_expiry.as_ref().ok_or_else(|| {
            table.error(
                kind_span,
                "personal_data_after_expiry",
                "required for kind retention",
            )
        })?;
        let batch_size = match &self.batch_size {
            Some(size) => u32::try_from(*size.get_ref())
                .ok()
                .filter(|&s| s > 0)
                .ok_or_else(|| table.error(&size.span(), "batch_size", "must be at least 1"))?,
            None => DEFAULT_BATCH_SIZE,
        };
        let max_erase_per_run = match &self.max_erase_per_run {
            Some(limit) => EraseLimit::parse(limit.get_ref())
                .map_err(|why| table.error(&limit.span(), "max_erase_per_run", why))?,
            None => DEFAULT_ERASE_LIMIT,
        };
        Ok(TaskKind::Retention {
            mode: table.mode(&self.mode, RetentionMode::parse, RetentionMode::Report)?,
            personal_data_after_expiry: table.duration(after, "personal_data_after_expiry")?,
            batch_size,
            max_erase_per_run,
        })
    }
}
