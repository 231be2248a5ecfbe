//! One scanned row turned into what every output needs: quasi-identifier codes at their finest
//! level, raw keyed pseudonyms and the facts the aggregate tables count. No personal value
//! survives this step; everything after it handles codes and pseudonyms only.

use std::hash::Hasher;

use chrono::{DateTime, Utc};
use rayon::prelude::*;

use crate::source::{Batch, Col, Row};
use crate::transform::category::{Category, Channel, SubscriberKind, ValidationType};
use crate::transform::domain::{DomainClass, domain_class};
use crate::transform::generalize::Quasi;
use crate::transform::geography::region_code;
use crate::transform::key_type::KeyType;
use crate::transform::period::{UNKNOWN_MONTH, ValidityBucket, month_code};
use crate::transform::pseudonymize::{Class, Pseudonymizer, normalize_into};
use crate::transform::revocation::Revocation;

/// Quasi-identifier columns, in `Quasi::ALL` order.
pub(crate) const NQI: usize = Quasi::ALL.len();

/// A released pseudonym slot: absent (NULL), erased by retention, or a keyed value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Pseudo {
    Null,
    Erased,
    Value([u8; 16]),
}

/// The pseudonym columns of the research extract: (CSV column, class, source column).
pub(crate) const PSEUDONYM_COLUMNS: [(&str, Class, Col); 10] = [
    ("certificate", Class::Certificate, Col::CertificateId),
    ("subscriber", Class::Subscriber, Col::SubscriberId),
    ("subscriber_email", Class::Email, Col::Email),
    ("subscriber_phone", Class::Phone, Col::Phone),
    ("person_name", Class::Person, Col::PersonName),
    ("organization", Class::Organization, Col::OrganizationName),
    ("applicant_email", Class::Email, Col::ApplicantEmail),
    ("approver_email", Class::Email, Col::ApproverEmail),
    ("acme_account", Class::AcmeAccount, Col::AcmeAccountId),
    ("acme_contact", Class::Email, Col::AcmeContactEmail),
];
pub(crate) const NPSEUDO: usize = PSEUDONYM_COLUMNS.len();
/// Index of the certificate pseudonym (the extract's sort key) and the subscriber pseudonym.
pub(crate) const CERTIFICATE: usize = 0;
pub(crate) const SUBSCRIBER: usize = 1;

/// What one certificate row contributes to the outputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub(crate) qi: [u16; NQI],
    pub(crate) pseudonyms: [Pseudo; NPSEUDO],
    /// Month codes (`period::month_code`) used by the aggregate tables.
    pub(crate) issued_month: u16,
    /// First and last instants the certificate was valid (None when the source lacks them).
    pub(crate) not_before: Option<DateTime<Utc>>,
    pub(crate) not_after: Option<DateTime<Utc>>,
    pub(crate) revoked_at: Option<DateTime<Utc>>,
    /// Prefecture (1..=47), foreign (>= 1000) or unknown (0), as `geography::region_code`.
    pub(crate) region: u16,
}

/// The columns that come from the subscriber's row: equal for all of a subscriber's
/// certificates in one snapshot. Consecutive in the scan, so that they are fingerprinted as
/// one span.
const SUBSCRIBER_COLUMNS: [Col; 10] = [
    Col::SubscriberId,
    Col::SubscriberKind,
    Col::OrganizationName,
    Col::PersonName,
    Col::Email,
    Col::Phone,
    Col::PostalCode,
    Col::PostalAddress,
    Col::Country,
    Col::PersonalDataErasedAt,
];

// `SubscriberCache::part` fingerprints the subscriber columns as one span of the COPY bytes,
// which holds only while they are consecutive in the scan.
const _: () = {
    let mut i = 1;
    while i < SUBSCRIBER_COLUMNS.len() {
        assert!(SUBSCRIBER_COLUMNS[i] as usize == SUBSCRIBER_COLUMNS[i - 1] as usize + 1);
        i += 1;
    }
};

/// Which of `PSEUDONYM_COLUMNS` come from the subscriber's row, decided once, not per row.
const FROM_SUBSCRIBER: [bool; NPSEUDO] = {
    let mut mask = [false; NPSEUDO];
    let mut i = 0;
    while i < NPSEUDO {
        let mut j = 0;
        while j < SUBSCRIBER_COLUMNS.len() {
            mask[i] |= PSEUDONYM_COLUMNS[i].2 as usize == SUBSCRIBER_COLUMNS[j] as usize;
            j += 1;
        }
        i += 1;
    }
    mask
};

