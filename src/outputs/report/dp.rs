//! What the statistics report says of a differentially private release: its privacy loss and
//! budget in the overview, how to read noisy counts, each table's ε and margin of error, and
//! the method, in place of the suppression rules.

use std::fmt::Write as _;

use super::{escape, thousands};
use crate::outputs::manifest::{DpPolicy, DpTableFacts, Manifest};
use crate::privacy::Published;

/// The header of a DP release and how to read it.
pub(super) fn overview(
    html: &mut String,
    manifest: &Manifest,
    policy: &DpPolicy,
    tables: &[Published],
) {
    let _ = write!(
        html,
        "<header><p class=\"kicker\">certanon · aggregate statistics · differential privacy</p>\
         <h1>Certificate statistics</h1>\
         <p class=\"lead\">Counts of the certificates, revocations and subscribers in the \
         certificate authority's database, in {} tables, each count with random noise added so \
         that the release reveals almost nothing about any one subscriber: with or without a \
         subscriber's certificates, every possible release is at most e<sup>ε</sup> times as \
         likely. Every cell is published; none is withheld.</p><dl class=\"facts\">{}\
         <dt>Privacy loss of this release (ε)</dt><dd>{}</dd>\
         <dt>Budget of the task</dt><dd>{} ({}), {} spent before this release</dd>\
         <dt>Produced by</dt><dd>certanon {}</dd></dl></header>",
        tables.len(),
        super::release_facts(manifest, tables),
        repeat(policy),
        policy.budget,
        escape(&policy.budget_period),
        policy.spent_before,
        escape(&manifest.tool_version),
    );
    html.push_str(
        "<section class=\"howto\"><h2>How to read this release</h2><ul>\
         <li>Each section below is one table: a chart, its total, its privacy loss and the \
         margin of error of its counts. Under each chart, <em>Numbers</em> opens the figures \
         the chart draws; the CSV files hold every cell with its margin of error.</li>\
         <li>Every count is the true count plus noise, set to 0 where it came out negative. In \
         95 % of cells the noise is smaller than the cell's margin of error: read a count as \
         that count ± its margin, and a difference smaller than the margins as no difference.</li>\
         <li>Totals are the sums of the published cells, so they add up; they carry the upward \
         bias of the cells near zero that were set to 0.</li>\
         <li>Months and years are calendar periods in UTC. <code>unknown</code> is a value the \
         database did not give or that fits no category.</li></ul></section>",
    );
}

fn repeat(policy: &DpPolicy) -> String {
    match &policy.repeat_of {
        Some(run) => format!("0: it repeats release <code>{}</code>", escape(run)),
        None => policy.epsilon.to_string(),
    }
}

/// One table's ε, sensitivity and margin of error, in words.
pub(super) fn table_facts(html: &mut String, facts: &DpTableFacts) {
    let _ = write!(
        html,
        "<p class=\"withheld-facts\">{} cells, totals included, all published; ε {}; one \
         subscriber moves the table's cells by at most {} in total; 95 % margin of error of one \
         cell ±{}.</p>",
        thousands(facts.cells as u64),
        facts.epsilon,
        facts.sensitivity,
        thousands(facts.margin_of_error_95),
    );
}

/// How the tables are protected.
pub(super) fn method(html: &mut String, policy: &DpPolicy, bound: Option<&DpTableFacts>) {
    let (certificates, months, certificate_months) = bound.map_or((0, 0, 0), |f| {
        let b = f.contribution_bound;
        (b.max_certificates, b.max_months, b.max_certificate_months)
    });
    let _ = write!(
        html,
        "<section id=\"method\"><h2>Method</h2>\
         <p>The tables count certificates, revocations and subscribers read from one consistent \
         snapshot of the database, from {} to {}. Subscribers are counted as distinct keyed \
         pseudonyms, never by name or address; no name, address, e-mail address, domain name, \
         serial number or exact time is published.</p>\
         <p>A subscriber counts with at most {certificates} certificates in each table, as \
         active in at most {months} months and a certificate at most at {certificate_months} \
         month ends; what goes beyond is left out, the same in every run. That bounds how far \
         one subscriber can move a table, and each count gets discrete Laplace noise scaled to \
         that bound and to the table's share of ε = {} (differential privacy at the level of \
         the subscriber). Every cell of the period and of every category is published, whether \
         or not anything was counted there.</p>\
         <p>Every release spends ε from the task's budget of {} ({}); the certificate \
         authority records what each release spent and refuses one that would exceed it. A \
         release repeated on the same data repeats the same noise, so repeating cannot average \
         it away.</p></section>",
        escape(&policy.window[0]),
        escape(&policy.window[1]),
        policy.epsilon_per_release,
        policy.budget,
        escape(&policy.budget_period),
    );
}
