//! The statistics tables under differential privacy: each table's bounded counts laid out
//! over its public domain (every month of the release window, every category code, whether
//! or not any certificate has it), noised by [`crate::privacy::dp`], and their manifest facts,
//! CSV files and data dictionary.

use std::fmt::Write as _;

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use super::bounded::{Bound, Counts, has_unknown_month};
use super::{ABROAD, Dim, Spec, Unit, codes, file_name, specs, totals_file_name, year_of};
use crate::error::Result;
use crate::outputs::export::{self, Export};
use crate::outputs::manifest::{ContributionBound, DpTableFacts, DpTableKind, FileFacts, Privacy};
use crate::privacy::dp::{Budgeted, MICRO, release};
use crate::privacy::{Published, TOTAL};
use crate::transform::category::{Channel, UNKNOWN, ValidationType};
use crate::transform::domain::DomainClass;
use crate::transform::key_type::KeyType;
use crate::transform::period::{UNKNOWN_MONTH, ValidityBucket};
use crate::transform::revocation::{Revocation, RevocationStatus};

/// The name of the noise mechanism in manifests.
pub(crate) const MECHANISM: &str = "discrete_laplace";

/// One table's true counts after the contribution bound, over its whole public domain.
pub(crate) struct Bounded {
    spec: &'static Spec,
    pub(crate) interior: Vec<(Vec<String>, u64)>,
    pub(crate) sensitivity: u64,
}

impl Bounded {
    pub(crate) fn name(&self) -> &'static str {
        self.spec.name
    }
}

impl Dim {
    /// Every code the dimension publishes in a table counting `unit` over the months `first`
    /// to `last`.
    fn public_codes(self, unit: Unit, first: u16, last: u16) -> Vec<u16> {
        let unknown = has_unknown_month(unit).then_some(UNKNOWN_MONTH);
        match self {
            Dim::Month => (first..=last).chain(unknown).collect(),
            Dim::Year => (year_of(first)..=year_of(last)).chain(unknown).collect(),
            Dim::ValidationType => codes::<ValidationType>(|_| true),
            Dim::Channel => codes::<Channel>(|_| true),
            Dim::KeyType => codes::<KeyType>(|_| true),
            Dim::DomainClass => codes::<DomainClass>(|_| true),
            Dim::Validity => codes::<ValidityBucket>(|_| true),
            Dim::Reason => codes::<Revocation>(|r| r.status() == RevocationStatus::Revoked),
            Dim::Prefecture => (1..=47).chain([ABROAD, UNKNOWN]).collect(),
        }
    }
}

/// The label axes of a table's public domain, by dimension: what `verify` expects a DP table to
/// hold, given its name and window.
pub(crate) fn domain_labels(table: &str, first: u16, last: u16) -> Option<Vec<Vec<String>>> {
    let spec = specs().find(|s| s.name == table)?;
    Some(
        spec.dims
            .iter()
            .map(|d| {
                d.public_codes(spec.unit, first, last)
                    .into_iter()
                    .map(|c| d.label(c))
                    .collect()
            })
            .collect(),
    )
}

/// Every table's bounded counts under `bound` (`counts` in the order of [`specs`]).
pub(super) fn bounded(bound: &Bound, counts: &[Counts]) -> Vec<Bounded> {
    specs()
        .zip(counts)
        .map(|(spec, counts)| {
            let axes: Vec<Vec<u16>> = spec
                .dims
                .iter()
                .map(|d| d.public_codes(spec.unit, bound.first, bound.last))
                .collect();
            let mut interior = Vec::new();
            super::product(&axes, &mut |key| {
                let labels = (0..spec.dims.len())
                    .map(|d| spec.dims[d].label(key[d]))
                    .collect();
                let packed = super::tally::pack(super::codes_of(key));
                interior.push((labels, counts.get(&packed).copied().unwrap_or(0)));
            });
            Bounded {
                spec,
                interior,
                sensitivity: bound.sensitivity(spec.unit),
            }
        })
        .collect()
}

/// The tables with noise: ε split evenly over them (what each gets, in millionths, is in the
/// result), each table's noise drawn from a ChaCha20 stream seeded by `seed(table name)`.
pub(crate) fn noisy(
    tables: &[Bounded],
    epsilon_micro: u64,
    seed: impl Fn(&str) -> [u8; 32],
) -> (Vec<Published>, Vec<Budgeted>) {
    let share = epsilon_micro / tables.len().max(1) as u64;
    tables
        .iter()
        .map(|t| {
            let budget = Budgeted {
                sensitivity: t.sensitivity,
                epsilon_micro: share,
            };
            let dims: Vec<String> = t.spec.dims.iter().map(|d| d.name().to_owned()).collect();
            let mut rng = ChaCha20Rng::from_seed(seed(t.spec.name));
            let published = release(
                t.spec.name,
                t.spec.population,
                &dims,
                &t.interior,
                budget,
                &mut rng,
            );
            (published, budget)
        })
        .unzip()
}

