//! One scan group from scan to published exports: the sinks its tasks need, the scan, then each
//! task's export (the research extract through the k-anonymity gate, the aggregate tables
//! after cell suppression) committed with its manifest.

use std::thread::JoinHandle;
use std::time::Instant;

use chrono::{DateTime, Utc};
use tokio_postgres::Client;

use crate::config::{Config, DpConfig, ReleaseMode, StatisticsMode, TaskConfig, TaskKind};
use crate::db::ConnectOptions;
use crate::error::{Error, Result};
use crate::job::TaskReport;
use crate::job::budget::{self, Spending, TableSpend};
use crate::job::due::group_key;
use crate::job::ledger::{self, RunStats};
use crate::job::scan::{Sinks, scan_snapshot};
use crate::outputs::aggregate::dp::{self as dp_tables, Bounded};
use crate::outputs::aggregate::{self, Aggregates, Bound};
use crate::outputs::export::{self, Export};
use crate::outputs::extract::{self, ExtractSpill};
use crate::outputs::manifest::{DpPolicy, Manifest, PolicyFacts, Privacy};
use crate::outputs::report as statistics_report;
use crate::phase::timed;
use crate::privacy::dp::MICRO;
use crate::privacy::{self, Published};
use crate::transform::pseudonymize::{Key, Pseudonymizer};
use crate::transform::record::NQI;

/// The tasks one scan serves and what they share.
pub(super) struct ScanGroup<'a> {
    pub(super) config: &'a Config,
    pub(super) connect: &'a ConnectOptions,
    /// At most one research extract, and aggregates tasks.
    pub(super) tasks: &'a [&'a TaskConfig],
    /// Loaded when a task of the run needs it.
    pub(super) managed: Option<&'a Key>,
    pub(super) dry_run: bool,
    pub(super) started: DateTime<Utc>,
}

/// What the scan left for the group's tasks to publish from.
struct TaskOutputs<'a> {
    spill: &'a mut Option<ExtractSpill>,
    statistics: &'a mut Statistics,
    pseudonymizer: &'a Pseudonymizer,
    snapshot: &'a str,
}

/// What one task's export says about itself in the ledger and its manifest.
struct ExportFacts {
    privacy: Privacy,
    key_id: String,
    /// The extract's released levels, which later releases under the key must not undercut.
    levels: Option<Vec<(String, String)>>,
    /// The manifest's `policy.mode`: the release mode, or the kind for aggregate statistics
    /// (`dp` for differentially private ones).
    mode: &'static str,
    /// A differentially private release's budget facts and what it spends.
    dp: Option<DpOutcome>,
}

/// What a differentially private release records and shows besides its files.
struct DpOutcome {
    policy: DpPolicy,
    spends: Vec<TableSpend>,
    /// The noisy tables, for the statistics report.
    tables: Vec<Published>,
}

