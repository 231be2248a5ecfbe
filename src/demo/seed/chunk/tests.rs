//! Tests of the chunk generator: determinism, the ballot-date validity limits, and rows that are consistent with each other and realistic.

use super::*;
use std::collections::HashSet;

const AS_OF: i64 = 1_793_404_800; // 2026-10-31

fn tail(seed: u64, certificates: u64) -> Tail {
    Tail::plan(seed, AS_OF, certificates, &operator_weights(30), true)
}

fn sample(seed: u64, chunks: u64) -> Vec<Chunk> {
    let ops = operators(seed, 30);
    let tail = tail(seed, chunks * CHUNK_CERTIFICATES);
    let ctx = Context::new(seed, AS_OF, &ops, &tail);
    (0..chunks)
        .map(|i| ctx.chunk(i, CHUNK_CERTIFICATES as usize))
        .collect()
}

fn year_of(t: i64) -> i64 {
    1970 + (t as f64 / YEAR) as i64
}

#[test]
fn limits_follow_the_ballot_dates() {
    assert_eq!(cab_limit_days(START), 1185);
    assert_eq!(cab_limit_days(1_519_862_399), 1185);
    assert_eq!(cab_limit_days(1_519_862_400), 825);
    assert_eq!(cab_limit_days(1_598_918_400), 398);
    assert_eq!(cab_limit_days(1_773_532_800), 200);
    assert_eq!(cab_limit_days(1_805_068_800), 100);
    assert_eq!(cab_limit_days(1_868_140_800), 47);
}

#[test]
fn corporate_number_check_digit_matches_a_known_number() {
    // 法人番号 7000012050002 (国税庁's own published example).
    let base = [0, 0, 0, 0, 1, 2, 0, 5, 0, 0, 0, 2];
    assert_eq!(corporate_check_digit(&base), 7);
}

#[test]
fn chunks_are_deterministic_and_seed_dependent() {
    let a = &sample(42, 1)[0];
    let b = &sample(42, 1)[0];
    let c = &sample(43, 1)[0];
    let key = |ch: &Chunk| {
        ch.certificates
            .iter()
            .map(|c| (c.serial_number.clone(), c.not_after))
            .collect::<Vec<_>>()
    };
    assert_eq!(key(a), key(b));
    assert_eq!(
        a.subscribers
            .iter()
            .map(|s| s.email.clone())
            .collect::<Vec<_>>(),
        b.subscribers
            .iter()
            .map(|s| s.email.clone())
            .collect::<Vec<_>>()
    );
    assert_ne!(key(a), key(c));
}

#[test]
fn chunk_holds_exactly_its_certificates() {
    let ops = operators(1, 30);
    let tail = tail(1, 6_000);
    let ctx = Context::new(1, AS_OF, &ops, &tail);
    for n in [1, 7, 1000] {
        assert_eq!(ctx.chunk(5, n).certificates.len(), n);
    }
}

#[test]
fn applications_and_certificates_are_consistent() {
    let mut serials = HashSet::new();
    for ch in &sample(7, 40) {
        for a in &ch.applications {
            assert!(a.submitted_at <= AS_OF);
            assert_eq!(a.channel == "acme", a.acme_account.is_some());
            assert_eq!(a.channel == "operator", a.operator_id.is_some());
        }
        for c in &ch.certificates {
            let app = &ch.applications[c.application as usize];
            assert_eq!(app.status, "issued");
            assert!(c.issued_at >= app.submitted_at && c.issued_at <= AS_OF);
            assert!(c.issued_at >= START);
            let validity = c.not_after - c.not_before;
            assert!(
                validity > 0 && validity <= cab_limit_days(c.issued_at) * DAY,
                "{validity}"
            );
            assert!((c.issued_at - c.not_before).abs() <= HOUR);
            assert!((16..=40).contains(&c.serial_number.len()));
            assert!(serials.insert(c.serial_number.clone()));
            assert!(c.subject_alt_names.contains(&c.common_name));
            assert!((1..=5).contains(&c.subject_alt_names.len()));
            assert_eq!(c.validation_type == "OV", c.subject_organization.is_some());
            let expect_sig = match (c.key_algorithm, c.key_size) {
                ("ECDSA", 256) => "ecdsa-with-SHA256",
                ("ECDSA", 384) => "ecdsa-with-SHA384",
                _ => "sha256WithRSAEncryption",
            };
            assert_eq!(c.signature_algorithm, expect_sig);
        }
        for r in &ch.revocations {
            let c = &ch.certificates[r.certificate as usize];
            assert!(
                r.revoked_at > c.not_before && r.revoked_at <= c.not_after && r.revoked_at <= AS_OF
            );
        }
        for s in &ch.subscribers {
            assert!(s.updated_at >= s.created_at);
        }
    }
}

