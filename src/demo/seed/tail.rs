//! The heavy tail of subscribers: hosting resellers and enterprises that hold hundreds or
//! thousands of certificates, as real CAs have. Their sizes follow a rank-size law (the largest
//! holds about 1% of all certificates, the i-th largest i^-0.8 of that, down to
//! `SMALLEST` certificates), so at a million certificates about 300 hold 100 or more. A few
//! stand out the way real ones do: enterprises in a small prefecture, one on a rare key type,
//! one that issued in bulk in a single month.
//!
//! Their certificates are spread over the chunks in rank order, each chunk issuing its
//! proportional share of the whole sequence, so a large subscriber's certificates span many
//! chunks while every chunk is still built on its own. Their subscriber rows are planned here,
//! before any chunk, and written first, so rank index r gets subscriber id r + 1.

use chrono::{Datelike, TimeZone, Utc};
use rand::Rng;

use super::chunk::{self, DAY, SubscriberRow};
use super::dist::Weighted;
use super::japan::PREFECTURES;
use super::person::{self, Identity};

/// Certificates the largest subscriber holds, as a share of all of them.
const LARGEST_SHARE: f64 = 0.01;
/// Exponent of the rank-size law.
const EXPONENT: f64 = 0.8;
/// Below this many certificates the ordinary subscribers' own spread takes over.
const SMALLEST: u64 = 20;
/// Ranks (1-based) of enterprises concentrated in a small prefecture, with that prefecture.
const SMALL_PREFECTURES: [(usize, &str); 4] =
    [(3, "鳥取県"), (6, "島根県"), (12, "高知県"), (24, "徳島県")];
/// Rank of the subscriber that issues only ECDSA P-384 certificates.
const RARE_KEY_RANK: usize = 5;
/// Rank of the subscriber that issued a large part of its certificates in one month.
const BULK_RANK: usize = 4;
/// Share of the bulk issuer's certificates issued in its bulk month.
pub const BULK_SHARE: f64 = 0.4;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Certificates for its customers' domains.
    Hosting,
    /// Certificates for hosts of its own domain.
    Enterprise,
}

/// A key type a subscriber uses for every certificate.
pub type Key = (&'static str, i32, &'static str);

pub struct Large {
    pub identity: Identity,
    pub style: Style,
    /// First order; every site of the subscriber starts after it.
    pub since: i64,
    pub operator: Option<usize>,
    pub wants_ov: bool,
    /// Multiplies the ordinary subscriber's chance of ordering through ACME (0: never).
    pub acme_uptake: f64,
    pub key: Option<Key>,
    /// Start of the month in which `BULK_SHARE` of its certificates were issued.
    pub bulk_month: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

pub struct Tail {
    pub subscribers: Vec<Large>,
    /// `starts[r]`: position of rank r's first certificate in the sequence of all large
    /// subscribers' certificates, in rank order; the last entry is their total.
    starts: Vec<u64>,
    /// All certificates of the seed, large subscribers' and ordinary ones'.
    total: u64,
}

/// Certificate counts of the large subscribers, largest first.
fn sizes(total: u64) -> Vec<u64> {
    let largest = total as f64 * LARGEST_SHARE;
    (1..)
        .map(|rank: i32| (largest * f64::from(rank).powf(-EXPONENT)).round() as u64)
        .take_while(|&n| n >= SMALLEST)
        .collect()
}

impl Tail {
    /// The large subscribers of a seed of `total` certificates, drawn from their own stream.
    pub fn plan(
        seed: u64,
        as_of: i64,
        total: u64,
        operators: &Weighted,
        has_operators: bool,
    ) -> Tail {
        let mut rng = chunk::stream(seed, u64::MAX - 1);
        let sizes = sizes(total);
        let mut starts = vec![0];
        let mut subscribers = Vec::with_capacity(sizes.len());
        for (i, &certificates) in sizes.iter().enumerate() {
            starts.push(starts[i] + certificates);
            let rank = i + 1;
            let small = SMALL_PREFECTURES
                .iter()
                .find(|p| p.0 == rank)
                .and_then(|p| PREFECTURES.iter().position(|x| x.name == p.1));
            let style = if small.is_none() && rank % 3 == 1 {
                Style::Hosting
            } else {
                Style::Enterprise
            };
            let wants_ov = small.is_some() || (style == Style::Enterprise && rng.gen_bool(0.4));
            let acme_uptake = match (style, wants_ov) {
                (Style::Hosting, _) => 3.0,
                (_, true) => 0.0,
                _ => 1.0,
            };
            let latest_start = (as_of - 2 * 365 * DAY).max(chunk::START);
            let mut since = rng.gen_range(chunk::START..=latest_start);
            let bulk_month = (rank == BULK_RANK).then(|| {
                let month = month_start(rng.gen_range(since..=as_of - 45 * DAY));
                since = since.min(month);
                month
            });
            let created_at = (since - rng.gen_range(0..30 * DAY)).max(chunk::START - 180 * DAY);
            let updated_at = if rng.gen_bool(0.5) {
                rng.gen_range(created_at..=as_of)
            } else {
                created_at
            };
            subscribers.push(Large {
                identity: person::organization_identity(&mut rng, small),
                style,
                since,
                operator: has_operators.then(|| operators.sample(&mut rng)),
                wants_ov,
                acme_uptake,
                key: (rank == RARE_KEY_RANK).then_some(("ECDSA", 384, "ecdsa-with-SHA384")),
                bulk_month,
                created_at,
                updated_at,
            });
        }
        Tail {
            subscribers,
            starts,
            total,
        }
    }

