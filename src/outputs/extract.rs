//! The research extract: spills each pseudonymized row to disk during the scan, lets the
//! privacy gate choose generalization levels from the class counts, then writes the released
//! rows, generalized and sorted by certificate pseudonym, to `research_extract.csv`.
//!
//! Memory holds only the histogram of quasi-identifier combinations (bounded: see `Floors`) and one
//! spill bucket at a time: rows go to 256 bucket files by the first characters of their
//! certificate pseudonym, so sorting one bucket at a time yields a sorted file.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::Path;

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::error::{Error, IoContext, Result};
use crate::outputs::export::Export;
use crate::outputs::export::push_csv_field;
use crate::outputs::manifest::{FileFacts, MicrodataFacts, MicrodataKind, Privacy};
use crate::privacy::{self, Choice, Dimension};
use crate::transform::generalize::Quasi;
use crate::transform::pseudonymize::{PSEUDONYM_B32_LEN, base32, write_raw};
use crate::transform::record::{CERTIFICATE, NQI, PSEUDONYM_COLUMNS, Pseudo, Record};

pub(crate) const FILE_NAME: &str = "research_extract.csv";
const BUCKETS: usize = 256;

/// Rows of the extract waiting for the privacy gate.
pub(crate) struct ExtractSpill {
    dir: tempfile::TempDir,
    key_id: String,
    buckets: Vec<BufWriter<File>>,
    hist: FxHashMap<[u16; NQI], u64>,
    floors: Floors,
    rows: u64,
    scratch: Vec<u8>,
}

/// What the extract released, for the manifest, the ledger and the summary.
#[derive(Debug, Clone)]
pub(crate) struct ExtractFacts {
    pub(crate) rows_written: u64,
    pub(crate) rows_suppressed: u64,
    pub(crate) achieved_k: u64,
    pub(crate) levels: Vec<(String, String)>,
}

impl ExtractSpill {
    /// Spill files live in a hidden `.tmp-spill-*` directory under `parent`, which the next run
    /// removes if this one crashes.
    pub(crate) fn new(parent: &Path, key_id: &str) -> Result<ExtractSpill> {
        std::fs::create_dir_all(parent).at(parent)?;
        let dir = tempfile::Builder::new()
            .prefix(".tmp-spill-")
            .tempdir_in(parent)
            .at(parent)?;
        let buckets = (0..BUCKETS)
            .map(|b| {
                let path = dir.path().join(format!("{b:03}"));
                File::create(&path)
                    .map(|f| BufWriter::with_capacity(64 * 1024, f))
                    .at(&path)
            })
            .collect::<Result<_>>()?;
        Ok(ExtractSpill {
            dir,
            key_id: key_id.to_string(),
            buckets,
            hist: FxHashMap::default(),
            floors: Floors::default(),
            rows: 0,
            scratch: Vec::new(),
        })
    }

    pub(crate) fn add(&mut self, r: &Record) -> Result<()> {
        *self.hist.entry(self.floors.canonical(&r.qi)).or_insert(0) += 1;
        if self.hist.len() > HISTOGRAM_CLASSES {
            self.floors.raise(&mut self.hist);
        }
        self.rows += 1;
        self.scratch.clear();
        SpillEntry::write(r, &self.key_id, &mut self.scratch);
        let b = bucket(&r.pseudonyms[CERTIFICATE]);
        self.buckets[b].write_all(&self.scratch).at(self.dir.path())
    }

