//! Deterministic, realistic synthetic data for the reference schema, loaded with binary COPY.
//!
//! The data is generated in chunks of a fixed number of certificates, each from its own
//! ChaCha stream keyed by (seed, chunk index), so rayon can build chunks in parallel while the
//! previous batch is being copied, and the rows are the same whatever the thread timing. The
//! same seed and `as_of` always give byte-identical tables; the wall clock is never read.

mod chunk;
mod dist;
mod foreign;
mod japan;
mod person;
mod text;

use std::pin::pin;

use chrono::{DateTime, TimeZone, Utc};
use rayon::prelude::*;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Transaction};

use crate::error::{DbContext, Error, Result};
use chunk::{CHUNK_CERTIFICATES, Chunk, Context};

pub use chunk::cab_limit_days;

/// Number of designated operators (resellers) the seed creates.
pub const OPERATORS: u64 = 30;
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
pub fn default_as_of() -> DateTime<Utc> {
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

    let chunks = opts.certificates.div_ceil(CHUNK_CERTIFICATES);
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Vec<Chunk>>(2);
    let (seed, total) = (opts.seed, opts.certificates);
    let producer = tokio::task::spawn_blocking(move || {
        let ctx = Context::new(seed, as_of, &operators);
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

    let mut next = Ids::default();
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

/// Seconds since the epoch as a timestamp. All generated times lie between 2014 and a few
/// years after the validated `as_of`, well inside chrono's range.
fn ts(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

async fn copy_in(
    tx: &Transaction<'_>,
    table: &str,
    columns: &[(&str, Type)],
) -> Result<BinaryCopyInWriter> {
    let names: Vec<&str> = columns.iter().map(|c| c.0).collect();
    let types: Vec<Type> = columns.iter().map(|c| c.1.clone()).collect();
    let sql = format!(
        "COPY certinfo.{table} ({}) FROM STDIN (FORMAT binary)",
        names.join(", ")
    );
    let sink = tx
        .copy_in(&sql)
        .await
        .during(&format!("starting COPY into certinfo.{table}"))?;
    Ok(BinaryCopyInWriter::new(sink, &types))
}

async fn write_operators(tx: &Transaction<'_>, operators: &[chunk::Operator]) -> Result<()> {
    const CTX: &str = "copying certinfo.designated_operators";
    let columns = [
        ("id", Type::INT8),
        ("name", Type::TEXT),
        ("corporate_number", Type::TEXT),
        ("created_at", Type::TIMESTAMPTZ),
    ];
    let mut w = pin!(copy_in(tx, "designated_operators", &columns).await?);
    for o in operators {
        w.as_mut()
            .write(&[&o.id, &o.name, &o.corporate_number, &ts(o.created_at)])
            .await
            .during(CTX)?;
    }
    w.finish().await.during(CTX)?;
    Ok(())
}

/// The next id of each table; ids are dense and assigned in chunk order.
#[derive(Default, Clone, Copy)]
struct Ids {
    subscriber: i64,
    acme_account: i64,
    application: i64,
    certificate: i64,
}

/// Where each chunk's local indices start in the global id space.
fn chunk_bases(batch: &[Chunk], mut next: Ids) -> (Vec<Ids>, Ids) {
    let bases = batch
        .iter()
        .map(|c| {
            let base = next;
            next.subscriber += c.subscribers.len() as i64;
            next.acme_account += c.acme_accounts.len() as i64;
            next.application += c.applications.len() as i64;
            next.certificate += c.certificates.len() as i64;
            base
        })
        .collect();
    (bases, next)
}

async fn write_batch(
    tx: &Transaction<'_>,
    batch: &[Chunk],
    next: Ids,
    summary: &mut SeedSummary,
) -> Result<Ids> {
    let (bases, after) = chunk_bases(batch, next);
    let chunks = || batch.iter().zip(&bases);

    const SUBS: &str = "copying certinfo.subscribers";
    let columns = [
        ("id", Type::INT8),
        ("kind", Type::TEXT),
        ("organization_name", Type::TEXT),
        ("person_name", Type::TEXT),
        ("person_name_kana", Type::TEXT),
        ("email", Type::TEXT),
        ("phone", Type::TEXT),
        ("postal_code", Type::TEXT),
        ("postal_address", Type::TEXT),
        ("country", Type::TEXT),
        ("created_at", Type::TIMESTAMPTZ),
        ("updated_at", Type::TIMESTAMPTZ),
    ];
    let mut w = pin!(copy_in(tx, "subscribers", &columns).await?);
    for (c, base) in chunks() {
        for (i, s) in c.subscribers.iter().enumerate() {
            let id = base.subscriber + i as i64 + 1;
            let row: [&(dyn ToSql + Sync); 12] = [
                &id,
                &s.kind,
                &s.organization_name,
                &s.person_name,
                &s.person_name_kana,
                &s.email,
                &s.phone,
                &s.postal_code,
                &s.postal_address,
                &s.country,
                &ts(s.created_at),
                &ts(s.updated_at),
            ];
            w.as_mut().write(&row).await.during(SUBS)?;
        }
    }
    w.finish().await.during(SUBS)?;

    const ACME: &str = "copying certinfo.acme_accounts";
    let columns = [
        ("id", Type::INT8),
        ("subscriber_id", Type::INT8),
        ("contact_email", Type::TEXT),
        ("key_thumbprint", Type::TEXT),
        ("created_at", Type::TIMESTAMPTZ),
        ("deactivated_at", Type::TIMESTAMPTZ),
    ];
    let mut w = pin!(copy_in(tx, "acme_accounts", &columns).await?);
    for (c, base) in chunks() {
        for (i, a) in c.acme_accounts.iter().enumerate() {
            let id = base.acme_account + i as i64 + 1;
            let sub = base.subscriber + i64::from(a.subscriber) + 1;
            let row: [&(dyn ToSql + Sync); 6] = [
                &id,
                &sub,
                &a.contact_email,
                &a.key_thumbprint,
                &ts(a.created_at),
                &a.deactivated_at.map(ts),
            ];
            w.as_mut().write(&row).await.during(ACME)?;
        }
    }
    w.finish().await.during(ACME)?;

    const APPS: &str = "copying certinfo.applications";
    let columns = [
        ("id", Type::INT8),
        ("subscriber_id", Type::INT8),
        ("operator_id", Type::INT8),
        ("acme_account_id", Type::INT8),
        ("channel", Type::TEXT),
        ("product", Type::TEXT),
        ("applicant_name", Type::TEXT),
        ("applicant_email", Type::TEXT),
        ("applicant_phone", Type::TEXT),
        ("approver_email", Type::TEXT),
        ("submitted_at", Type::TIMESTAMPTZ),
        ("status", Type::TEXT),
    ];
    let mut w = pin!(copy_in(tx, "applications", &columns).await?);
    for (c, base) in chunks() {
        for (i, a) in c.applications.iter().enumerate() {
            let id = base.application + i as i64 + 1;
            let sub = base.subscriber + i64::from(a.subscriber) + 1;
            let acme = a.acme_account.map(|x| base.acme_account + i64::from(x) + 1);
            let row: [&(dyn ToSql + Sync); 12] = [
                &id,
                &sub,
                &a.operator_id,
                &acme,
                &a.channel,
                &a.product,
                &a.applicant_name,
                &a.applicant_email,
                &a.applicant_phone,
                &a.approver_email,
                &ts(a.submitted_at),
                &a.status,
            ];
            w.as_mut().write(&row).await.during(APPS)?;
        }
    }
    w.finish().await.during(APPS)?;

    const CERTS: &str = "copying certinfo.certificates";
    let columns = [
        ("id", Type::INT8),
        ("application_id", Type::INT8),
        ("serial_number", Type::TEXT),
        ("common_name", Type::TEXT),
        ("subject_alt_names", Type::TEXT_ARRAY),
        ("subject_organization", Type::TEXT),
        ("validation_type", Type::TEXT),
        ("key_algorithm", Type::TEXT),
        ("key_size", Type::INT4),
        ("signature_algorithm", Type::TEXT),
        ("not_before", Type::TIMESTAMPTZ),
        ("not_after", Type::TIMESTAMPTZ),
        ("issued_at", Type::TIMESTAMPTZ),
        ("ct_precert_logged", Type::BOOL),
        ("der", Type::BYTEA),
    ];
    let mut w = pin!(copy_in(tx, "certificates", &columns).await?);
    for (c, base) in chunks() {
        for (i, x) in c.certificates.iter().enumerate() {
            let id = base.certificate + i as i64 + 1;
            let app = base.application + i64::from(x.application) + 1;
            let row: [&(dyn ToSql + Sync); 15] = [
                &id,
                &app,
                &x.serial_number,
                &x.common_name,
                &x.subject_alt_names,
                &x.subject_organization,
                &x.validation_type,
                &x.key_algorithm,
                &x.key_size,
                &x.signature_algorithm,
                &ts(x.not_before),
                &ts(x.not_after),
                &ts(x.issued_at),
                &x.ct_precert_logged,
                &x.der,
            ];
            w.as_mut().write(&row).await.during(CERTS)?;
        }
    }
    w.finish().await.during(CERTS)?;

    const REVS: &str = "copying certinfo.revocations";
    let columns = [
        ("certificate_id", Type::INT8),
        ("revoked_at", Type::TIMESTAMPTZ),
        ("reason_code", Type::INT2),
        ("requested_by", Type::TEXT),
    ];
    let mut w = pin!(copy_in(tx, "revocations", &columns).await?);
    for (c, base) in chunks() {
        for r in &c.revocations {
            let cert = base.certificate + i64::from(r.certificate) + 1;
            w.as_mut()
                .write(&[&cert, &ts(r.revoked_at), &r.reason_code, &r.requested_by])
                .await
                .during(REVS)?;
        }
    }
    w.finish().await.during(REVS)?;

    // legal_holds.id is an identity column: rows arrive in chunk order, so ids are stable.
    const HOLDS: &str = "copying certinfo.legal_holds";
    let columns = [
        ("subscriber_id", Type::INT8),
        ("reason", Type::TEXT),
        ("placed_at", Type::TIMESTAMPTZ),
        ("released_at", Type::TIMESTAMPTZ),
    ];
    let mut w = pin!(copy_in(tx, "legal_holds", &columns).await?);
    for (c, base) in chunks() {
        for h in &c.legal_holds {
            let sub = base.subscriber + i64::from(h.subscriber) + 1;
            w.as_mut()
                .write(&[&sub, &h.reason, &ts(h.placed_at), &h.released_at.map(ts)])
                .await
                .during(HOLDS)?;
        }
    }
    w.finish().await.during(HOLDS)?;

    for c in batch {
        summary.subscribers += c.subscribers.len() as u64;
        summary.acme_accounts += c.acme_accounts.len() as u64;
        summary.applications += c.applications.len() as u64;
        summary.certificates += c.certificates.len() as u64;
        summary.revocations += c.revocations.len() as u64;
        summary.legal_holds += c.legal_holds.len() as u64;
    }
    Ok(after)
}
