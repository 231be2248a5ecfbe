//! manifest.json: what an export released, from which snapshot, under which policy and key,
//! and the privacy facts of every file. The run writes it and `verify` reads it with these
//! types.
//!
//! Struct fields are declared in the order they appear in the file. The privacy facts of a
//! file are written with their keys in alphabetical order, `kind` among them, so their
//! fields are declared alphabetically and `kind` is a field rather than a serde tag (a tag
//! would be written first).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Manifest {
    pub(crate) run_id: String,
    pub(crate) task: String,
    pub(crate) kind: String,
    pub(crate) created: String,
    pub(crate) snapshot: String,
    pub(crate) tool_version: String,
    pub(crate) policy: PolicyFacts,
    pub(crate) privacy: Privacy,
    pub(crate) files: Vec<FileEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PolicyFacts {
    pub(crate) k: u64,
    pub(crate) max_suppression: f64,
    /// The managed key's id, `anon-<run id>` for an anonymous release's one-off key, or `none`
    /// for statistics, which publish no pseudonyms.
    pub(crate) key_id: String,
    pub(crate) mode: String,
    pub(crate) config_sha256: String,
    /// The privacy budget of a differentially private release; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) dp: Option<DpPolicy>,
}

/// What a differentially private release spent, of which budget, over which months.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct DpPolicy {
    /// ε the release spends: the sum of its tables' (0 for a retry of a recorded release,
    /// which publishes the same counts again).
    pub(crate) epsilon: f64,
    /// ε of a release, as configured; `epsilon` is this unless the release is a retry.
    pub(crate) epsilon_per_release: f64,
    pub(crate) budget: f64,
    /// `forever`, or `year`: the calendar year (UTC) of the run.
    pub(crate) budget_period: String,
    /// ε the task had spent in the period before this release.
    pub(crate) spent_before: f64,
    pub(crate) mechanism: String,
    /// Keyed digest of the release's inputs: equal for retries of one release.
    pub(crate) release: String,
    /// The run that first published this release, when this run is a retry of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) repeat_of: Option<String>,
    /// First and last month (`YYYY-MM`) of the release window.
    pub(crate) window: [String; 2],
}

/// Per CSV file name, what protects it.
pub(crate) type Privacy = BTreeMap<String, FileFacts>;

/// The privacy facts of one CSV file; `kind` tells the two apart.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum FileFacts {
    Microdata(MicrodataFacts),
    Table(TableFacts),
    DpTable(DpTableFacts),
}

/// A k-anonymous extract: one row per record, generalized and suppressed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct MicrodataFacts {
    pub(crate) achieved_k: u64,
    /// Per quasi-identifier, the finest level the search could choose.
    pub(crate) finest_levels_searched: BTreeMap<String, String>,
    pub(crate) information_loss: f64,
    pub(crate) k: u64,
    pub(crate) kind: MicrodataKind,
    /// Per quasi-identifier, the level released.
    pub(crate) levels: BTreeMap<String, String>,
    pub(crate) pseudonym_columns: Vec<String>,
    pub(crate) quasi_identifiers: Vec<String>,
    pub(crate) rows_in: u64,
    pub(crate) rows_released: u64,
    pub(crate) rows_suppressed: u64,
    pub(crate) subjects: SubjectFacts,
}

/// The subjects (subscribers) behind a microdata file's rows.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct SubjectFacts {
    /// Subjects as the file alone shows them: rows linked through any released pseudonym
    /// column other than the certificate's are one subject.
    pub(crate) in_file: u64,
    /// 1 / the fewest subjects in the file sharing one profile (the sorted quasi-identifier
    /// rows of a subject); 0 for an empty file.
    pub(crate) max_reidentification_risk: f64,
    /// Subjects in the file whose profile fewer than k subjects share.
    pub(crate) profile_below_k: u64,
    /// `privacy.subject_k` and what enforcing it removed; absent when it is not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) subject_k: Option<SubjectK>,
    /// Subscribers with some rows released and some suppressed.
    pub(crate) subscribers_partly_suppressed: u64,
    /// Subscribers with at least one row released.
    pub(crate) subscribers_released: u64,
    /// Subscribers in the scanned snapshot.
    pub(crate) subscribers_scanned: u64,
    /// Subscribers all of whose rows were suppressed.
    pub(crate) subscribers_suppressed: u64,
}

/// Subjects whose profile fewer than `k` subjects share are removed whole from the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SubjectK {
    pub(crate) k: u64,
    /// Released rows removed with them, counted in the file's `rows_suppressed`.
    pub(crate) rows_suppressed: u64,
    pub(crate) subjects_suppressed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum MicrodataKind {
    Microdata,
}