    /// Chooses levels and, given an `export`, writes the released rows into it. Returns the
    /// facts and the manifest's privacy facts of the extract file.
    pub(crate) fn finish(
        mut self,
        export: Option<&mut Export>,
        k: u64,
        max_suppression: f64,
    ) -> Result<(ExtractFacts, Privacy)> {
        for (i, b) in self.buckets.iter_mut().enumerate() {
            b.flush().at(self.dir.path().join(format!("{i:03}")))?;
        }
        self.buckets.clear();
        let dims = self.floors.dimensions();
        let hist: HashMap<Vec<u16>, u64> = std::mem::take(&mut self.hist)
            .into_iter()
            .map(|(k, v)| (k.to_vec(), v))
            .collect();
        let mut choice = privacy::choose_levels(&hist, &dims, k, max_suppression)?;
        let gate_levels = choice.levels.clone();
        for (level, floor) in choice.levels.iter_mut().zip(self.floors.level) {
            *level += floor;
        }
        let facts = facts(&choice, self.rows);
        tracing::info!(
            rows = self.rows,
            suppressed = choice.suppressed_rows,
            achieved_k = choice.achieved_k,
            levels = %facts.levels.iter().map(|(q, l)| format!("{q}={l}")).collect::<Vec<_>>().join(","),
            "k-anonymity levels chosen"
        );
        let microdata = MicrodataFacts {
            achieved_k: choice.achieved_k,
            finest_levels_searched: Quasi::ALL
                .iter()
                .zip(self.floors.level)
                .map(|(q, f)| (q.name().to_string(), q.levels()[usize::from(f)].to_string()))
                .collect(),
            information_loss: choice.loss,
            k,
            kind: MicrodataKind::Microdata,
            levels: facts.levels.iter().cloned().collect(),
            pseudonym_columns: PSEUDONYM_COLUMNS
                .iter()
                .map(|(name, ..)| name.to_string())
                .collect(),
            quasi_identifiers: Quasi::ALL.iter().map(|q| q.name().to_string()).collect(),
            rows_in: self.rows,
            rows_released: facts.rows_written,
            rows_suppressed: choice.suppressed_rows,
        };
        let privacy = Privacy::from([(FILE_NAME.to_string(), FileFacts::Microdata(microdata))]);
        if let Some(export) = export {
            let release = privacy::released_classes(&hist, &dims, &gate_levels, k)?;
            let classes = released_classes(&hist, &choice.levels, &release);
            let written = self.write(export, &classes)?;
            if written != facts.rows_written {
                return Err(Error::Other(format!(
                    "research extract: wrote {written} rows, the privacy gate released {}",
                    facts.rows_written
                )));
            }
        }
        Ok((facts, privacy))
    }

    /// Renders buckets on rayon's pool, a window at a time, while one thread writes the
    /// finished ones in bucket order: the file is the concatenation of the sorted buckets.
    fn write(&self, export: &mut Export, classes: &Classes) -> Result<u64> {
        let header: Vec<&str> = PSEUDONYM_COLUMNS
            .iter()
            .map(|(name, ..)| *name)
            .chain(Quasi::ALL.iter().map(|q| q.name()))
            .collect();
        let mut csv = export.csv(FILE_NAME, &header)?;
        let window = 2 * rayon::current_num_threads();
        let csv = std::thread::scope(|scope| -> Result<_> {
            let (tx, rx) = std::sync::mpsc::sync_channel::<(Vec<u8>, u64)>(window);
            let writer = scope.spawn(move || -> Result<_> {
                for (lines, rows) in rx {
                    csv.write_chunk(lines, rows)?;
                }
                Ok(csv)
            });
            'buckets: for first in (0..BUCKETS).step_by(window) {
                let rendered: Vec<Result<(Vec<u8>, u64)>> = (first..BUCKETS.min(first + window))
                    .into_par_iter()
                    .map(|b| self.render_bucket(b, classes))
                    .collect();
                for bucket in rendered {
                    if tx.send(bucket?).is_err() {
                        // The writer stopped on an error, which its join returns.
                        break 'buckets;
                    }
                }
            }
            drop(tx);
            writer
                .join()
                .map_err(|_| Error::Other("the extract writer panicked".into()))?
        })?;
        let entry = csv.finish()?;
        let written = entry.rows.unwrap_or(0);
        export.add(entry);
        Ok(written)
    }

    /// One spill bucket's released rows as CSV lines, sorted by certificate pseudonym.
    fn render_bucket(&self, b: usize, classes: &Classes) -> Result<(Vec<u8>, u64)> {
        let path = self.dir.path().join(format!("{b:03}"));
        let mut buf = Vec::new();
        File::open(&path)
            .and_then(|mut f| f.read_to_end(&mut buf))
            .at(&path)?;
        // Removed now, on this worker, rather than all at once when the spill is dropped.
        std::fs::remove_file(&path).at(&path)?;
        let mut rows = Vec::new();
        let mut rest = buf.as_slice();
        while !rest.is_empty() {
            let entry = SpillEntry::read(&mut rest).ok_or_else(|| {
                Error::Other(format!("{}: truncated spill entry", path.display()))
            })?;
            if let Some(fields) = classes.get(&self.floors.lookup(&entry.qi)) {
                rows.push((entry.key, entry.pseudonyms, fields.as_slice()));
            }
        }
        // Rows are a key and two slices into the bucket, small enough to sort directly; the
        // sort is stable, so rows with equal keys stay in spill order.
        rows.sort_by_key(|row| row.0);
        let bytes = rows.iter().map(|r| r.1.len() + r.2.len() + 2).sum();
        let mut out = Vec::with_capacity(bytes);
        for &(_, pseudonyms, fields) in &rows {
            out.extend_from_slice(pseudonyms);
            out.extend_from_slice(fields);
            out.extend_from_slice(b"\r\n");
        }
        Ok((out, rows.len() as u64))
    }
}

