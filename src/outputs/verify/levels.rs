//! An extract's released levels against those the bookkeeping schema recorded, when `verify`
//! is given a database: releases of a task under one key share their pseudonyms, so one that
//! publishes a quasi-identifier finer than an earlier release did, joined with it, undoes k.
//! The manifest must also state the levels its own run recorded.

use std::collections::BTreeMap;

use super::Failures;
use crate::outputs::export::MANIFEST;
use crate::outputs::extract::minimum_levels;
use crate::transform::generalize::Quasi;

/// What the bookkeeping schema holds for one extract file of an export.
#[derive(Debug, Clone, Default)]
pub(crate) struct Recorded {
    /// `(quasi-identifier, level)` recorded for the export's own run.
    pub(crate) own: Vec<(String, String)>,
    /// Those of the runs of its task under its key that started before it.
    pub(crate) earlier: Vec<(String, String)>,
}

/// Compares the `released` levels of extract `name` (the manifest's) with `recorded`.
pub(super) fn check(
    name: &str,
    run_id: &str,
    released: &BTreeMap<String, String>,
    recorded: &Recorded,
    out: &mut Failures,
) {
    if recorded.own.is_empty() {
        out.push(format!(
            "{name}: the database records no levels for run {run_id}, so they cannot be \
             checked against earlier releases"
        ));
    } else if recorded.own.iter().cloned().collect::<BTreeMap<_, _>>() != *released {
        out.push(format!(
            "{name}: the levels {MANIFEST} states differ from those the database recorded for \
             run {run_id}"
        ));
    }
    let floor = minimum_levels(&recorded.earlier);
    for (q, &floor) in Quasi::ALL.iter().zip(&floor) {
        let level = released.get(q.name());
        let Some(at) = level.and_then(|l| q.levels().iter().position(|known| known == l)) else {
            out.push(format!(
                "{name}: {MANIFEST} states no level certanon knows for {}",
                q.name()
            ));
            continue;
        };
        if (at as u8) < floor {
            out.push(format!(
                "{name}: {} is released at {}, finer than {} an earlier release of the task \
                 under its key published",
                q.name(),
                q.levels()[at],
                q.levels()[usize::from(floor)]
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(levels: &[(&str, &str)]) -> Vec<(String, String)> {
        levels
            .iter()
            .map(|&(q, l)| (q.to_owned(), l.to_owned()))
            .collect()
    }

    /// Every quasi-identifier at its finest level but those given.
    fn released(coarser: &[(&str, &str)]) -> BTreeMap<String, String> {
        let mut levels: BTreeMap<String, String> = Quasi::ALL
            .iter()
            .map(|q| (q.name().to_owned(), q.levels()[0].to_owned()))
            .collect();
        levels.extend(pairs(coarser));
        levels
    }

    fn lines(released: &BTreeMap<String, String>, recorded: &Recorded) -> Vec<String> {
        let mut out = Failures::default();
        check("e.csv", "r2", released, recorded, &mut out);
        out.lines
    }

    #[test]
    fn a_release_finer_than_an_earlier_one_under_the_key_fails() {
        let now = released(&[("issued", "month"), ("region", "*")]);
        let recorded = |earlier: &[(&str, &str)]| Recorded {
            own: now.clone().into_iter().collect(),
            earlier: pairs(earlier),
        };
        assert_eq!(lines(&now, &recorded(&[])), Vec::<String>::new());
        assert_eq!(
            lines(
                &now,
                &recorded(&[("issued", "month"), ("region", "region")])
            ),
            Vec::<String>::new(),
            "coarser than or as fine as earlier releases"
        );
        let finer = lines(
            &now,
            &recorded(&[("issued", "quarter"), ("issued", "month")]),
        );
        assert_eq!(finer.len(), 1, "{finer:?}");
        assert!(
            finer[0].contains("issued is released at month, finer than quarter"),
            "{finer:?}"
        );
    }

    #[test]
    fn levels_other_than_those_recorded_for_the_run_or_unknown_ones_fail() {
        let now = released(&[("issued", "year")]);
        let other = Recorded {
            own: released(&[("issued", "month")]).into_iter().collect(),
            earlier: Vec::new(),
        };
        assert!(lines(&now, &other)[0].contains("differ from those the database recorded"));
        let unrecorded = lines(&now, &Recorded::default());
        assert!(
            unrecorded[0].contains("records no levels for run r2"),
            "{unrecorded:?}"
        );
        let mut unknown = now.clone();
        unknown.insert("issued".into(), "fortnight".into());
        let recorded = Recorded {
            own: unknown.clone().into_iter().collect(),
            earlier: Vec::new(),
        };
        assert_eq!(
            lines(&unknown, &recorded),
            ["e.csv: manifest.json states no level certanon knows for issued"]
        );
    }
}