/// What a row's subscriber contributes to its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SubscriberPart {
    /// Indexed like `PSEUDONYM_COLUMNS`; only the subscriber's own columns are set.
    pseudonyms: [Pseudo; NPSEUDO],
    region: u16,
    kind: SubscriberKind,
}

/// The subscriber parts of recently seen subscribers, so a subscriber's certificates are
/// normalized, hashed and placed once while it stays here. Direct-mapped and fixed in size:
/// memory does not grow with the data. A slot matches on the subscriber id and a
/// fingerprint of the raw subscriber columns, so a view whose ids are not unique still gets
/// each row's own values.
pub struct SubscriberCache {
    slots: Vec<Option<(i64, u64, SubscriberPart)>>,
}

/// 2^16 slots of about 200 bytes: with the synthetic data's order, over half the rows of a
/// scan hit.
const CACHE_SLOTS: usize = 1 << 16;

impl Default for SubscriberCache {
    fn default() -> Self {
        SubscriberCache {
            slots: vec![None; CACHE_SLOTS],
        }
    }
}

impl SubscriberCache {
    fn part(&mut self, row: &Row<'_>, pseudonymizer: &Pseudonymizer) -> SubscriberPart {
        let Some(id) = row.i64(Col::SubscriberId) else {
            return SubscriberPart::of(row, pseudonymizer);
        };
        let mut hasher = rustc_hash::FxHasher::default();
        hasher.write(row.encoded(
            SUBSCRIBER_COLUMNS[0],
            SUBSCRIBER_COLUMNS[SUBSCRIBER_COLUMNS.len() - 1],
        ));
        let fingerprint = hasher.finish();
        let slot = &mut self.slots[(fingerprint as usize) & (CACHE_SLOTS - 1)];
        match slot {
            Some((cached, f, part)) if *cached == id && *f == fingerprint => *part,
            _ => {
                let part = SubscriberPart::of(row, pseudonymizer);
                *slot = Some((id, fingerprint, part));
                part
            }
        }
    }
}

impl SubscriberPart {
    fn of(row: &Row<'_>, pseudonymizer: &Pseudonymizer) -> SubscriberPart {
        let erased = row.bytes(Col::PersonalDataErasedAt).is_some();
        let mut pseudonyms = [Pseudo::Null; NPSEUDO];
        for (i, &(_, class, col)) in PSEUDONYM_COLUMNS.iter().enumerate() {
            if FROM_SUBSCRIBER[i] {
                pseudonyms[i] = pseudonym(row, col, class, erased, pseudonymizer);
            }
        }
        SubscriberPart {
            pseudonyms,
            region: region_code(
                row.text(Col::PostalCode),
                row.text(Col::PostalAddress),
                row.text(Col::Country),
            ),
            kind: SubscriberKind::parse(row.text(Col::SubscriberKind)),
        }
    }
}

