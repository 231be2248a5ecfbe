//! The privacy budget ledger of differentially private releases (`certanon.dp_releases` and
//! `dp_table_spend`): what a task has spent, whether a release fits its budget, and the record
//! of what it spent. A retry of a recorded release (same keyed digest of its inputs) spends
//! nothing: it draws the same noise and publishes the same counts.

use chrono::{DateTime, Datelike, TimeZone, Utc};
use tokio_postgres::GenericClient;

use crate::config::{BudgetPeriod, DpConfig};
use crate::error::{DbContext, Error, Result};
use crate::privacy::dp::MICRO;

/// ε in millionths, as a decimal for people and for `numeric` columns.
pub(crate) fn decimal(micro: u64) -> String {
    let text = format!("{}.{:06}", micro / MICRO, micro % MICRO);
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// When the period `at` falls in began: the start of its year, or `None` for ever.
fn period_start(period: BudgetPeriod, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    match period {
        BudgetPeriod::Forever => None,
        BudgetPeriod::Year => Utc.with_ymd_and_hms(at.year(), 1, 1, 0, 0, 0).single(),
    }
}

fn period_name(config: &DpConfig, at: DateTime<Utc>) -> String {
    match config.budget_period {
        BudgetPeriod::Forever => "for ever".to_owned(),
        BudgetPeriod::Year => format!("in {}", at.year()),
    }
}

/// ε (millionths) `task` has spent in the budget period that holds `at`, under every key.
pub(crate) async fn spent(
    client: &impl GenericClient,
    task: &str,
    period: BudgetPeriod,
    at: DateTime<Utc>,
) -> Result<u64> {
    let row = client
        .query_one(
            "SELECT (coalesce(sum(epsilon), 0) * 1000000)::bigint FROM certanon.dp_releases \
              WHERE task = $1 AND ($2::timestamptz IS NULL OR spent_at >= $2)",
            &[&task, &period_start(period, at)],
        )
        .await
        .during("reading the privacy budget ledger")?;
    Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
}

/// A task's budget as `status` shows it.
pub(crate) struct Left {
    spent: u64,
    budget: u64,
    period: String,
}

impl Left {
    pub(crate) fn new(config: &DpConfig, spent: u64, at: DateTime<Utc>) -> Left {
        Left {
            spent,
            budget: config.budget_micro,
            period: period_name(config, at),
        }
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "epsilon_spent": self.spent as f64 / MICRO as f64,
            "epsilon_left": self.budget.saturating_sub(self.spent) as f64 / MICRO as f64,
            "budget": self.budget as f64 / MICRO as f64,
            "period": self.period,
        })
    }
}

impl std::fmt::Display for Left {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "epsilon spent {} of {} ({}), {} left",
            decimal(self.spent),
            decimal(self.budget),
            self.period,
            decimal(self.budget.saturating_sub(self.spent))
        )
    }
}

/// Refuses (exit 78) a release of `epsilon` micro-ε that would take `task` past its budget.
pub(crate) fn check(task: &str, config: &DpConfig, spent: u64, at: DateTime<Utc>) -> Result<()> {
    if spent.saturating_add(config.epsilon_micro) <= config.budget_micro {
        return Ok(());
    }
    Err(Error::Budget(format!(
        "task {task}: privacy.dp.budget {} ({}) is spent down to {} left (spent {}); this \
         release needs epsilon {}",
        decimal(config.budget_micro),
        period_name(config, at),
        decimal(config.budget_micro.saturating_sub(spent)),
        decimal(spent),
        decimal(config.epsilon_micro),
    )))
}

/// The run that first published `release` of `task`, if one did.
pub(crate) async fn recorded(
    client: &impl GenericClient,
    task: &str,
    release: &str,
) -> Result<Option<String>> {
    let row = client
        .query_opt(
            "SELECT run_id FROM certanon.dp_releases \
              WHERE task = $1 AND release = $2 AND repeat_of IS NULL ORDER BY spent_at LIMIT 1",
            &[&task, &release],
        )
        .await
        .during("reading the privacy budget ledger")?;
    Ok(row.map(|r| r.get(0)))
}