impl ScanGroup<'_> {
    /// Scans once and publishes every task's export; `reports` holds one report per task, in
    /// order, whose run ids name the exports. A failed scan is every task's failure and is
    /// returned; a task that fails after the scan fails alone, and `published` is told of each
    /// task as soon as its outcome is known, so an export already published stays a success
    /// whatever a later task of the scan does.
    pub(super) async fn scan_and_publish(
        &self,
        reports: &mut [TaskReport],
        client: &Client,
        clock: Instant,
        mut published: impl AsyncFnMut(&mut TaskReport),
    ) -> Result<()> {
        let pseudonymizer = group_key(self.managed, self.tasks, &reports[0].run_id)?;
        let sinks = self.sinks(&pseudonymizer)?;
        let scanned = scan_snapshot(
            self.connect,
            pseudonymizer.clone(),
            sinks,
            self.config.database.yield_cpu,
        )
        .await?;
        let Sinks {
            extract: mut spill,
            aggregates,
        } = scanned.sinks;
        let bounds = aggregates
            .as_ref()
            .map(|a| self.dp_bounds(a))
            .unwrap_or_default();
        let suppress = self
            .tasks
            .iter()
            .any(|t| matches!(t.kind, TaskKind::Aggregates) && t.dp.is_none());
        let mut statistics = Statistics::start(aggregates, self.table_rules(), suppress, bounds);
        for (task, report) in self.tasks.iter().zip(reports.iter_mut()) {
            report.stats.rows_read = scanned.rows;
            report.stats.snapshot = Some(scanned.snapshot.clone());
            let outputs = TaskOutputs {
                spill: &mut spill,
                statistics: &mut statistics,
                pseudonymizer: &pseudonymizer,
                snapshot: &scanned.snapshot,
            };
            if let Err(e) = self.publish_task(task, report, outputs, client).await {
                report.fail(&e, clock);
            }
            report.duration = clock.elapsed();
            published(report).await;
        }
        Ok(())
    }

    /// One task's export from the scan's outputs, committed unless this is a dry run; an
    /// extract's levels are recorded on `client` so later releases under the key cannot undercut
    /// them.
    async fn publish_task(
        &self,
        task: &TaskConfig,
        report: &mut TaskReport,
        outputs: TaskOutputs<'_>,
        client: &Client,
    ) -> Result<()> {
        let mut export = if self.dry_run {
            None
        } else {
            Some(Export::begin(
                &self.config.export.root,
                &task.name,
                &report.run_id,
            )?)
        };
        let mut facts = match &task.kind {
            TaskKind::ResearchExtract { mode, .. } => {
                let spill = outputs.spill.take().ok_or_else(|| {
                    Error::Other("a scan group holds two research extracts".into())
                })?;
                let pinned = ledger::released_levels(
                    client,
                    &task.name,
                    outputs.pseudonymizer.key_id(),
                    extract::FILE_NAME,
                )
                .await?;
                self.publish_extract(
                    spill,
                    *mode,
                    export.as_mut(),
                    outputs.pseudonymizer,
                    &mut report.stats,
                    &extract::minimum_levels(&pinned),
                )?
            }
            TaskKind::Aggregates => match &task.dp {
                Some(config) => {
                    let index = self.dp_index(task);
                    let (bound, tables) = &outputs.statistics.tables()?.1[index];
                    let release = DpRelease {
                        task,
                        config,
                        pseudonymizer: outputs.pseudonymizer,
                    };
                    release
                        .publish(
                            bound,
                            tables,
                            export.as_mut(),
                            &mut report.stats,
                            client,
                            self.started,
                        )
                        .await?
                }
                None => self.publish_aggregates(
                    &outputs.statistics.tables()?.0,
                    export.as_mut(),
                    &mut report.stats,
                )?,
            },
            TaskKind::Retention { .. } => {
                return Err(Error::Other(format!(
                    "task {}: retention publishes no scan",
                    task.name
                )));
            }
        };
        report.stats.key_id = Some(facts.key_id.clone());
        report.stats.details = serde_json::to_value(&facts.privacy)
            .map_err(|e| Error::Other(format!("privacy facts: {e}")))?;
        if let Some(mut export) = export {
            // Recorded before the export appears: a level published but not recorded could be
            // undercut by the next release, while one recorded for an export that then failed
            // only keeps later releases coarser.
            if let Some(levels) = &facts.levels {
                ledger::record_levels(
                    client,
                    &report.run_id,
                    &task.name,
                    &facts.key_id,
                    extract::FILE_NAME,
                    levels,
                )
                .await?;
            }
            if let Some(DpOutcome { policy, spends, .. }) = &facts.dp {
                let spending = Spending {
                    run_id: &report.run_id,
                    task: &task.name,
                    key_id: &facts.key_id,
                    release: &policy.release,
                    window: &policy.window,
                    mechanism: &policy.mechanism,
                    tables: spends,
                    repeat_of: policy.repeat_of.as_deref(),
                    at: self.started,
                };
                budget::record(client, &spending).await?;
            }
            let noisy = facts.dp.as_mut().map(|d| std::mem::take(&mut d.tables));
            let manifest = self.manifest(task, &report.run_id, outputs.snapshot, facts);
            if let TaskKind::Aggregates = task.kind {
                let tables = match &noisy {
                    Some(tables) => tables,
                    None => &outputs.statistics.tables()?.0,
                };
                statistics_report::write(&mut export, &manifest, tables)?;
            }
            let dir = export.commit(manifest)?;
            report.files = std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
            report.stats.export_dir = Some(dir.display().to_string());
        }
        Ok(())
    }

    /// The contribution bound and window of each differentially private task of the group,
    /// in task order.
    fn dp_bounds(&self, aggregates: &Aggregates) -> Vec<Bound> {
        self.tasks
            .iter()
            .filter_map(|t| t.dp.as_ref())
            .map(|c| {
                let (first, last) = aggregates.window(c.window_months);
                Bound {
                    max_certificates: c.max_certificates,
                    max_months: c.max_months,
                    max_certificate_months: c.max_certificate_months,
                    first,
                    last,
                }
            })
            .collect()
    }

    /// Where `task`'s bound is in [`Self::dp_bounds`].
    fn dp_index(&self, task: &TaskConfig) -> usize {
        self.tasks
            .iter()
            .filter(|t| t.dp.is_some())
            .position(|t| t.name == task.name)
            .unwrap_or(0)
    }

    fn k(&self) -> u64 {
        u64::from(self.config.privacy.k)
    }

    fn table_rules(&self) -> privacy::Rules {
        privacy::Rules {
            k: self.k(),
            dominance: self.config.privacy.dominance,
        }
    }

    /// The sinks the group's tasks read from the scan. Spills live in hidden `.tmp-*`
    /// directories of the export root, not of a task's export directory, whose `.tmp-*` entries
    /// `Export::begin` removes as leftovers.
    fn sinks(&self, pseudonymizer: &Pseudonymizer) -> Result<Sinks> {
        let root = &self.config.export.root;
        let any = |wanted: fn(&TaskKind) -> bool| self.tasks.iter().any(|t| wanted(&t.kind));
        let extract_mode = self.tasks.iter().find_map(|t| match t.kind {
            TaskKind::ResearchExtract { mode, .. } => Some(mode),
            _ => None,
        });
        Ok(Sinks {
            extract: extract_mode
                .map(|mode| ExtractSpill::new(root, pseudonymizer.key_id(), mode, self.k()))
                .transpose()?,
            aggregates: any(|k| matches!(k, TaskKind::Aggregates))
                .then(|| Aggregates::new(root, self.started))
                .transpose()?,
        })
    }

    /// The research extract through the k-anonymity gate, with its data dictionary and, for an
    /// anonymous release, the public notice.
    fn publish_extract(
        &self,
        spill: ExtractSpill,
        mode: ReleaseMode,
        mut export: Option<&mut Export>,
        pseudonymizer: &Pseudonymizer,
        stats: &mut RunStats,
        minimum: &[u8; NQI],
    ) -> Result<ExportFacts> {
        let (facts, privacy) = spill.finish(
            export.as_deref_mut(),
            self.k(),
            self.config.privacy.max_suppression,
            self.config.privacy.subject_k.map(u64::from),
            minimum,
        )?;
        stats.rows_written = facts.rows_written;
        stats.rows_suppressed = facts.rows_suppressed;
        if let Some(export) = export {
            export.write(
                export::DICTIONARY,
                extract::dictionary(&facts, mode.as_str()).as_bytes(),
            )?;
            match mode {
                ReleaseMode::Anonymous => {
                    export.write(extract::NOTICE, extract::public_notice(&facts).as_bytes())?
                }
                ReleaseMode::Pseudonymous => {}
            }
        }
        Ok(ExportFacts {
            privacy,
            key_id: pseudonymizer.key_id().to_string(),
            levels: Some(facts.levels),
            mode: mode.as_str(),
            dp: None,
        })
    }

    /// The suppressed aggregate tables: they hold counts, no pseudonyms, so no key.
    fn publish_aggregates(
        &self,
        tables: &[Published],
        export: Option<&mut Export>,
        stats: &mut RunStats,
    ) -> Result<ExportFacts> {
        stats.cells_suppressed = tables
            .iter()
            .map(|p| (p.primary + p.secondary) as u64)
            .sum();
        stats.rows_written = tables.iter().map(|p| p.cells.len() as u64).sum();
        if let Some(export) = export {
            aggregate::write(export, tables)?;
        }
        Ok(ExportFacts {
            privacy: aggregate::privacy_facts(tables, self.table_rules()),
            key_id: "none".to_string(),
            levels: None,
            mode: TaskKind::Aggregates.as_str(),
            dp: None,
        })
    }

    fn manifest(
        &self,
        task: &TaskConfig,
        run_id: &str,
        snapshot: &str,
        facts: ExportFacts,
    ) -> Manifest {
        Manifest {
            run_id: run_id.to_string(),
            task: task.name.clone(),
            kind: task.kind.as_str().to_string(),
            created: self
                .started
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            snapshot: snapshot.to_string(),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            policy: PolicyFacts {
                k: self.k(),
                max_suppression: self.config.privacy.max_suppression,
                key_id: facts.key_id,
                mode: facts.mode.to_string(),
                config_sha256: self.config.sha256.clone(),
                dp: facts.dp.map(|d| d.policy),
            },
            privacy: facts.privacy,
            files: Vec::new(),
        }
    }
}