    /// The large subscribers' rows, in rank order.
    pub fn rows(&self) -> Vec<SubscriberRow> {
        self.subscribers
            .iter()
            .map(|l| {
                let id = &l.identity;
                SubscriberRow {
                    kind: id.kind.as_str(),
                    organization_name: id.organization_name.clone(),
                    person_name: id.person_name.clone(),
                    person_name_kana: id.person_name_kana.clone(),
                    email: id.email.clone(),
                    phone: id.phone.clone(),
                    postal_code: id.postal_code.clone(),
                    postal_address: id.postal_address.clone(),
                    country: id.country,
                    created_at: l.created_at,
                    updated_at: l.updated_at,
                }
            })
            .collect()
    }

    /// (rank index, count) of the large subscribers' certificates that the chunk holding the
    /// seed's certificates `first..first + len` issues: its proportional share of the
    /// sequence, so the shares add up exactly and each chunk holds about the same fraction.
    pub fn pieces(&self, first: u64, len: u64) -> Vec<(usize, usize)> {
        let large = self.starts.last().copied().unwrap_or(0);
        if self.total == 0 || large == 0 {
            return Vec::new();
        }
        let at = |n: u64| (u128::from(large) * u128::from(n) / u128::from(self.total)) as u64;
        let (lo, hi) = (at(first), at(first + len));
        let mut rank = self.starts.partition_point(|&s| s <= lo).saturating_sub(1);
        let mut pieces = Vec::new();
        while rank < self.subscribers.len() && self.starts[rank] < hi {
            let from = self.starts[rank].max(lo);
            let to = self.starts[rank + 1].min(hi);
            if to > from {
                pieces.push((rank, (to - from) as usize));
            }
            rank += 1;
        }
        pieces
    }
}

/// Midnight UTC on the first day of the month holding `t`.
fn month_start(t: i64) -> i64 {
    Utc.timestamp_opt(t, 0)
        .single()
        .and_then(|d| {
            Utc.with_ymd_and_hms(d.year(), d.month(), 1, 0, 0, 0)
                .single()
        })
        .map_or(t, |d| d.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_the_rank_size_law() {
        let s = sizes(1_000_000);
        assert_eq!(s[0], 10_000);
        let hundred_or_more = s.iter().filter(|&&n| n >= 100).count();
        assert!((250..400).contains(&hundred_or_more), "{hundred_or_more}");
        assert!(s.windows(2).all(|w| w[0] >= w[1]));
        assert!(sizes(1_000).is_empty());
    }

    #[test]
    fn pieces_add_up_to_every_large_subscribers_certificates() {
        let ops = Weighted::new([1, 1]);
        let total = 123_456;
        let tail = Tail::plan(3, 1_793_404_800, total, &ops, true);
        let mut got = vec![0u64; tail.subscribers.len()];
        let mut first = 0;
        while first < total {
            let len = (total - first).min(1_000);
            let pieces = tail.pieces(first, len);
            assert!(pieces.iter().map(|p| p.1 as u64).sum::<u64>() <= len / 4);
            for (rank, n) in pieces {
                got[rank] += n as u64;
            }
            first += len;
        }
        let want: Vec<u64> = tail.starts.windows(2).map(|w| w[1] - w[0]).collect();
        assert_eq!(got, want);
        assert_eq!(want, sizes(total));
    }

    #[test]
    fn the_small_prefecture_enterprises_are_there() {
        let tail = Tail::plan(3, 1_793_404_800, 100_000, &Weighted::new([1]), true);
        for (rank, pref) in SMALL_PREFECTURES {
            let l = &tail.subscribers[rank - 1];
            let address = l.identity.postal_address.as_deref().unwrap_or_default();
            let city = PREFECTURES
                .iter()
                .find(|p| p.name == pref)
                .map(|p| p.cities);
            assert!(
                address.starts_with(pref)
                    || city.is_some_and(|c| c.iter().any(|c| address.starts_with(c.name))),
                "{address}"
            );
            assert!(l.wants_ov && l.identity.organization.is_some());
        }
        assert!(tail.subscribers[BULK_RANK - 1].bulk_month.is_some());
        assert!(tail.subscribers[RARE_KEY_RANK - 1].key.is_some());
    }
}