impl Record {
    pub fn from_row(
        row: &Row<'_>,
        pseudonymizer: &Pseudonymizer,
        cache: &mut SubscriberCache,
    ) -> Record {
        let subscriber = cache.part(row, pseudonymizer);
        let not_before = row.timestamp(Col::NotBefore);
        let not_after = row.timestamp(Col::NotAfter);
        let issued = row.timestamp(Col::IssuedAt).or(not_before);
        let revoked_at = row.timestamp(Col::RevokedAt);
        let region = subscriber.region;
        let validity = match (not_before, not_after) {
            (Some(b), Some(a)) => ValidityBucket::of(b, a),
            _ => ValidityBucket::Unknown,
        };
        let key_type = match (row.text(Col::KeyAlgorithm), row.i64(Col::KeySize)) {
            (Some(alg), Some(size)) => KeyType::of(alg, size as i32),
            _ => KeyType::Unknown,
        };
        let domain = row
            .text(Col::CommonName)
            .map_or(DomainClass::Unknown, domain_class);
        let reason = row.i64(Col::ReasonCode).map(|r| r as i16);
        let revocation = Revocation::of(revoked_at.is_some() || reason.is_some(), reason);
        let issued_month = issued.map_or(UNKNOWN_MONTH, month_code);
        let qi = Quasi::ALL.map(|q| match q {
            Quasi::SubscriberKind => subscriber.kind.code(),
            Quasi::Region => region,
            Quasi::Channel => Channel::parse(row.text(Col::Channel)).code(),
            Quasi::ValidationType => ValidationType::parse(row.text(Col::ValidationType)).code(),
            Quasi::Issued => issued_month,
            Quasi::Validity => validity.code(),
            Quasi::KeyType => key_type.code(),
            Quasi::DomainClass => domain.code(),
            Quasi::Revocation => revocation.code(),
        });
        let erased = row.bytes(Col::PersonalDataErasedAt).is_some();
        let mut pseudonyms = subscriber.pseudonyms;
        for (i, &(_, class, col)) in PSEUDONYM_COLUMNS.iter().enumerate() {
            if FROM_SUBSCRIBER[i] {
                continue;
            }
            // An address stored twice (an applicant who is the subscriber) is hashed once.
            let value = row.bytes(col);
            let earlier = (0..i).find(|&j| {
                let (_, other_class, other_col) = PSEUDONYM_COLUMNS[j];
                value.is_some() && other_class == class && row.bytes(other_col) == value
            });
            pseudonyms[i] = match earlier {
                Some(j) => pseudonyms[j],
                None => pseudonym(row, col, class, erased, pseudonymizer),
            };
        }
        Record {
            qi,
            pseudonyms,
            issued_month,
            not_before,
            not_after,
            revoked_at,
            region,
        }
    }
}

/// A batch's records as the shards made them; [`Mapped::iter`] yields them in scan order
/// without moving them again.
pub(crate) struct Mapped {
    /// The shard of each row, in scan order.
    shard_of: Vec<usize>,
    /// Each shard's records, in scan order.
    shards: Vec<Vec<Record>>,
}

impl Mapped {
    pub(crate) fn len(&self) -> usize {
        self.shard_of.len()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Record> + '_ {
        let mut taken = vec![0; self.shards.len()];
        // Each shard kept its rows' order, so taking the next of the row's shard is scan order.
        self.shard_of.iter().filter_map(move |&shard| {
            let record = self.shards.get(shard)?.get(taken[shard])?;
            taken[shard] += 1;
            Some(record)
        })
    }
}

/// Turns a batch into records on the current rayon pool. Rows are dealt to one cache per shard by
/// subscriber id, so all of a subscriber's certificates meet the same cache.
pub(crate) fn map_batch(
    batch: &Batch,
    pseudonymizer: &Pseudonymizer,
    caches: &mut [SubscriberCache],
) -> Mapped {
    let shards = caches.len().max(1) as i64;
    let shard_of: Vec<usize> = batch
        .rows()
        .map(|row| {
            row.i64(Col::SubscriberId)
                .map_or(0, |id| id.rem_euclid(shards) as usize)
        })
        .collect();
    let shards = caches
        .par_iter_mut()
        .enumerate()
        .map(|(shard, cache)| {
            let mut records = Vec::with_capacity(shard_of.iter().filter(|&&s| s == shard).count());
            for (i, _) in shard_of.iter().enumerate().filter(|&(_, &s)| s == shard) {
                records.push(Record::from_row(&batch.row(i), pseudonymizer, cache));
            }
            records
        })
        .collect();
    Mapped { shard_of, shards }
}

/// Personal columns of an erased subject become `Erased`, not a hash of NULL, so erased
/// subjects stay countable as such; row ids keep their pseudonyms.
fn pseudonym(row: &Row<'_>, col: Col, class: Class, erased: bool, p: &Pseudonymizer) -> Pseudo {
    let personal = !matches!(
        class,
        Class::Certificate | Class::Subscriber | Class::AcmeAccount
    );
    if erased && personal {
        return Pseudo::Erased;
    }
    let raw = match col {
        // An id's decimal form is already normalized (trimmed, never empty).
        Col::CertificateId | Col::SubscriberId | Col::AcmeAccountId => row
            .i64(col)
            .map(|id| p.raw(class, decimal(id, &mut [0; DECIMAL_LEN]))),
        _ => row.text(col).and_then(|v| {
            NORMALIZED.with_borrow_mut(|normalized| {
                normalize_into(class, v, normalized).then(|| p.raw(class, normalized))
            })
        }),
    };
    raw.map_or(Pseudo::Null, Pseudo::Value)
}

