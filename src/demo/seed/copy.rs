//! Writes the generated rows into the reference tables with binary COPY, assigning the dense
//! ids each table's rows get in chunk order.

use std::pin::pin;

use chrono::{DateTime, Utc};
use tokio_postgres::Transaction;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};

use super::SeedSummary;
use super::chunk::{Chunk, Operator, SubscriberRef};
use crate::error::{DbContext, Result};

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

pub(super) async fn write_operators(tx: &Transaction<'_>, operators: &[Operator]) -> Result<()> {
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
pub(super) struct Ids {
    subscriber: i64,
    acme_account: i64,
    application: i64,
    certificate: i64,
}

impl Ids {
    /// The id of a subscriber referred to from a chunk starting at these ids. Large
    /// subscribers' rows are written before any chunk, so rank index r has id r + 1.
    fn subscriber(&self, s: SubscriberRef) -> i64 {
        match s {
            SubscriberRef::InChunk(i) => self.subscriber + i64::from(i) + 1,
            SubscriberRef::Large(r) => i64::from(r) + 1,
        }
    }
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

/// Writes one batch of chunks, one COPY per table, parents first; returns the next ids.
pub(super) async fn write_batch(
    tx: &Transaction<'_>,
    batch: &[Chunk],
    next: Ids,
    summary: &mut SeedSummary,
) -> Result<Ids> {
    let (bases, after) = chunk_bases(batch, next);
    let chunks: Vec<(&Chunk, Ids)> = batch.iter().zip(bases).collect();
    write_subscribers(tx, &chunks).await?;
    write_acme_accounts(tx, &chunks).await?;
    write_applications(tx, &chunks).await?;
    write_certificates(tx, &chunks).await?;
    write_revocations(tx, &chunks).await?;
    write_legal_holds(tx, &chunks).await?;
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

async fn write_subscribers(tx: &Transaction<'_>, chunks: &[(&Chunk, Ids)]) -> Result<()> {
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
    for (c, base) in chunks {
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
    Ok(())
}

async fn write_acme_accounts(tx: &Transaction<'_>, chunks: &[(&Chunk, Ids)]) -> Result<()> {
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
    for (c, base) in chunks {
        for (i, a) in c.acme_accounts.iter().enumerate() {
            let id = base.acme_account + i as i64 + 1;
            let sub = base.subscriber(a.subscriber);
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
    Ok(())
}

async fn write_applications(tx: &Transaction<'_>, chunks: &[(&Chunk, Ids)]) -> Result<()> {
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
    for (c, base) in chunks {
        for (i, a) in c.applications.iter().enumerate() {
            let id = base.application + i as i64 + 1;
            let sub = base.subscriber(a.subscriber);
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
    Ok(())
}

async fn write_certificates(tx: &Transaction<'_>, chunks: &[(&Chunk, Ids)]) -> Result<()> {
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
    for (c, base) in chunks {
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
    Ok(())
}

async fn write_revocations(tx: &Transaction<'_>, chunks: &[(&Chunk, Ids)]) -> Result<()> {
    const REVS: &str = "copying certinfo.revocations";
    let columns = [
        ("certificate_id", Type::INT8),
        ("revoked_at", Type::TIMESTAMPTZ),
        ("reason_code", Type::INT2),
        ("requested_by", Type::TEXT),
    ];
    let mut w = pin!(copy_in(tx, "revocations", &columns).await?);
    for (c, base) in chunks {
        for r in &c.revocations {
            let cert = base.certificate + i64::from(r.certificate) + 1;
            w.as_mut()
                .write(&[&cert, &ts(r.revoked_at), &r.reason_code, &r.requested_by])
                .await
                .during(REVS)?;
        }
    }
    w.finish().await.during(REVS)?;
    Ok(())
}

async fn write_legal_holds(tx: &Transaction<'_>, chunks: &[(&Chunk, Ids)]) -> Result<()> {
    // legal_holds.id is an identity column: rows arrive in chunk order, so ids are stable.
    const HOLDS: &str = "copying certinfo.legal_holds";
    let columns = [
        ("subscriber_id", Type::INT8),
        ("reason", Type::TEXT),
        ("placed_at", Type::TIMESTAMPTZ),
        ("released_at", Type::TIMESTAMPTZ),
    ];
    let mut w = pin!(copy_in(tx, "legal_holds", &columns).await?);
    for (c, base) in chunks {
        for h in &c.legal_holds {
            let sub = base.subscriber + i64::from(h.subscriber) + 1;
            w.as_mut()
                .write(&[&sub, &h.reason, &ts(h.placed_at), &h.released_at.map(ts)])
                .await
                .during(HOLDS)?;
        }
    }
    w.finish().await.during(HOLDS)?;
    Ok(())
}