/// A row as the scan spills it: its finest quasi-identifier codes, its sort key, and its
/// pseudonym columns already rendered as CSV, so that after the scan only the
/// quasi-identifier fields, which depend on the chosen levels, are left to write.
struct SpillEntry<'a> {
    qi: [u16; NQI],
    key: SortKey,
    pseudonyms: &'a [u8],
}

impl SpillEntry<'_> {
    /// Layout: the codes (u16 LE each), the key (two u128 BE), the text's length (u32 LE),
    /// the text.
    fn write(r: &Record, key_id: &str, out: &mut Vec<u8>) {
        for q in r.qi {
            out.extend_from_slice(&q.to_le_bytes());
        }
        let (high, low) = sort_key(&r.pseudonyms[CERTIFICATE]);
        out.extend_from_slice(&high.to_be_bytes());
        out.extend_from_slice(&low.to_be_bytes());
        let len_at = out.len();
        out.extend_from_slice(&[0; 4]);
        for (column, p) in r.pseudonyms.iter().enumerate() {
            if column > 0 {
                out.push(b',');
            }
            format_pseudonym(key_id, p, out);
        }
        let len = u32::try_from(out.len() - len_at - 4).unwrap_or(u32::MAX);
        out[len_at..len_at + 4].copy_from_slice(&len.to_le_bytes());
    }

    /// Reads the entry at the start of `buf` and advances past it; None when it is cut short.
    fn read<'a>(buf: &mut &'a [u8]) -> Option<SpillEntry<'a>> {
        let (codes, rest) = buf.split_at_checked(NQI * 2)?;
        let (key, rest) = rest.split_at_checked(32)?;
        let (len, rest) = rest.split_at_checked(4)?;
        let len = u32::from_le_bytes(len.try_into().ok()?) as usize;
        let (pseudonyms, rest) = rest.split_at_checked(len)?;
        *buf = rest;
        let u128_at =
            |at: usize| u128::from_be_bytes(key[at..at + 16].try_into().unwrap_or_default());
        Some(SpillEntry {
            qi: std::array::from_fn(|i| u16::from_le_bytes([codes[2 * i], codes[2 * i + 1]])),
            key: (u128_at(0), u128_at(16)),
            pseudonyms,
        })
    }
}

