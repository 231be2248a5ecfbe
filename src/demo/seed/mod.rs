//! Deterministic, realistic synthetic data for the reference schema, loaded with binary COPY.
//!
//! The data is generated in chunks of a fixed number of certificates, each from its own
//! ChaCha stream keyed by (seed, chunk index), so rayon can build chunks in parallel while the
//! previous batch is being copied, and the rows are the same whatever the thread timing. The
//! same seed and `as_of` always give byte-identical tables; the wall clock is never read.

mod chunk;
mod copy;
mod dist;
mod foreign;
mod japan;
mod person;
mod tail;
mod text;

use chrono::{DateTime, TimeZone, Utc};
use rayon::prelude::*;
use tokio_postgres::{Client, Transaction};

use crate::error::{DbContext, Error, Result};
use chunk::{CHUNK_CERTIFICATES, Chunk, Context};
use copy::{Ids, write_batch, write_operators};
use tail::Tail;

/// Number of designated operators (resellers) the seed creates.
pub(crate) const OPERATORS: u64 = 30;
/// Chunks generated per batch; each batch is one COPY per table.
const BATCH_CHUNKS: u64 = 16;
/// The reference tables the seed fills, parents first.
pub const TABLES: [&str; 7] = [
    "designated_operators",
    "subscribers",
    "acme_accounts",
    "applications",
    "certificates",
    "revocations",
    "legal_holds",
];

#[derive(Debug, Clone)]
pub struct SeedOptions {
    /// Exact number of certificates to create (subscribers and the rest follow from it).
    pub certificates: u64,
    pub seed: u64,
    /// Latest issue time; nothing happens after it.
    pub as_of: DateTime<Utc>,
}

impl Default for SeedOptions {
    fn default() -> Self {
        SeedOptions {
            certificates: 10_000,
            seed: 1,
            as_of: default_as_of(),
        }
    }
}

/// 2026-10-31T00:00:00Z: a fixed `as_of`, so the same seed gives the same rows on any day.
pub(crate) fn default_as_of() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 31, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeedSummary {
    pub subscribers: u64,
    pub applications: u64,
    pub acme_accounts: u64,
    pub certificates: u64,
    pub revocations: u64,
    pub legal_holds: u64,
    pub operators: u64,
}

/// Fills the (empty) `certinfo` tables in one transaction.
pub async fn seed(client: &mut Client, opts: &SeedOptions) -> Result<SeedSummary> {
    let as_of = opts.as_of.timestamp();
    let earliest = chunk::START + 60 * chunk::DAY;
    let latest = Utc
        .with_ymd_and_hms(2100, 1, 1, 0, 0, 0)
        .single()
        .map_or(i64::MAX, |t| t.timestamp());
    if !(earliest..latest).contains(&as_of) {
        return Err(Error::Usage(format!(
            "seed --as-of must be between 2015-03-02 and 2100-01-01 (certificates start 2015-01-01), got {}",
            opts.as_of.to_rfc3339()
        )));
    }
    let tx = client
        .transaction()
        .await
        .during("starting the seed transaction")?;
    ensure_empty(&tx).await?;
    let rebuild = defer_indexes_and_foreign_keys(&tx).await?;

    let operators = chunk::operators(opts.seed, OPERATORS as usize);
    write_operators(&tx, &operators).await?;
    let mut summary = SeedSummary {
        operators: OPERATORS,
        ..SeedSummary::default()
    };
    let tail = Tail::plan(
        opts.seed,
        as_of,
        opts.certificates,
        &chunk::operator_weights(operators.len()),
        !operators.is_empty(),
    );
    let large = Chunk {
        subscribers: tail.rows(),
        ..Chunk::default()
    };
    let mut next = write_batch(&tx, &[large], Ids::default(), &mut summary).await?;

    let chunks = opts.certificates.div_ceil(CHUNK_CERTIFICATES);
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Vec<Chunk>>(2);
    let (seed, total) = (opts.seed, opts.certificates);
    let producer = tokio::task::spawn_blocking(move || {
        let ctx = Context::new(seed, as_of, &operators, &tail);
        for first in (0..chunks).step_by(BATCH_CHUNKS as usize) {
            let batch: Vec<Chunk> = (first..(first + BATCH_CHUNKS).min(chunks))
                .into_par_iter()
                .map(|i| {
                    let size = (total - i * CHUNK_CERTIFICATES).min(CHUNK_CERTIFICATES);
                    ctx.chunk(i, size as usize)
                })
                .collect();
            if sender.blocking_send(batch).is_err() {
                return; // the writer failed and said why
            }
        }
    });

    while let Some(batch) = receiver.recv().await {
        next = write_batch(&tx, &batch, next, &mut summary).await?;
        tracing::info!(
            certificates = summary.certificates,
            of = total,
            subscribers = summary.subscribers,
            applications = summary.applications,
            "seed: batch written"
        );
    }
    producer
        .await
        .map_err(|e| Error::Other(format!("seed: data generator failed: {e}")))?;
    if let Some(rebuild) = rebuild {
        rebuild.run(&tx).await?;
    }
    tx.commit().await.during("committing the seed")?;
    tracing::info!(
        subscribers = summary.subscribers,
        applications = summary.applications,
        acme_accounts = summary.acme_accounts,
        certificates = summary.certificates,
        revocations = summary.revocations,
        legal_holds = summary.legal_holds,
        operators = summary.operators,
        "seed: done"
    );
    Ok(summary)
}