thread_local! {
    /// Each scan worker normalizes millions of values; one buffer each saves an allocation per
    /// value.
    static NORMALIZED: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// Room for `i64::MIN` in decimal.
const DECIMAL_LEN: usize = 20;

/// `n.to_string()` without the allocation: ids are pseudonymized once per row and column.
fn decimal(n: i64, buf: &mut [u8; DECIMAL_LEN]) -> &str {
    let mut at = DECIMAL_LEN;
    let mut rest = n.unsigned_abs();
    loop {
        at -= 1;
        buf[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if n < 0 {
        at -= 1;
        buf[at] = b'-';
    }
    std::str::from_utf8(&buf[at..]).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn decimal_is_to_string(n in any::<i64>()) {
            let mut buf = [0; DECIMAL_LEN];
            prop_assert_eq!(decimal(n, &mut buf), n.to_string());
        }
    }

    #[test]
    fn decimal_edges() {
        for n in [0, 9, 10, -1, i64::MAX, i64::MIN] {
            let mut buf = [0; DECIMAL_LEN];
            assert_eq!(decimal(n, &mut buf), n.to_string());
        }
    }

    fn text(s: &str) -> Option<Vec<u8>> {
        Some(s.as_bytes().to_vec())
    }

    /// Certificates of a few subscribers, interleaved; subscriber 3 appears with two different
    /// e-mail addresses (a view whose ids are not unique), subscriber 4 was erased.
    fn batch() -> Batch {
        let rows: Vec<Vec<Option<Vec<u8>>>> = (0..40i64)
            .map(|i| {
                let subscriber = i % 5;
                let mut row = vec![None; crate::source::NCOLS];
                let mut set = |col: Col, v: Option<Vec<u8>>| row[col as usize] = v;
                set(Col::CertificateId, Some(i.to_be_bytes().to_vec()));
                set(Col::SubscriberId, Some(subscriber.to_be_bytes().to_vec()));
                set(Col::SubscriberKind, text("individual"));
                set(Col::PersonName, text(&format!("山田　太郎{subscriber}")));
                let email = if subscriber == 3 && i % 2 == 0 {
                    "other@example.jp".to_owned()
                } else {
                    format!("Ｕｓｅｒ{subscriber}@example.jp")
                };
                set(Col::Email, text(&email));
                set(Col::ApplicantEmail, text(&email));
                set(Col::Phone, text("03-1234-5678"));
                set(Col::PostalAddress, text("東京都千代田区1-1"));
                if subscriber == 4 {
                    set(Col::PersonalDataErasedAt, Some(0i64.to_be_bytes().to_vec()));
                }
                row
            })
            .collect();
        let mut decoder = crate::source::Decoder::new(64);
        let mut batches = decoder
            .push(&crate::source::encode_copy(&rows))
            .expect("valid COPY");
        let (last, _) = decoder.finish().expect("valid COPY");
        batches.extend(last);
        batches.pop().expect("one batch")
    }

    #[test]
    fn cached_subscribers_give_the_records_of_a_cold_start() {
        let key = crate::transform::pseudonymize::Key::random("t").expect("random key");
        let p = Pseudonymizer::new(&key);
        let batch = batch();
        let cold: Vec<Record> = batch
            .rows()
            .map(|row| Record::from_row(&row, &p, &mut SubscriberCache::default()))
            .collect();
        for shards in [1, 2, 3] {
            let mut caches: Vec<SubscriberCache> =
                (0..shards).map(|_| SubscriberCache::default()).collect();
            let mapped = map_batch(&batch, &p, &mut caches);
            assert_eq!(mapped.len(), cold.len());
            assert!(mapped.iter().eq(&cold), "{shards} shards");
        }
        let email = PSEUDONYM_COLUMNS
            .iter()
            .position(|(name, ..)| *name == "subscriber_email")
            .expect("column");
        assert_ne!(
            cold[3].pseudonyms[email], cold[8].pseudonyms[email],
            "one id, two addresses: two pseudonyms"
        );
        assert_eq!(cold[4].pseudonyms[email], Pseudo::Erased);
        assert_eq!(cold[1].pseudonyms[email], cold[6].pseudonyms[email]);
    }
}