/// A table of counts with marginal totals and suppressed cells.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TableFacts {
    /// Cells of the table: the rows of its interior and totals files together.
    pub(crate) cells: usize,
    pub(crate) dims: Vec<String>,
    /// `privacy.dominance`: the largest share one subscriber may hold of a published count
    /// (absent in manifests written before the contributor rules).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) dominance: Option<f64>,
    pub(crate) k: u64,
    pub(crate) kind: TableKind,
    /// What the table counts; tables of one population share margins.
    pub(crate) population: String,
    pub(crate) primary_suppressed: usize,
    pub(crate) secondary_suppressed: usize,
    /// The suppressed cells by the rule that hid them (absent in manifests written before the
    /// contributor rules).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) suppressed_by_rule: Option<SuppressedByRule>,
    /// The file holding the table's marginal totals and grand total; the facts are listed under
    /// the name of the file holding its interior cells.
    pub(crate) totals: String,
}

/// Suppressed cells of a table by rule; the first three make up `primary_suppressed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SuppressedByRule {
    /// Counts of at least k from one subscriber holding more than `dominance` of them.
    pub(crate) dominance: usize,
    /// Counts of at least k from fewer than k distinct subscribers.
    pub(crate) few_subscribers: usize,
    /// Hidden so that no primary-suppressed cell can be worked out.
    pub(crate) secondary: usize,
    /// Counts in 1..k.
    pub(crate) small_count: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum TableKind {
    Table,
}

impl FileFacts {
    /// The file of a table's marginal totals, for the facts of a table.
    pub(crate) fn totals(&self) -> Option<&String> {
        match self {
            FileFacts::Table(t) => Some(&t.totals),
            FileFacts::DpTable(t) => Some(&t.totals),
            FileFacts::Microdata(_) => None,
        }
    }
}

/// A table of noisy counts under differential privacy: every cell of its public domain
/// published, none suppressed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct DpTableFacts {
    pub(crate) cells: usize,
    pub(crate) contribution_bound: ContributionBound,
    pub(crate) dims: Vec<String>,
    /// ε this table spends.
    pub(crate) epsilon: f64,
    pub(crate) kind: DpTableKind,
    /// 95 % margin of error of one interior cell's noise.
    pub(crate) margin_of_error_95: u64,
    pub(crate) mechanism: String,
    pub(crate) population: String,
    /// Scale of the noise: sensitivity / ε.
    pub(crate) scale: f64,
    /// L1 sensitivity of the interior cells to one subscriber.
    pub(crate) sensitivity: u64,
    /// The file holding the table's marginal totals and grand total.
    pub(crate) totals: String,
}

/// What one subscriber may contribute to a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ContributionBound {
    pub(crate) max_certificates: u32,
    pub(crate) max_months: u32,
    pub(crate) max_certificate_months: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum DpTableKind {
    DpTable,
}

/// One file of an export, as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileEntry {
    pub(crate) name: String,
    pub(crate) rows: Option<u64>,
    pub(crate) bytes: u64,
    pub(crate) sha256: String,
}

#[cfg(test)]
impl Manifest {
    /// A manifest with no privacy facts, for tests that add their own.
    pub(crate) fn example() -> Manifest {
        Manifest {
            run_id: "r1".into(),
            task: "t".into(),
            kind: "research_extract".into(),
            created: "2026-11-01T03:00:00Z".into(),
            snapshot: "1:1:".into(),
            tool_version: "0".into(),
            policy: PolicyFacts {
                k: 5,
                max_suppression: 0.05,
                key_id: "k1".into(),
                mode: "pseudonymous".into(),
                config_sha256: "00".into(),
                dp: None,
            },
            privacy: Privacy::new(),
            files: vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn levels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|&(q, l)| (q.to_owned(), l.to_owned()))
            .collect()
    }

    fn strings(names: &[&str]) -> Vec<String> {
        names.iter().map(|&n| n.to_owned()).collect()
    }