/// A differentially private statistics task's release.
struct DpRelease<'a> {
    task: &'a TaskConfig,
    config: &'a DpConfig,
    pseudonymizer: &'a Pseudonymizer,
}

impl DpRelease<'_> {
    /// The release's identity: a keyed digest of the task, its settings, its window and every
    /// bounded count. Equal inputs (a retry) give an equal digest, so equal noise.
    fn identity(&self, tables: &[Bounded], window: &[String; 2]) -> [u8; 32] {
        let c = self.config;
        let mut bytes = Vec::new();
        for part in [self.task.name.as_str(), &window[0], &window[1]] {
            bytes.extend(part.as_bytes());
            bytes.push(0x1f);
        }
        for n in [
            c.epsilon_micro,
            c.max_certificates.into(),
            c.max_months.into(),
            c.max_certificate_months.into(),
        ] {
            bytes.extend(n.to_le_bytes());
        }
        for table in tables {
            bytes.extend(table.name().as_bytes());
            bytes.push(0x1f);
            bytes.extend(table.interior.iter().flat_map(|(_, n)| n.to_le_bytes()));
        }
        self.pseudonymizer.derive("dp-release", &bytes)
    }

    /// Checks the budget (before anything is written), adds the noise, writes the tables.
    async fn publish(
        &self,
        bound: &Bound,
        tables: &[Bounded],
        export: Option<&mut Export>,
        stats: &mut RunStats,
        client: &Client,
        at: DateTime<Utc>,
    ) -> Result<ExportFacts> {
        let window = [
            aggregate::month_label(bound.first),
            aggregate::month_label(bound.last),
        ];
        let identity = self.identity(tables, &window);
        let release = hex::encode(&identity[..16]);
        let task = &self.task.name;
        let repeat_of = budget::recorded(client, task, &release).await?;
        let spent = budget::spent(client, task, self.config.budget_period, at).await?;
        if repeat_of.is_none() {
            budget::check(task, self.config, spent, at)?;
        }
        let seed = |table: &str| {
            let mut data = identity.to_vec();
            data.extend(table.as_bytes());
            self.pseudonymizer.derive("dp-noise", &data)
        };
        let (published, budgets) = dp_tables::noisy(tables, self.config.epsilon_micro, seed);
        stats.rows_written = published.iter().map(|p| p.cells.len() as u64).sum();
        if let Some(export) = export {
            dp_tables::write(export, &published, &budgets, bound)?;
        }
        let spends: Vec<TableSpend> = match repeat_of {
            Some(_) => Vec::new(),
            None => published
                .iter()
                .zip(&budgets)
                .map(|(p, b)| (p.name.clone(), b.epsilon_micro, b.sensitivity))
                .collect(),
        };
        let ratio = |micro: u64| micro as f64 / MICRO as f64;
        let policy = DpPolicy {
            epsilon: ratio(spends.iter().map(|s| s.1).sum()),
            epsilon_per_release: ratio(budgets.iter().map(|b| b.epsilon_micro).sum()),
            budget: ratio(self.config.budget_micro),
            budget_period: self.config.budget_period.as_str().to_owned(),
            spent_before: ratio(spent),
            mechanism: dp_tables::MECHANISM.to_owned(),
            release,
            repeat_of,
            window,
        };
        Ok(ExportFacts {
            privacy: dp_tables::privacy_facts(&published, &budgets, bound),
            key_id: self.pseudonymizer.key_id().to_string(),
            levels: None,
            mode: StatisticsMode::Dp.as_str(),
            dp: Some(DpOutcome {
                policy,
                spends,
                tables: published,
            }),
        })
    }
}