/// Released classes (keyed as the histogram keys them) → their quasi-identifier fields at the
/// chosen levels, each with its leading comma. A row whose class is absent is suppressed.
type Classes = FxHashMap<[u16; NQI], Vec<u8>>;

/// Spilled rows carry finest codes, not their class's representative, but both generalize to
/// the same code at or above the floor, so a class's fields are its rows' fields.
fn released_classes(
    hist: &HashMap<Vec<u16>, u64>,
    levels: &[u8],
    release: &privacy::Release,
) -> Classes {
    // Per quasi-identifier: generalized code → its label as a CSV field, rendered once.
    let mut labels: [FxHashMap<u16, Vec<u8>>; NQI] = Default::default();
    let mut classes = Classes::default();
    for key in hist.keys().filter(|key| release.is_released(key)) {
        let Ok(key) = <[u16; NQI]>::try_from(key.as_slice()) else {
            continue;
        };
        let mut fields = Vec::new();
        for (d, q) in Quasi::ALL.iter().enumerate() {
            let code = q.generalize(key[d], levels[d]);
            let label = labels[d].entry(code).or_insert_with(|| {
                let mut field = Vec::new();
                push_csv_field(q.label(code, levels[d]).as_bytes(), &mut field);
                field
            });
            fields.push(b',');
            fields.extend_from_slice(label);
        }
        classes.insert(key, fields);
    }
    classes
}

/// The certificate pseudonym's base32 text as two big-endian integers: they order rows as
/// the published strings do, and compare without a call to `memcmp`.
type SortKey = (u128, u128);

fn sort_key(p: &Pseudo) -> SortKey {
    let mut key = [0; 32];
    if let Pseudo::Value(raw) = p {
        key[..PSEUDONYM_B32_LEN].copy_from_slice(&base32(raw));
    }
    let (high, low) = key.split_at(16);
    let int = |half: &[u8]| u128::from_be_bytes(half.try_into().unwrap_or_default());
    (int(high), int(low))
}

/// Most equivalence classes the histogram holds before a quasi-identifier's finest level is
/// raised: keeps memory bounded by this, not by the number of rows.
const HISTOGRAM_CLASSES: usize = 100_000;

/// The finest level of each quasi-identifier the level search considers. With nine
/// quasi-identifiers almost every row is its own class at the finest levels, so the histogram
/// would grow with the rows; when it passes `HISTOGRAM_CLASSES`, the dimension with the most
/// distinct values is raised one level (as ARX's minimum generalization levels do), merging its
/// classes. A class is keyed by a representative finest code of its group, so the hierarchies
/// apply unchanged above the floor.
#[derive(Default)]
struct Floors {
    level: [u8; NQI],
    /// Per dimension: group code at the floor → the finest code that stands for the group.
    representative: [FxHashMap<u16, u16>; NQI],
}

impl Floors {
    fn canonical(&mut self, qi: &[u16; NQI]) -> [u16; NQI] {
        std::array::from_fn(|d| match self.level[d] {
            0 => qi[d],
            floor => *self.representative[d]
                .entry(Quasi::ALL[d].generalize(qi[d], floor))
                .or_insert(qi[d]),
        })
    }

    /// The representative of codes seen during the scan (every spilled row's were).
    fn lookup(&self, qi: &[u16; NQI]) -> [u16; NQI] {
        std::array::from_fn(|d| match self.level[d] {
            0 => qi[d],
            floor => self.representative[d]
                .get(&Quasi::ALL[d].generalize(qi[d], floor))
                .copied()
                .unwrap_or(qi[d]),
        })
    }

