//! The differential-privacy settings of a statistics task in mode "dp": `[privacy.dp]` for
//! every such task, each key overridable in the task's own `[tasks.NAME.dp]` table. Errors
//! name the table the offending value was written in.

use serde::Deserialize;
use toml::Spanned;

use super::spans::Source;
use crate::error::Result;
use crate::privacy::dp::{MICRO, to_micro};

/// Unless set, a subscriber counts with at most this many certificates per table…
const DEFAULT_MAX_CERTIFICATES: u32 = 10;
/// …a certificate at this many month ends (every one of a certificate valid up to 398 days,
/// the CA/Browser Forum limit)…
const DEFAULT_MAX_CERTIFICATE_MONTHS: u32 = 14;
/// …in a release that covers this many complete months, in each of which a subscriber may
/// count as active.
const DEFAULT_WINDOW_MONTHS: u32 = 24;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DpConfig {
    /// ε of one release, split evenly over its tables, in millionths.
    pub(crate) epsilon_micro: u64,
    /// The most ε the task may spend over `budget_period`, in millionths.
    pub(crate) budget_micro: u64,
    pub(crate) budget_period: BudgetPeriod,
    /// Certificates one subscriber may contribute to one table.
    pub(crate) max_certificates: u32,
    /// Months one subscriber may count in within the series of distinct subscribers.
    pub(crate) max_months: u32,
    /// Month ends one certificate may count at in the series of active certificates.
    pub(crate) max_certificate_months: u32,
    /// Complete months a release covers, ending with the month before the run.
    pub(crate) window_months: u32,
}

/// Over what the budget is counted: every release of the task ever, or those of the calendar
/// year (UTC) of the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BudgetPeriod {
    Forever,
    Year,
}

spelled!(BudgetPeriod, "budget_period", "forever or year", {
    Forever => "forever", Year => "year",
});

#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDp {
    epsilon: Option<Spanned<f64>>,
    budget: Option<Spanned<f64>>,
    budget_period: Option<Spanned<String>>,
    max_certificates: Option<Spanned<i64>>,
    max_months: Option<Spanned<i64>>,
    max_certificate_months: Option<Spanned<i64>>,
    window_months: Option<Spanned<i64>>,
}

/// The two tables a key may come from, and the dotted name of each.
struct Layers<'a> {
    src: &'a Source<'a>,
    global: &'a RawDp,
    task: &'a RawDp,
    task_table: String,
}

impl Layers<'_> {
    /// The value of `key` (the task's own first) with its dotted path.
    fn pick<T>(
        &self,
        key: &str,
        get: impl Fn(&RawDp) -> &Option<Spanned<T>>,
    ) -> Option<(&Spanned<T>, String)> {
        match (get(self.task), get(self.global)) {
            (Some(v), _) => Some((v, format!("{}.{key}", self.task_table))),
            (None, Some(v)) => Some((v, format!("privacy.dp.{key}"))),
            (None, None) => None,
        }
    }

    fn micro(
        &self,
        key: &str,
        get: impl Fn(&RawDp) -> &Option<Spanned<f64>>,
        range: (f64, f64),
    ) -> Result<u64> {
        let (value, path) = self
            .pick(key, get)
            .ok_or_else(|| self.src.missing("privacy.dp", key))?;
        let v = *value.get_ref();
        if !(range.0..=range.1).contains(&v) {
            return Err(self.src.error(
                &value.span(),
                &path,
                format!("must be a number from {} to {}", range.0, range.1),
            ));
        }
        Ok(to_micro(v))
    }

    fn count(
        &self,
        key: &str,
        get: impl Fn(&RawDp) -> &Option<Spanned<i64>>,
        default: u32,
        max: u32,
    ) -> Result<u32> {
        match self.pick(key, get) {
            None => Ok(default),
            Some((value, path)) => u32::try_from(*value.get_ref())
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| {
                    self.src
                        .error(&value.span(), &path, format!("must be from 1 to {max}"))
                }),
        }
    }
}

impl RawDp {
    /// The settings of task `task` in mode "dp": its `[tasks.NAME.dp]` keys over `global`'s.
    pub(super) fn check(&self, global: &RawDp, src: &Source<'_>, task: &str) -> Result<DpConfig> {
        let layers = Layers {
            src,
            global,
            task: self,
            task_table: format!("tasks.{task}.dp"),
        };
        let epsilon_micro = layers.micro("epsilon", |r| &r.epsilon, (0.0001, 100.0))?;
        let budget_micro = layers.micro("budget", |r| &r.budget, (0.0001, 1e6))?;
        if budget_micro < epsilon_micro {
            let (value, path) = layers.pick("budget", |r| &r.budget).expect("checked above");
            return Err(src.error(
                &value.span(),
                &path,
                format!(
                    "must be at least epsilon ({}): no release could ever run",
                    epsilon_micro as f64 / MICRO as f64
                ),
            ));
        }
        let budget_period = match layers.pick("budget_period", |r| &r.budget_period) {
            Some((value, path)) => BudgetPeriod::parse(value.get_ref())
                .map_err(|why| src.error(&value.span(), &path, why))?,
            None => BudgetPeriod::Forever,
        };
        let window_months = layers.count(
            "window_months",
            |r| &r.window_months,
            DEFAULT_WINDOW_MONTHS,
            240,
        )?;
        Ok(DpConfig {
            epsilon_micro,
            budget_micro,
            budget_period,
            max_certificates: layers.count(
                "max_certificates",
                |r| &r.max_certificates,
                DEFAULT_MAX_CERTIFICATES,
                100_000,
            )?,
            max_months: layers.count(
                "max_months",
                |r| &r.max_months,
                window_months,
                window_months,
            )?,
            max_certificate_months: layers.count(
                "max_certificate_months",
                |r| &r.max_certificate_months,
                DEFAULT_MAX_CERTIFICATE_MONTHS.min(window_months),
                window_months,
            )?,
            window_months,
        })
    }
}