/// What one table of a release spends: its name, ε in millionths, its L1 sensitivity.
pub(crate) type TableSpend = (String, u64, u64);

/// One release's line in the ledger.
pub(crate) struct Spending<'a> {
    pub(crate) run_id: &'a str,
    pub(crate) task: &'a str,
    pub(crate) key_id: &'a str,
    pub(crate) release: &'a str,
    pub(crate) window: &'a [String; 2],
    pub(crate) mechanism: &'a str,
    /// Per table: its name, ε in millionths and L1 sensitivity; empty for a retry.
    pub(crate) tables: &'a [TableSpend],
    pub(crate) repeat_of: Option<&'a str>,
    pub(crate) at: DateTime<Utc>,
}

/// Records what a release spent, in one statement, before its export appears: ε spent on
/// an export that then fails only leaves less budget, while ε published and not recorded
/// would let later releases overspend.
pub(crate) async fn record(client: &impl GenericClient, s: &Spending<'_>) -> Result<()> {
    let total: u64 = s.tables.iter().map(|t| t.1).sum();
    let names: Vec<&str> = s.tables.iter().map(|t| t.0.as_str()).collect();
    let epsilons: Vec<i64> = s.tables.iter().map(|t| t.1 as i64).collect();
    let sensitivities: Vec<i64> = s.tables.iter().map(|t| t.2 as i64).collect();
    client
        .execute(
            "WITH release AS ( \
                 INSERT INTO certanon.dp_releases (run_id, task, key_id, release, window_first, \
                        window_last, mechanism, epsilon, repeat_of, spent_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8::bigint / 1000000.0, $9, $10) \
                 RETURNING run_id) \
             INSERT INTO certanon.dp_table_spend (run_id, table_name, epsilon, sensitivity) \
             SELECT r.run_id, n, e / 1000000.0, s FROM release r, \
                    unnest($11::text[], $12::bigint[], $13::bigint[]) AS u(n, e, s)",
            &[
                &s.run_id,
                &s.task,
                &s.key_id,
                &s.release,
                &s.window[0],
                &s.window[1],
                &s.mechanism,
                &(total as i64),
                &s.repeat_of,
                &s.at,
                &names,
                &epsilons,
                &sensitivities,
            ],
        )
        .await
        .during("recording a privacy budget spend")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::exit;

    fn config(epsilon_micro: u64, budget_micro: u64, budget_period: BudgetPeriod) -> DpConfig {
        DpConfig {
            epsilon_micro,
            budget_micro,
            budget_period,
            max_certificates: 10,
            max_months: 12,
            max_certificate_months: 14,
            window_months: 24,
        }
    }

    #[test]
    fn decimals_read_as_written() {
        assert_eq!(decimal(1_000_000), "1");
        assert_eq!(decimal(2_500_000), "2.5");
        assert_eq!(decimal(100), "0.0001");
        assert_eq!(decimal(0), "0");
    }

    #[test]
    fn a_release_fits_up_to_the_budget_exactly_and_not_beyond() {
        let at = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
        let c = config(1_000_000, 3_000_000, BudgetPeriod::Forever);
        assert!(check("t", &c, 2_000_000, at).is_ok());
        let e = check("t", &c, 2_000_001, at).expect_err("over budget");
        assert_eq!(e.exit_code(), exit::CONFIG);
        assert_eq!(
            e.to_string(),
            "privacy budget: task t: privacy.dp.budget 3 (for ever) is spent down to 0.999999 \
             left (spent 2.000001); this release needs epsilon 1"
        );
        let yearly = config(1_000_000, 3_000_000, BudgetPeriod::Year);
        assert!(
            check("t", &yearly, 2_500_000, at)
                .unwrap_err()
                .to_string()
                .contains("(in 2026)")
        );
        assert_eq!(
            period_start(BudgetPeriod::Year, at),
            Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single()
        );
    }
}