    /// Raises the dimension with the most distinct values at its floor and merges the classes.
    fn raise(&mut self, hist: &mut FxHashMap<[u16; NQI], u64>) {
        let distinct = |d: usize| {
            hist.keys()
                .map(|k| k[d])
                .collect::<std::collections::HashSet<_>>()
                .len()
        };
        let Some(d) = (0..NQI)
            .filter(|&d| self.level[d] < Quasi::ALL[d].top_level())
            .max_by_key(|&d| (distinct(d), std::cmp::Reverse(d)))
        else {
            return;
        };
        self.level[d] += 1;
        let q = Quasi::ALL[d];
        let mut representative = FxHashMap::default();
        let merged: FxHashMap<[u16; NQI], u64> =
            std::mem::take(hist)
                .into_iter()
                .fold(FxHashMap::default(), |mut acc, (mut key, n)| {
                    key[d] = *representative
                        .entry(q.generalize(key[d], self.level[d]))
                        .or_insert(key[d]);
                    *acc.entry(key).or_insert(0) += n;
                    acc
                });
        // Every group seen so far has a class in the histogram, so this covers them all.
        self.representative[d] = representative;
        tracing::debug!(
            quasi_identifier = q.name(),
            level = q.levels()[usize::from(self.level[d])],
            classes = merged.len(),
            "histogram floor raised"
        );
        *hist = merged;
    }

    /// The gate's view of the quasi-identifiers: levels from the floor up.
    fn dimensions(&self) -> Vec<Dimension> {
        Quasi::ALL
            .iter()
            .zip(self.level)
            .map(|(&q, floor)| {
                Dimension::new(
                    q.name(),
                    q.levels().len() as u8 - floor,
                    move |code, level| q.generalize(code, level + floor),
                )
            })
            .collect()
    }
}

fn facts(choice: &Choice, rows: u64) -> ExtractFacts {
    ExtractFacts {
        rows_written: rows - choice.suppressed_rows,
        rows_suppressed: choice.suppressed_rows,
        achieved_k: choice.achieved_k,
        levels: Quasi::ALL
            .iter()
            .zip(&choice.levels)
            .map(|(q, &l)| (q.name().to_string(), q.levels()[usize::from(l)].to_string()))
            .collect(),
    }
}

fn format_pseudonym(key_id: &str, p: &Pseudo, out: &mut Vec<u8>) {
    match p {
        Pseudo::Null => {}
        Pseudo::Erased => out.extend_from_slice(b"erased"),
        Pseudo::Value(raw) => write_raw(key_id, raw, out),
    }
}

/// Bucket of a row: the rank, in ASCII order, of the first base32 character of its certificate
/// pseudonym and the top of the second, so bucket order is the order of the published strings.
fn bucket(p: &Pseudo) -> usize {
    let Pseudo::Value(raw) = p else { return 0 };
    // RFC 4648 lower-case: values 0..=25 are 'a'..'z', 26..=31 are '2'..'7', which sort first.
    let rank = |v: u8| if v >= 26 { v - 26 } else { v + 6 } as usize;
    let c0 = raw[0] >> 3;
    let c1 = ((raw[0] & 0x07) << 2) | (raw[1] >> 6);
    rank(c0) * 8 + rank(c1) / 4
}

/// The public notice an anonymous release carries (APPI: the items the data holds and how it
/// was processed).
pub(crate) const NOTICE: &str = "PUBLIC_NOTICE.md";