#[test]
fn acme_accounts_belong_to_their_subscriber_and_are_reused() {
    let mut thumbprints = HashSet::new();
    for ch in &sample(7, 40) {
        let acme_subscribers: HashSet<SubscriberRef> = ch
            .applications
            .iter()
            .filter(|a| a.channel == "acme")
            .map(|a| a.subscriber)
            .collect();
        for a in ch.applications.iter().filter(|a| a.channel == "acme") {
            let acc = a.acme_account.map(|x| &ch.acme_accounts[x as usize]);
            assert!(acc.is_some_and(|acc| acc.subscriber == a.subscriber));
        }
        // Accounts are reused across renewals; key rollovers add only a few.
        assert!(ch.acme_accounts.len() * 4 <= acme_subscribers.len() * 5);
        for a in &ch.acme_accounts {
            assert!(thumbprints.insert(a.key_thumbprint.clone()));
            assert!(a.deactivated_at.is_none_or(|d| d >= a.created_at));
        }
    }
}

#[test]
fn shares_of_kinds_validations_and_revocations_are_realistic() {
    let chunks = sample(7, 40);
    let (mut certs, mut ov, mut revoked, mut orgs) = (0usize, 0usize, 0usize, 0usize);
    let mut subs = tail(7, 40 * CHUNK_CERTIFICATES).subscribers.len();
    let mut reasons = std::collections::BTreeMap::<i16, u32>::new();
    for ch in &chunks {
        subs += ch.subscribers.len();
        orgs += ch
            .subscribers
            .iter()
            .filter(|s| s.kind == "organization")
            .count();
        certs += ch.certificates.len();
        revoked += ch.revocations.len();
        ov += ch
            .certificates
            .iter()
            .filter(|c| c.validation_type == "OV")
            .count();
        for r in &ch.revocations {
            *reasons.entry(r.reason_code).or_default() += 1;
        }
    }
    let per_sub = certs as f64 / subs as f64;
    assert!(
        (3.0..=5.0).contains(&per_sub),
        "{per_sub} certificates per subscriber"
    );
    let org_share = orgs as f64 / subs as f64;
    assert!((0.65..0.75).contains(&org_share), "{org_share}");
    let ov_share = ov as f64 / certs as f64;
    assert!((0.08..0.22).contains(&ov_share), "OV share {ov_share}");
    let rev_share = revoked as f64 / certs as f64;
    assert!((0.02..0.04).contains(&rev_share), "revoked {rev_share}");
    assert!(reasons[&4] > reasons[&1] && reasons[&1] > reasons.get(&9).copied().unwrap_or(0));
}

#[test]
fn acme_statuses_and_volume_change_over_the_years_as_they_did() {
    let chunks = sample(7, 40);
    let mut acme_by_year = std::collections::BTreeMap::<i64, (u32, u32)>::new();
    let mut statuses = std::collections::BTreeMap::<&str, u32>::new();
    for a in chunks.iter().flat_map(|ch| &ch.applications) {
        *statuses.entry(a.status).or_default() += 1;
        let e = acme_by_year.entry(year_of(a.submitted_at)).or_default();
        e.0 += u32::from(a.channel == "acme");
        e.1 += 1;
    }
    let share = |y: i64| {
        acme_by_year
            .get(&y)
            .map_or(0.0, |&(a, n)| f64::from(a) / f64::from(n))
    };
    assert!(share(2016) < 0.15, "ACME 2016 {}", share(2016));
    assert!(
        (0.4..0.75).contains(&share(2026)),
        "ACME 2026 {}",
        share(2026)
    );
    assert!(
        statuses["issued"]
            > 10 * (statuses["pending"] + statuses["rejected"] + statuses["cancelled"])
    );
    assert!(statuses["pending"] > 0 && statuses["rejected"] > 0 && statuses["cancelled"] > 0);
    let volume = |y: i64| {
        chunks
            .iter()
            .flat_map(|c| &c.certificates)
            .filter(|c| year_of(c.issued_at) == y)
            .count()
    };
    assert!(
        volume(2025) > 2 * volume(2015),
        "{} vs {}",
        volume(2025),
        volume(2015)
    );
}