async fn ensure_empty(tx: &Transaction<'_>) -> Result<()> {
    let list = TABLES.map(|t| format!("certinfo.{t}")).join(", ");
    tx.batch_execute(&format!("LOCK TABLE {list} IN SHARE ROW EXCLUSIVE MODE"))
        .await
        .during("locking the certinfo tables for the seed (is the reference schema installed?)")?;
    for table in TABLES {
        let row = tx
            .query_one(
                &format!("SELECT EXISTS (SELECT 1 FROM certinfo.{table})"),
                &[],
            )
            .await
            .during(&format!("checking that certinfo.{table} is empty"))?;
        if row.get::<_, bool>(0) {
            return Err(Error::Other(format!(
                "seed: certinfo.{table} already has rows; seed only fills an empty reference schema"
            )));
        }
    }
    Ok(())
}

/// Statements that put back the secondary indexes and foreign keys dropped for the load.
struct Rebuild {
    statements: Vec<String>,
}

impl Rebuild {
    /// Statistics first (without them the planner may validate a foreign key with nested
    /// loops over a million rows), then indexes, then foreign keys, each checking every row.
    async fn run(self, tx: &Transaction<'_>) -> Result<()> {
        let list = TABLES.map(|t| format!("certinfo.{t}")).join(", ");
        tx.batch_execute(&format!("ANALYZE {list}"))
            .await
            .during("analyzing the seeded tables")?;
        for sql in &self.statements {
            tx.batch_execute(sql)
                .await
                .during(&format!("restoring after the seed: {sql}"))?;
        }
        tracing::info!(
            statements = self.statements.len(),
            "seed: indexes and foreign keys rebuilt"
        );
        Ok(())
    }
}

/// Drops the certinfo tables' secondary indexes and foreign keys for the load, returning the
/// statements that recreate them. Building an index once and validating a foreign key with
/// one join is several times faster than maintaining both row by row, and re-adding the
/// constraints checks every loaded row, so the schema's rules still hold for all of them. The
/// definitions come from the catalog, so a changed reference schema is restored as it was.
/// Only the tables' owner may do this; anyone else loads with everything in place (slower).
async fn defer_indexes_and_foreign_keys(tx: &Transaction<'_>) -> Result<Option<Rebuild>> {
    let owner = tx
        .query_one(
            "SELECT coalesce(bool_and(pg_has_role(c.relowner, 'USAGE')), false)
               FROM pg_class c
              WHERE c.relnamespace = 'certinfo'::regnamespace AND c.relkind = 'r'",
            &[],
        )
        .await
        .during("checking ownership of the certinfo tables")?;
    if !owner.get::<_, bool>(0) {
        tracing::info!(
            "seed: not the owner of certinfo; loading with indexes and foreign keys in place"
        );
        return Ok(None);
    }
    // Plain indexes (not those backing a primary key, unique or exclusion constraint).
    let indexes = tx
        .query(
            "SELECT format('DROP INDEX %s', i.indexrelid::regclass), pg_get_indexdef(i.indexrelid)
               FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
              WHERE c.relnamespace = 'certinfo'::regnamespace
                AND NOT EXISTS (SELECT 1 FROM pg_constraint k
                                 WHERE k.conindid = i.indexrelid AND k.contype IN ('p', 'u', 'x'))
              ORDER BY i.indexrelid::regclass::text",
            &[],
        )
        .await
        .during("reading the certinfo indexes")?;
    let foreign_keys = tx
        .query(
            "SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', conrelid::regclass, conname),
                    format('ALTER TABLE %s ADD CONSTRAINT %I %s', conrelid::regclass, conname,
                           pg_get_constraintdef(oid))
               FROM pg_constraint
              WHERE contype = 'f' AND connamespace = 'certinfo'::regnamespace
              ORDER BY conrelid::regclass::text, conname",
            &[],
        )
        .await
        .during("reading the certinfo foreign keys")?;
    let mut statements = Vec::new();
    for row in indexes.iter().chain(&foreign_keys) {
        let drop: String = row.get(0);
        tx.batch_execute(&drop)
            .await
            .during(&format!("preparing the seed: {drop}"))?;
        statements.push(row.get(1));
    }
    tx.batch_execute("SET LOCAL maintenance_work_mem = '256MB'; SET LOCAL work_mem = '64MB'")
        .await
        .during("setting memory for the index rebuild")?;
    Ok(Some(Rebuild { statements }))
}