/// DATA_DICTIONARY.md for the research extract: every column, its meaning and the rule it meets.
pub(crate) fn dictionary(facts: &ExtractFacts, mode: &str) -> String {
    let mut out = format!(
        "# Research extract: data dictionary\n\n\
         One row per certificate in the source snapshot, {} rows released, {} suppressed by the \
         k-anonymity gate. Release mode: `{mode}`. Rows are sorted by `certificate`.\n\n\
         Pseudonyms are `<key id>_<26 base32 characters>`: the first 128 bits of \
         HMAC-SHA256(key, class 0x1f normalized value). Equal pseudonyms mean equal normalized \
         values of the same class within this release; they cannot be reversed without the key. \
         `erased` means the subject's personal data was erased under the retention policy; an \
         empty field means the source had no value.\n\n\
         | column | type | meaning | privacy rule |\n|---|---|---|---|\n",
        facts.rows_written, facts.rows_suppressed
    );
    let pseudonym_meaning = [
        (
            "certificate",
            "the certificate (its row id)",
            "linking code replaced by a keyed pseudonym; serial numbers and DER are not released",
        ),
        (
            "subscriber",
            "the subscriber (its row id)",
            "linking code replaced by a keyed pseudonym",
        ),
        (
            "subscriber_email",
            "the subscriber's e-mail address, lower-cased",
            "direct identifier replaced by a keyed pseudonym",
        ),
        (
            "subscriber_phone",
            "the subscriber's phone number in E.164",
            "direct identifier replaced by a keyed pseudonym",
        ),
        (
            "person_name",
            "the subscriber's person name, spaces folded",
            "direct identifier replaced by a keyed pseudonym",
        ),
        (
            "organization",
            "the subscriber's organization name",
            "identifier replaced by a keyed pseudonym",
        ),
        (
            "applicant_email",
            "the applicant's e-mail (same pseudonym as the same address elsewhere)",
            "direct identifier replaced by a keyed pseudonym",
        ),
        (
            "approver_email",
            "the domain-validation approver's e-mail",
            "direct identifier replaced by a keyed pseudonym",
        ),
        (
            "acme_account",
            "the ACME account (its row id)",
            "linking code replaced by a keyed pseudonym",
        ),
        (
            "acme_contact",
            "the ACME account's contact e-mail",
            "direct identifier replaced by a keyed pseudonym",
        ),
    ];
    for (name, meaning, rule) in pseudonym_meaning {
        out.push_str(&format!("| `{name}` | pseudonym | {meaning} | {rule} |\n"));
    }
    for (q, (_, level)) in Quasi::ALL.iter().zip(&facts.levels) {
        let meaning = match q {
            Quasi::SubscriberKind => "individual or organization",
            Quasi::Region => {
                "where the subscriber is: two-digit JIS X 0401 prefecture code, ISO 3166 country code abroad, or a coarser level; the postal address itself is not released"
            }
            Quasi::Channel => "how the certificate was ordered: operator, acme, other",
            Quasi::ValidationType => "DV or OV",
            Quasi::Issued => {
                "when the certificate was issued (month, quarter or year; exact times are not released)"
            }
            Quasi::Validity => {
                "validity period bucket on the CA/Browser Forum limits (<=47d, <=100d, <=200d, <=398d, >398d)"
            }
            Quasi::KeyType => "public key algorithm and size",
            Quasi::DomainClass => {
                "class of the common name's domain (co.jp, ac.jp, go.jp, or.jp, ne.jp, gr.jp, ed.jp, lg.jp, general.jp, prefecture.jp, other); the name itself is not released"
            }
            Quasi::Revocation => "not_revoked or the RFC 5280 revocation reason",
        };
        out.push_str(&format!(
            "| `{}` | text | {meaning}; released at level `{level}` | quasi-identifier, generalized; every combination of quasi-identifiers occurs in at least k = {} rows (k-anonymity) |\n",
            q.name(),
            facts.achieved_k.max(1),
        ));
    }
    out.push_str(
        "\nNot released at all: serial numbers, DER, exact timestamps, full domain names, \
         postal addresses and codes, phone and e-mail values, kana readings, row ids.\n",
    );
    out
}