/// The number of interior labels in each dimension of `table`.
pub(super) fn axis_lengths(table: &Published) -> Vec<u64> {
    (0..table.dims.len())
        .map(|d| {
            let labels: std::collections::BTreeSet<&str> = table
                .cells
                .iter()
                .map(|c| c.key[d].as_str())
                .filter(|l| *l != TOTAL)
                .collect();
            labels.len() as u64
        })
        .collect()
}

/// How many interior cells a published cell sums (1 for an interior cell), given its table's
/// `axis_lengths`.
pub(super) fn cells_summed(lengths: &[u64], key: &[String]) -> u64 {
    key.iter()
        .zip(lengths)
        .filter(|(label, _)| *label == TOTAL)
        .map(|(_, &n)| n)
        .product()
}

/// The manifest's facts of the DP tables.
pub(crate) fn privacy_facts(
    published: &[Published],
    budgets: &[Budgeted],
    bound: &Bound,
) -> Privacy {
    published
        .iter()
        .zip(budgets)
        .map(|(t, b)| {
            let scale = b.scale_f64();
            let facts = DpTableFacts {
                cells: t.cells.len(),
                contribution_bound: ContributionBound {
                    max_certificates: bound.max_certificates,
                    max_months: bound.max_months,
                    max_certificate_months: bound.max_certificate_months,
                },
                dims: t.dims.clone(),
                epsilon: b.epsilon_micro as f64 / MICRO as f64,
                kind: DpTableKind::DpTable,
                margin_of_error_95: b.margin_of_error(1),
                mechanism: MECHANISM.to_owned(),
                population: t.population.clone(),
                scale,
                sensitivity: b.sensitivity,
                totals: totals_file_name(&t.name),
            };
            (file_name(&t.name), FileFacts::DpTable(facts))
        })
        .collect()
}

/// The CSV column with each count's 95 % margin of error.
pub(crate) const MARGIN: &str = "margin_of_error_95";

/// Each table as its two CSV files (with the margin of error of every count) and the data
/// dictionary.
pub(crate) fn write(
    export: &mut Export,
    published: &[Published],
    budgets: &[Budgeted],
    bound: &Bound,
) -> Result<()> {
    super::write_tables(export, published, Some(budgets))?;
    export.write(
        export::DICTIONARY,
        dictionary(published, budgets, bound)?.as_bytes(),
    )
}

fn dictionary(published: &[Published], budgets: &[Budgeted], bound: &Bound) -> Result<String> {
    let total: u64 = budgets.iter().map(|b| b.epsilon_micro).sum();
    let mut md = format!(
        "# Data dictionary: differentially private statistics\n\n\
         Every table is published as two files in long format (RFC 4180 CSV, UTF-8, header \
         row): `NAME.csv` holds the interior cells, one per combination of the dimensions' \
         codes; `NAME_totals.csv` holds the marginal totals (`TOTAL` in each dimension summed \
         over) and the grand total. Each dimension has a code column (the prefecture also its \
         English and Japanese names), then `count`, `status` (always `published`: nothing is \
         withheld) and `{MARGIN}`. `datapackage.json` describes the same columns for \
         software.\n\n\
         Privacy guarantee: the release as a whole is ε-differentially private at the level of \
         the subscriber, ε = {eps}: whatever one subscriber's certificates are, every possible \
         set of these tables is at most e^ε times more likely with them than without them. Each \
         table spends an equal share of ε (below).\n\n\
         - Every cell of the public domain is published: every month of the release window \
         ({first} to {last}), every category code, whether or not anything was counted there. \
         Nothing is suppressed.\n\
         - A subscriber counts with at most {c} certificates per table, as active in at most \
         {m} months, and a certificate as active at most at {cm} month ends; certificates and \
         months beyond that are left out, chosen the same way in every run.\n\
         - Each interior count has discrete Laplace noise added, negative results are set to 0, \
         and the totals are sums of the published cells, so counts are non-negative integers \
         and add up. Counts near zero are biased upwards by the clamping.\n\
         - Each table has noise of its own: the six `issued_*` tables count the same \
         certificates, yet their totals differ by their noise (nothing is suppressed in any).\n\
         - `{MARGIN}`: the noise exceeds this in 5 % of cells (for a total, by the normal \
         approximation over the cells it sums), before clamping.\n",
        eps = total as f64 / MICRO as f64,
        first = Dim::Month.label(bound.first),
        last = Dim::Month.label(bound.last),
        c = bound.max_certificates,
        m = bound.max_months,
        cm = bound.max_certificate_months,
    );
    for (table, budget) in published.iter().zip(budgets) {
        super::dictionary_heading(&mut md, &table.name);
        let _ = writeln!(
            md,
            "ε = {}; one subscriber moves the interior cells by at most {} in total (L1 \
             sensitivity); 95 % margin of error of one cell: ±{}.\n",
            budget.epsilon_micro as f64 / MICRO as f64,
            budget.sensitivity,
            budget.margin_of_error(1),
        );
        md.push_str("| column | type | meaning |\n|---|---|---|\n");
        for field in super::resource(table, &super::dims_of(table)?, false, true).fields {
            let _ = writeln!(
                md,
                "| `{}` | {} | {} |",
                field.name,
                field.type_text(),
                field.description
            );
        }
    }
    Ok(md)
}
