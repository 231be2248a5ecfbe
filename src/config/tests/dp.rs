//! The `[privacy.dp]` settings of statistics tasks in mode "dp", and a task's overrides.

use super::*;
use crate::config::dp::{BudgetPeriod, DpConfig};
use crate::error::exit;

const DP: &str = "[privacy.dp]\nepsilon = 1.0\nbudget = 4\n";

fn dp_of(text: &str) -> Option<DpConfig> {
    load(text).expect("config loads").tasks["t"].dp.clone()
}

#[test]
fn a_dp_task_takes_the_global_settings_and_its_own_overrides() {
    let text = format!(
        "{KEYS}{DP}max_months = 6\n[tasks.t]\nkind = \"aggregates\"\nmode = \"dp\"\nschedule = \"@monthly\"\n\
         [tasks.t.dp]\nepsilon = 0.5\nbudget_period = \"year\"\n"
    );
    assert_eq!(
        dp_of(&text),
        Some(DpConfig {
            epsilon_micro: 500_000,
            budget_micro: 4_000_000,
            budget_period: BudgetPeriod::Year,
            max_certificates: 10,
            max_months: 6,
            max_certificate_months: 14,
            window_months: 24,
        })
    );
    let suppression =
        format!("{KEYS}{DP}[tasks.t]\nkind = \"aggregates\"\nschedule = \"@monthly\"\n");
    assert_eq!(dp_of(&suppression), None);
}

#[test]
fn dp_settings_out_of_range_name_their_key() {
    let dp_task = |global: &str, own: &str| {
        format!(
            "{KEYS}[privacy.dp]\n{global}\n[tasks.t]\nkind = \"aggregates\"\nmode = \"dp\"\n\
             schedule = \"@monthly\"\n[tasks.t.dp]\n{own}\n"
        )
    };
    let cases = [
        (dp_task("budget = 3", ""), "", "privacy.dp.epsilon: missing"),
        (dp_task("epsilon = 1", ""), "", "privacy.dp.budget: missing"),
        (
            dp_task("epsilon = 0\nbudget = 1", ""),
            ":5",
            "privacy.dp.epsilon: must be a number",
        ),
        (
            dp_task("epsilon = 2\nbudget = 1", ""),
            ":6",
            "privacy.dp.budget: must be at least epsilon (2)",
        ),
        (
            dp_task("epsilon = 1\nbudget = 3", "epsilon = -1"),
            ":12",
            "tasks.t.dp.epsilon: must be",
        ),
        (
            dp_task("epsilon = 1\nbudget = 3", "budget_period = \"month\""),
            ":12",
            "tasks.t.dp.budget_period: unknown budget_period \"month\" (expected forever or year)",
        ),
        (
            dp_task("epsilon = 1\nbudget = 3\nmax_certificates = 0", ""),
            ":7",
            "privacy.dp.max_certificates: must be from 1 to 100000",
        ),
        (
            dp_task(
                "epsilon = 1\nbudget = 3",
                "window_months = 6\nmax_months = 7",
            ),
            ":13",
            "tasks.t.dp.max_months: must be from 1 to 6",
        ),
        (
            dp_task("epsilon = 1\nbudget = 3", "delta = 1e-6"),
            ":12",
            "delta",
        ),
    ];
    for (text, line, fragment) in &cases {
        let e = load(text).expect_err("refused");
        assert_eq!(e.exit_code(), exit::CONFIG, "{e}");
        let message = e.to_string();
        assert!(
            message.starts_with(&format!("config {PATH}{line}")),
            "{message}"
        );
        assert!(message.contains(fragment), "{message} lacks {fragment}");
    }
}

#[test]
fn dp_overrides_belong_to_dp_tasks_only() {
    let text = format!(
        "{KEYS}{DP}[tasks.t]\nkind = \"aggregates\"\nschedule = \"@monthly\"\n[tasks.t.dp]\nepsilon = 2\n"
    );
    assert!(
        error(&text).contains("tasks.t.dp: not a setting of kind aggregates"),
        "{}",
        error(&text)
    );
    let mode = task("kind = \"aggregates\"\nmode = \"noisy\"\nschedule = \"@monthly\"");
    assert!(error(&mode).contains("unknown mode \"noisy\" (expected suppression or dp)"));
}