#[test]
fn some_subscribers_expired_long_ago_and_some_of_those_have_pending_orders() {
    let chunks = sample(11, 20);
    let horizon = AS_OF - 3 * 365 * DAY;
    let (mut expired, mut expired_pending) = (0, 0);
    for ch in &chunks {
        let mut last_expiry = vec![i64::MIN; ch.subscribers.len()];
        let mut pending = vec![false; ch.subscribers.len()];
        for c in &ch.certificates {
            if let SubscriberRef::InChunk(s) = ch.applications[c.application as usize].subscriber {
                let s = s as usize;
                last_expiry[s] = last_expiry[s].max(c.not_after);
            }
        }
        for a in &ch.applications {
            if let SubscriberRef::InChunk(s) = a.subscriber {
                pending[s as usize] |= a.status == "pending";
            }
        }
        for (s, &e) in last_expiry.iter().enumerate() {
            if e != i64::MIN && e < horizon {
                expired += 1;
                expired_pending += usize::from(pending[s]);
            }
        }
    }
    assert!(expired > 100, "{expired}");
    assert!(expired_pending > 0);
}

proptest::proptest! {
    #[test]
    fn validity_stays_within_the_limit_and_near_it(
        issued_at in START..START + 20 * 365 * DAY,
        acme: bool,
        seed: u64,
    ) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let days = validity_days(&mut rng, issued_at, acme);
        let limit = cab_limit_days(issued_at);
        proptest::prop_assert!(days > 0 && days <= limit, "{days} > {limit}");
        proptest::prop_assert!(days >= limit.min(365) * 3 / 4 || acme, "{days} far below {limit}");
    }
}

#[test]
fn mix_is_injective_on_a_sample() {
    let outs: HashSet<u64> = (0..100_000u64).map(mix).collect();
    assert_eq!(outs.len(), 100_000);
}

/// Certificates each subscriber holds, largest first, over `chunks` full chunks.
fn holdings(seed: u64, chunks: u64) -> Vec<usize> {
    let mut large = std::collections::HashMap::<u32, usize>::new();
    let mut counts = Vec::new();
    for ch in sample(seed, chunks) {
        let mut local = vec![0; ch.subscribers.len()];
        for c in &ch.certificates {
            match ch.applications[c.application as usize].subscriber {
                SubscriberRef::InChunk(s) => local[s as usize] += 1,
                SubscriberRef::Large(r) => *large.entry(r).or_default() += 1,
            }
        }
        counts.extend(local.into_iter().filter(|&n| n > 0));
    }
    counts.extend(large.into_values());
    counts.sort_unstable_by(|a, b| b.cmp(a));
    counts
}

/// A few subscribers hold hundreds of certificates, most hold one to three, and the large
/// ones' certificates, issued across many chunks, add up.
#[test]
fn certificates_per_subscriber_are_heavy_tailed() {
    let h = holdings(5, 50);
    let total: usize = h.iter().sum();
    assert_eq!(total, 50_000);
    assert_eq!(h[0], 500, "the largest holds 1%");
    let hundreds = h.iter().filter(|&&n| n >= 100).count();
    assert!((5..=10).contains(&hundreds), "{hundreds} hold 100 or more");
    let few = h.iter().filter(|&&n| n <= 3).count();
    assert!(few * 2 > h.len(), "{few} of {} hold 1 to 3", h.len());
}