/// The aggregate tables, finished and suppressed on their own thread while the extract chooses
/// its levels and writes; waited for when the first aggregates task publishes. Beside the
/// suppressed tables, the bounded tables of each differentially private task.
struct Statistics {
    pending: Option<JoinHandle<Result<Finished>>>,
    tables: Finished,
}

type Finished = (Vec<Published>, Vec<(Bound, Vec<Bounded>)>);

impl Statistics {
    fn start(
        aggregates: Option<Aggregates>,
        rules: privacy::Rules,
        suppress: bool,
        bounds: Vec<Bound>,
    ) -> Statistics {
        Statistics {
            pending: aggregates.map(|a| {
                std::thread::spawn(move || {
                    let tallied = timed("statistics: tables", || a.finish(&bounds))?;
                    let suppressed = if suppress {
                        timed("statistics: suppression", || {
                            privacy::suppress_tables(&tallied.tables, rules)
                        })?
                    } else {
                        Vec::new()
                    };
                    Ok((
                        suppressed,
                        bounds.into_iter().zip(tallied.bounded).collect(),
                    ))
                })
            }),
            tables: (Vec::new(), Vec::new()),
        }
    }

    fn tables(&mut self) -> Result<&Finished> {
        if let Some(handle) = self.pending.take() {
            self.tables = handle
                .join()
                .map_err(|_| Error::Other("the statistics stage panicked".into()))??;
        }
        Ok(&self.tables)
    }
}