    /// The layout a reader of manifest.json relies on: top-level fields in declaration order,
    /// privacy facts by file name and then by key, `kind` among them.
    #[test]
    fn writes_the_published_layout_and_reads_it_back() {
        let mut manifest = Manifest::example();
        manifest.privacy.insert(
            "research_extract.csv".into(),
            FileFacts::Microdata(MicrodataFacts {
                achieved_k: 6,
                finest_levels_searched: levels(&[("region", "prefecture"), ("issued", "month")]),
                information_loss: 0.25,
                k: 5,
                kind: MicrodataKind::Microdata,
                levels: levels(&[("region", "*"), ("issued", "year")]),
                pseudonym_columns: strings(&["certificate"]),
                quasi_identifiers: strings(&["region", "issued"]),
                rows_in: 10,
                rows_released: 9,
                rows_suppressed: 1,
                subjects: SubjectFacts {
                    in_file: 9,
                    max_reidentification_risk: 0.2,
                    profile_below_k: 0,
                    subject_k: Some(SubjectK {
                        k: 5,
                        rows_suppressed: 1,
                        subjects_suppressed: 1,
                    }),
                    subscribers_partly_suppressed: 1,
                    subscribers_released: 4,
                    subscribers_scanned: 4,
                    subscribers_suppressed: 0,
                },
            }),
        );
        manifest.privacy.insert(
            "issued_by_month.csv".into(),
            FileFacts::Table(TableFacts {
                cells: 3,
                dims: strings(&["month"]),
                dominance: Some(0.5),
                k: 5,
                kind: TableKind::Table,
                population: "issued_certificates".into(),
                primary_suppressed: 1,
                secondary_suppressed: 0,
                suppressed_by_rule: Some(SuppressedByRule {
                    dominance: 1,
                    few_subscribers: 0,
                    secondary: 0,
                    small_count: 0,
                }),
                totals: "issued_by_month_totals.csv".into(),
            }),
        );
        manifest.files.push(FileEntry {
            name: "research_extract.csv".into(),
            rows: Some(9),
            bytes: 120,
            sha256: "ab".into(),
        });
        let json = String::from_utf8(serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
        let want = r#"{
  "run_id": "r1",
  "task": "t",
  "kind": "research_extract",
  "created": "2026-11-01T03:00:00Z",
  "snapshot": "1:1:",
  "tool_version": "0",
  "policy": {
    "k": 5,
    "max_suppression": 0.05,
    "key_id": "k1",
    "mode": "pseudonymous",
    "config_sha256": "00"
  },
  "privacy": {
    "issued_by_month.csv": {
      "cells": 3,
      "dims": [
        "month"
      ],
      "dominance": 0.5,
      "k": 5,
      "kind": "table",
      "population": "issued_certificates",
      "primary_suppressed": 1,
      "secondary_suppressed": 0,
      "suppressed_by_rule": {
        "dominance": 1,
        "few_subscribers": 0,
        "secondary": 0,
        "small_count": 0
      },
      "totals": "issued_by_month_totals.csv"
    },
    "research_extract.csv": {
      "achieved_k": 6,
      "finest_levels_searched": {
        "issued": "month",
        "region": "prefecture"
      },
      "information_loss": 0.25,
      "k": 5,
      "kind": "microdata",
      "levels": {
        "issued": "year",
        "region": "*"
      },
      "pseudonym_columns": [
        "certificate"
      ],
      "quasi_identifiers": [
        "region",
        "issued"
      ],
      "rows_in": 10,
      "rows_released": 9,
      "rows_suppressed": 1,
      "subjects": {
        "in_file": 9,
        "max_reidentification_risk": 0.2,
        "profile_below_k": 0,
        "subject_k": {
          "k": 5,
          "rows_suppressed": 1,
          "subjects_suppressed": 1
        },
        "subscribers_partly_suppressed": 1,
        "subscribers_released": 4,
        "subscribers_scanned": 4,
        "subscribers_suppressed": 0
      }
    }
  },
  "files": [
    {
      "name": "research_extract.csv",
      "rows": 9,
      "bytes": 120,
      "sha256": "ab"
    }
  ]
}"#;
        assert_eq!(json, want);
        let read: Manifest = serde_json::from_str(&json).unwrap();
        assert!(matches!(
            read.privacy["research_extract.csv"],
            FileFacts::Microdata(MicrodataFacts {
                rows_released: 9,
                ..
            })
        ));
        assert!(matches!(
            read.privacy["issued_by_month.csv"],
            FileFacts::Table(TableFacts { cells: 3, .. })
        ));
        assert_eq!(read.files, manifest.files);
    }

    /// A DP table's facts read back as a DP table, not as a suppressed one, and the release's
    /// budget facts survive the trip.
    #[test]
    fn dp_facts_read_back_as_what_they_are() {
        let mut manifest = Manifest::example();
        manifest.policy.mode = "dp".into();
        manifest.policy.dp = Some(DpPolicy {
            epsilon: 0.0,
            epsilon_per_release: 1.0,
            budget: 12.0,
            budget_period: "year".into(),
            spent_before: 3.0,
            mechanism: "discrete_laplace".into(),
            release: "ab".into(),
            repeat_of: Some("r0".into()),
            window: ["2024-11".into(), "2026-10".into()],
        });
        let facts = DpTableFacts {
            cells: 7,
            contribution_bound: ContributionBound {
                max_certificates: 10,
                max_months: 24,
                max_certificate_months: 14,
            },
            dims: vec!["month".into()],
            epsilon: 0.1,
            kind: DpTableKind::DpTable,
            margin_of_error_95: 30,
            mechanism: "discrete_laplace".into(),
            population: "new_subscribers".into(),
            scale: 10.0,
            sensitivity: 1,
            totals: "subscribers_new_by_month_totals.csv".into(),
        };
        manifest.privacy.insert(
            "subscribers_new_by_month.csv".into(),
            FileFacts::DpTable(facts.clone()),
        );
        let json = serde_json::to_string(&manifest).unwrap();
        assert!(json.contains(r#""kind":"dp_table""#), "{json}");
        let read: Manifest = serde_json::from_str(&json).unwrap();
        assert_eq!(read.policy.dp, manifest.policy.dp);
        match &read.privacy["subscribers_new_by_month.csv"] {
            FileFacts::DpTable(read) => assert_eq!(read, &facts),
            other => panic!("read back as {other:?}"),
        }
    }
}