/// PUBLIC_NOTICE.md of an anonymous release.
pub(crate) fn public_notice(facts: &ExtractFacts) -> String {
    format!(
        "# Public notice: anonymously processed information\n\n\
         This release holds anonymously processed information (匿名加工情報) made from the \
         certificate authority's certificate information.\n\n\
         Items released: certificate and subscriber pseudonyms, pseudonyms of e-mail addresses, \
         phone numbers, person and organization names; subscriber kind; region; order channel; \
         validation type; month of issue; validity bucket; key type; domain class; revocation \
         reason.\n\n\
         How it was processed: names, e-mail addresses, phone numbers and ACME contacts were \
         replaced by pseudonyms computed with a random key drawn for this release only and \
         never stored, so they link to nothing outside this release; row ids, serial numbers, \
         DER, exact times and domain names were removed; addresses were reduced to a region, \
         times to {}; every combination of the released attributes occurs in at least {} rows \
         ({} rows that would have been rare were removed).\n",
        facts
            .levels
            .iter()
            .find(|(q, _)| q == "issued")
            .map_or("months", |(_, l)| l.as_str()),
        facts.achieved_k,
        facts.rows_suppressed
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn raising_a_floor_merges_classes_and_keeps_higher_levels() {
        let mut floors = Floors::default();
        let mut hist = FxHashMap::default();
        // Months 300..336 (three years), everything else equal.
        let rows: Vec<[u16; NQI]> = (0..36)
            .map(|m| [1, 13, 1, 1, 300 + m, 4, 1, 1, 1])
            .collect();
        for r in &rows {
            *hist.entry(floors.canonical(r)).or_insert(0) += 1;
        }
        assert_eq!(hist.len(), 36);
        let issued = Quasi::ALL.iter().position(|q| *q == Quasi::Issued).unwrap();
        floors.raise(&mut hist);
        assert_eq!(
            floors.level[issued], 1,
            "months have the most distinct values"
        );
        assert_eq!(hist.len(), 12, "quarters");
        assert_eq!(hist.values().sum::<u64>(), 36);
        for r in &rows {
            let c = floors.lookup(r);
            assert!(hist.contains_key(&c));
            for level in 1..=3 {
                assert_eq!(
                    Quasi::Issued.generalize(c[issued], level),
                    Quasi::Issued.generalize(r[issued], level)
                );
            }
            assert_eq!(floors.canonical(r), c);
        }
        let dims = floors.dimensions();
        assert_eq!(dims[issued].levels, 3, "quarter, year, *");
    }

    #[test]
    fn spill_entries_read_back_and_a_cut_entry_is_refused() {
        let pseudonyms = std::array::from_fn(|i| match i % 3 {
            0 => Pseudo::Value([i as u8; 16]),
            1 => Pseudo::Erased,
            _ => Pseudo::Null,
        });
        let record = Record {
            qi: [1, 13, 2, 1, 316, 4, 1, 1, 1],
            pseudonyms,
            issued_month: 0,
            not_before: None,
            not_after: None,
            revoked_at: None,
            region: 13,
        };
        let mut buf = Vec::new();
        SpillEntry::write(&record, "k1", &mut buf);
        let one = buf.len();
        SpillEntry::write(&record, "k1", &mut buf);
        let mut text = Vec::new();
        for (column, p) in pseudonyms.iter().enumerate() {
            if column > 0 {
                text.push(b',');
            }
            format_pseudonym("k1", p, &mut text);
        }
        let mut rest = buf.as_slice();
        for _ in 0..2 {
            let entry = SpillEntry::read(&mut rest).expect("an entry");
            assert_eq!(entry.qi, record.qi);
            assert_eq!(entry.key, sort_key(&pseudonyms[CERTIFICATE]));
            assert_eq!(entry.pseudonyms, text.as_slice());
        }
        assert!(rest.is_empty());
        let mut cut = &buf[..one - 1];
        assert!(SpillEntry::read(&mut cut).is_none());
    }

    proptest! {
        #[test]
        fn bucket_order_is_pseudonym_order(a: [u8; 16], b: [u8; 16]) {
            let (mut sa, mut sb) = (Vec::new(), Vec::new());
            write_raw("k", &a, &mut sa);
            write_raw("k", &b, &mut sb);
            let (ba, bb) = (bucket(&Pseudo::Value(a)), bucket(&Pseudo::Value(b)));
            prop_assert!(ba < BUCKETS);
            if ba < bb {
                prop_assert!(sa < sb);
            }
        }
    }
}
