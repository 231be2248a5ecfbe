//! One chunk of the synthetic database: subscribers and everything that hangs off them (ACME
//! accounts, applications, certificates, revocations, legal holds), drawn from the chunk's own
//! RNG stream so chunks can be built on any thread in any order and still come out the same.
//! Row references inside a chunk are chunk-local indices; the writer turns them into ids.

use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

use super::dist::{Weighted, pick};
use super::japan;
use super::person::{self, Identity, Kind, Person, Phone};
use super::tail::{Key, Tail};

mod piece;

pub const DAY: i64 = 86_400;
const HOUR: i64 = 3_600;
/// 2015-01-01T00:00:00Z: the first certificate of the synthetic CA.
pub const START: i64 = 1_420_070_400;
const YEAR: f64 = 365.25 * 86_400.0;

/// Certificates per chunk; every chunk but the last holds exactly this many.
pub const CHUNK_CERTIFICATES: u64 = 1_000;

/// Maximum certificate validity (days) by issue date under the CA/Browser Forum Baseline
/// Requirements: 39 months before 2018-03-01, then 825, 398, 200, 100 and finally 47 days.
pub fn cab_limit_days(issued_at: i64) -> i64 {
    const STEPS: [(i64, i64); 5] = [
        (1_519_862_400, 1185), // 2018-03-01
        (1_598_918_400, 825),  // 2020-09-01
        (1_773_532_800, 398),  // 2026-03-15
        (1_805_068_800, 200),  // 2027-03-15
        (1_868_140_800, 100),  // 2029-03-15
    ];
    STEPS
        .iter()
        .find(|&&(until, _)| issued_at < until)
        .map_or(47, |&(_, days)| days)
}

/// Validity in days for a certificate issued at `issued_at`: ACME certificates 90 days;
/// others 1 or 2 years before 2018, then mostly the maximum allowed, some shorter.
fn validity_days<R: Rng>(rng: &mut R, issued_at: i64, acme: bool) -> i64 {
    let limit = cab_limit_days(issued_at);
    if acme {
        return limit.min(90);
    }
    let typical = if limit > 825 {
        if rng.gen_bool(0.55) { 730 } else { 365 }
    } else if limit == 825 {
        pick(rng, &[825, 825, 730, 398])
    } else {
        limit
    };
    if rng.gen_bool(0.12) {
        typical - rng.gen_range(1..=typical / 4)
    } else {
        typical
    }
}

pub struct Operator {
    pub id: i64,
    pub name: String,
    pub corporate_number: Option<String>,
    pub created_at: i64,
    pub domain: String,
    phone: Phone,
}

/// Check digit of a Japanese corporate number (法人番号) for its 12-digit base.
fn corporate_check_digit(base: &[u8; 12]) -> u8 {
    let sum: u32 = base
        .iter()
        .rev()
        .enumerate()
        .map(|(n, &d)| u32::from(d) * if n % 2 == 0 { 1 } else { 2 })
        .sum();
    9 - (sum % 9) as u8
}

/// The designated operators (resellers): businesses, drawn from their own stream.
pub fn operators(seed: u64, count: usize) -> Vec<Operator> {
    let mut rng = stream(seed, u64::MAX);
    (0..count)
        .map(|i| {
            let pref = rng.gen_range(0..japan::PREFECTURES.len());
            let org = person::company(&mut rng, pref);
            let corporate_number = rng.gen_bool(0.9).then(|| {
                let mut base = [0u8; 12];
                base.iter_mut().for_each(|d| *d = rng.gen_range(0..10));
                let check = corporate_check_digit(&base);
                std::iter::once(check)
                    .chain(base)
                    .map(|d| char::from(b'0' + d))
                    .collect()
            });
            let area = japan::PREFECTURES[pref].area_code;
            Operator {
                id: i as i64 + 1,
                name: org.name,
                corporate_number,
                created_at: START - rng.gen_range(30 * DAY..3_650 * DAY),
                domain: org.domain,
                phone: Phone::random_japanese(&mut rng, area, false),
            }
        })
        .collect()
}

pub fn stream(seed: u64, index: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(index);
    rng
}

/// Whose an ACME account or application is: a subscriber of the same chunk (by index) or a
/// large subscriber of the tail (by rank index), whose row is written before any chunk.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum SubscriberRef {
    InChunk(u32),
    Large(u32),
}

pub struct SubscriberRow {
    pub kind: &'static str,
    pub organization_name: Option<String>,
    pub person_name: Option<String>,
    pub person_name_kana: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub postal_code: Option<String>,
    pub postal_address: Option<String>,
    pub country: &'static str,
    pub created_at: i64,
    pub updated_at: i64,
}

pub struct AcmeRow {
    pub subscriber: SubscriberRef,
    pub contact_email: Option<String>,
    pub key_thumbprint: String,
    pub created_at: i64,
    pub deactivated_at: Option<i64>,
}

pub struct ApplicationRow {
    pub subscriber: SubscriberRef,
    pub operator_id: Option<i64>,
    pub acme_account: Option<u32>,
    pub channel: &'static str,
    pub product: &'static str,
    pub applicant_name: Option<String>,
    pub applicant_email: Option<String>,
    pub applicant_phone: Option<String>,
    pub approver_email: Option<String>,
    pub submitted_at: i64,
    pub status: &'static str,
}

pub struct CertificateRow {
    pub application: u32,
    pub serial_number: String,
    pub common_name: String,
    pub subject_alt_names: Vec<String>,
    pub subject_organization: Option<String>,
    pub validation_type: &'static str,
    pub key_algorithm: &'static str,
    pub key_size: i32,
    pub signature_algorithm: &'static str,
    pub not_before: i64,
    pub not_after: i64,
    pub issued_at: i64,
    pub ct_precert_logged: bool,
    pub der: Vec<u8>,
}

pub struct RevocationRow {
    pub certificate: u32,
    pub revoked_at: i64,
    pub reason_code: i16,
    pub requested_by: &'static str,
}

pub struct LegalHoldRow {
    pub subscriber: u32,
    pub reason: &'static str,
    pub placed_at: i64,
    pub released_at: Option<i64>,
}

#[derive(Default)]
pub struct Chunk {
    pub subscribers: Vec<SubscriberRow>,
    pub acme_accounts: Vec<AcmeRow>,
    pub applications: Vec<ApplicationRow>,
    pub certificates: Vec<CertificateRow>,
    pub revocations: Vec<RevocationRow>,
    pub legal_holds: Vec<LegalHoldRow>,
}

/// How often each of `count` operators handles an order: Zipf-like, a few large resellers
/// handle most of them.
pub fn operator_weights(count: usize) -> Weighted {
    Weighted::new((0..count as u32).map(|i| 10_000 / (i + 1)))
}

/// What every chunk shares: the seed, the latest issue time, the operators and the large
/// subscribers.
pub struct Context<'a> {
    pub seed: u64,
    pub as_of: i64,
    pub operators: &'a [Operator],
    operator_weights: Weighted,
    tail: &'a Tail,
}

impl<'a> Context<'a> {
    pub fn new(seed: u64, as_of: i64, operators: &'a [Operator], tail: &'a Tail) -> Self {
        Context {
            seed,
            as_of,
            operators,
            operator_weights: operator_weights(operators.len()),
            tail,
        }
    }

    /// Chunk `index`, holding exactly `certificates` certificates: its share of the large
    /// subscribers' certificates, then ordinary subscribers.
    pub fn chunk(&self, index: u64, certificates: usize) -> Chunk {
        let mut g = Gen {
            ctx: self,
            rng: stream(self.seed, index),
            index,
            out: Chunk::default(),
        };
        let first = index * CHUNK_CERTIFICATES;
        for (rank, count) in self.tail.pieces(first, certificates as u64) {
            g.piece(rank, count);
        }
        while g.out.certificates.len() < certificates {
            g.subscriber(certificates - g.out.certificates.len());
        }
        g.out
    }
}

static REASONS: &[(i16, u32)] = &[(4, 34), (5, 24), (1, 12), (0, 22), (3, 6), (9, 2)];

struct Gen<'c, 'a> {
    ctx: &'c Context<'a>,
    rng: ChaCha8Rng,
    index: u64,
    out: Chunk,
}

/// Per-subscriber state that renewals carry forward.
struct Habits {
    sub: SubscriberRef,
    operator: Option<usize>,
    wants_ov: bool,
    /// Names on the certificate, common name first; kept across renewals until the
    /// subscriber reorganizes its hosts.
    names: Vec<String>,
    account: Option<u32>,
    prev_acme: bool,
    /// Multiplies the usual chance of ordering through ACME.
    acme_uptake: f64,
    /// The key type of every certificate, when the subscriber always uses the same one.
    key: Option<Key>,
}

impl Gen<'_, '_> {
    fn subscriber(&mut self, budget: usize) {
        let id = person::identity(&mut self.rng);
        let sub = self.out.subscribers.len() as u32;
        let t0 = self.start_time();
        let created_at = (t0 - self.rng.gen_range(0..30 * DAY)).max(START - 180 * DAY);
        let mut h = Habits {
            sub: SubscriberRef::InChunk(sub),
            operator: (!self.ctx.operators.is_empty())
                .then(|| self.ctx.operator_weights.sample(&mut self.rng)),
            wants_ov: id.kind == Kind::Organization && self.rng.gen_bool(0.3),
            names: self.names(&id.domain),
            account: None,
            prev_acme: false,
            acme_uptake: 1.0,
            key: None,
        };
        let last_activity = if self.rng.gen_bool(0.02) {
            self.unsuccessful_only(&id, &mut h, t0)
        } else {
            let planned = self.planned_certificates().min(budget);
            self.chain(&id, &mut h, t0, planned)
        };
        if let Some(acc) = h.account.filter(|_| self.rng.gen_bool(0.08)) {
            let at = last_activity + self.rng.gen_range(DAY..200 * DAY);
            let row = &mut self.out.acme_accounts[acc as usize];
            if at <= self.ctx.as_of && row.deactivated_at.is_none() {
                row.deactivated_at = Some(at);
            }
        }
        let updated_at = if self.rng.gen_bool(0.5) {
            created_at + self.rng.gen_range(0..=(last_activity - created_at).max(0))
        } else {
            created_at
        };
        if self.rng.gen_bool(0.001) {
            self.legal_hold(sub, created_at);
        }
        self.out.subscribers.push(SubscriberRow {
            kind: id.kind.as_str(),
            organization_name: id.organization_name,
            person_name: id.person_name,
            person_name_kana: id.person_name_kana,
            email: id.email,
            phone: id.phone,
            postal_code: id.postal_code,
            postal_address: id.postal_address,
            country: id.country,
            created_at,
            updated_at,
        });
    }

    /// When a subscriber first applies: more subscribers join in later years (density rising
    /// linearly from 1 to 3 over the period).
    fn start_time(&mut self) -> i64 {
        let v: f64 = self.rng.r#gen();
        let u = ((1.0 + 8.0 * v).sqrt() - 1.0) / 2.0;
        let span = (self.ctx.as_of - START - DAY) as f64;
        START + (u * span) as i64
    }

    fn planned_certificates(&mut self) -> usize {
        let mut k = 1;
        while k < 40 && self.rng.gen_bool(0.8) {
            k += 1;
        }
        k
    }

    /// Common name (apex, www, wildcard or another host of the domain) and 1 to 5 SANs that
    /// include it.
    fn names(&mut self, domain: &str) -> Vec<String> {
        let rng = &mut self.rng;
        let host = match rng.gen_range(0..100) {
            0..25 => "",
            25..70 => "www",
            70..82 => "*",
            _ => pick(rng, japan::HOSTS),
        };
        let mut names = vec![match host {
            "" => domain.to_string(),
            host => format!("{host}.{domain}"),
        }];
        match host {
            "*" | "www" if rng.gen_bool(0.8) => names.push(domain.to_string()),
            "" if rng.gen_bool(0.7) => names.push(format!("www.{domain}")),
            _ => {}
        }
        for _ in 0..rng.gen_range(0..=3).min(5 - names.len()) {
            let extra = format!("{}.{domain}", pick(rng, japan::HOSTS));
            if !names.contains(&extra) {
                names.push(extra);
            }
        }
        names
    }

    /// ACME's share of new applications rises from about 5% in 2016 to about 60% in 2026
    /// (scaled by the subscriber's `uptake`); a subscriber who automated usually stays
    /// automated.
    fn choose_acme(&mut self, t: i64, prev_acme: bool, uptake: f64) -> bool {
        let years = (t - 1_451_606_400) as f64 / YEAR; // since 2016-01-01
        let share = (0.06 * years).clamp(0.01, 0.62) * 0.6 * uptake;
        (prev_acme && self.rng.gen_bool(0.75)) || self.rng.gen_bool(share.min(0.95))
    }

    /// Renewal after renewal until the planned count, the subscriber leaving, or `as_of`.
    /// Returns the time of the last activity.
    fn chain(&mut self, id: &Identity, h: &mut Habits, t0: i64, planned: usize) -> i64 {
        let as_of = self.ctx.as_of;
        let mut t = t0;
        let mut last = t0;
        let mut issued = 0;
        while issued < planned && t <= as_of {
            last = t;
            let acme = self.choose_acme(t, h.prev_acme, h.acme_uptake);
            h.prev_acme = acme;
            if !acme && self.rng.gen_bool(0.03) {
                let at = (t - self.rng.gen_range(HOUR..10 * DAY)).max(t0);
                let status = if self.rng.gen_bool(0.6) {
                    "rejected"
                } else {
                    "cancelled"
                };
                self.application(id, h, at, false, status);
            }
            let delay = if acme {
                self.rng.gen_range(5..600)
            } else if h.wants_ov {
                self.rng.gen_range(DAY..10 * DAY)
            } else {
                self.rng
                    .gen_range(600..2 * DAY)
                    .min(self.rng.gen_range(600..2 * DAY))
            };
            let issued_at = t + delay;
            if issued_at > as_of {
                self.application(id, h, t, acme, "pending");
                return t;
            }
            let app = self.application(id, h, t, acme, "issued");
            let cert = self.certificate(id, h, app, issued_at, acme);
            issued += 1;
            let (not_before, not_after) = {
                let c = &self.out.certificates[cert as usize];
                (c.not_before, c.not_after)
            };
            let margin = if acme {
                (not_after - not_before) / 3
            } else {
                self.rng
                    .gen_range(7 * DAY..45 * DAY)
                    .min((not_after - not_before) / 2)
            };
            let mut next = not_after - margin;
            if self.rng.gen_bool(0.03) {
                match self.revoke(cert, not_before, not_after) {
                    Some((5, _)) => return last.max(issued_at),
                    Some((1 | 4, at)) => next = at - self.rng.gen_range(0..2 * DAY),
                    _ => {}
                }
            }
            if self.rng.gen_bool(0.1) {
                next += self.rng.gen_range(DAY..400 * DAY);
            }
            if self.rng.gen_bool(0.15) {
                h.names = self.names(&id.domain);
            }
            t = next.max(issued_at + HOUR);
            last = issued_at;
        }
        // Some who stopped renewing left an application behind that never completed.
        if issued == planned && t <= as_of - 30 * DAY && self.rng.gen_bool(0.04) {
            self.application(id, h, t, false, "pending");
            last = t;
        }
        last
    }

    /// Subscribers who never got a certificate: one or two rejected or cancelled orders, or a
    /// pending one if recent.
    fn unsuccessful_only(&mut self, id: &Identity, h: &mut Habits, t0: i64) -> i64 {
        let mut t = t0;
        for _ in 0..self.rng.gen_range(1..=2) {
            let status = if t > self.ctx.as_of - 30 * DAY {
                "pending"
            } else if self.rng.gen_bool(0.5) {
                "rejected"
            } else {
                "cancelled"
            };
            self.application(id, h, t, false, status);
            t = (t + self.rng.gen_range(HOUR..20 * DAY)).min(self.ctx.as_of);
        }
        t
    }

    fn application(
        &mut self,
        id: &Identity,
        h: &mut Habits,
        at: i64,
        acme: bool,
        status: &'static str,
    ) -> u32 {
        let rng = &mut self.rng;
        let channel = if acme {
            "acme"
        } else if h.operator.is_some() && rng.gen_bool(0.72) {
            "operator"
        } else {
            "other"
        };
        let product = if !acme && h.wants_ov { "OV" } else { "DV" };
        let operator = h
            .operator
            .filter(|_| channel == "operator")
            .map(|i| &self.ctx.operators[i]);
        let (applicant_name, applicant_email, applicant_phone) = if acme {
            let email = id.mail.as_ref().filter(|_| rng.gen_bool(0.7));
            (
                None,
                email.map(|(l, d)| person::write_email(rng, l, d)),
                None,
            )
        } else if let Some(op) = operator.filter(|_| rng.gen_bool(0.25)) {
            // Ordered by the reseller's staff on the subscriber's behalf.
            let staff = Person::random_japanese(rng);
            let local = staff.mail_local(rng);
            (
                Some(staff.write_name(rng)),
                Some(person::write_email(rng, &local, &op.domain)),
                Some(op.phone.write(rng)),
            )
        } else {
            let name = match &id.person {
                Some(p) => p.write_name(rng),
                None => Person::random_japanese(rng).write_name(rng),
            };
            let email = id
                .mail
                .as_ref()
                .map(|(l, d)| person::write_email(rng, l, d));
            let phone = id
                .phone_number
                .as_ref()
                .filter(|_| rng.gen_bool(0.85))
                .map(|p| p.write(rng));
            (Some(name), email, phone)
        };
        let approver_email = if acme {
            None
        } else {
            match rng.gen_range(0..100) {
                0..62 => {
                    let role = pick(
                        rng,
                        &[
                            "admin",
                            "administrator",
                            "hostmaster",
                            "webmaster",
                            "postmaster",
                        ],
                    );
                    Some(person::write_email(rng, role, &id.domain))
                }
                62..88 => id
                    .mail
                    .as_ref()
                    .map(|(l, d)| person::write_email(rng, l, d)),
                _ => None,
            }
        };
        let acme_account = if acme {
            Some(self.acme_account(id, h.sub, h.account, at))
        } else {
            None
        };
        h.account = acme_account.or(h.account);
        self.out.applications.push(ApplicationRow {
            subscriber: h.sub,
            operator_id: operator.map(|o| o.id),
            acme_account,
            channel,
            product,
            applicant_name,
            applicant_email,
            applicant_phone,
            approver_email,
            submitted_at: at,
            status,
        });
        (self.out.applications.len() - 1) as u32
    }

    /// The subscriber's current ACME account, created on first use and now and then replaced
    /// (key rollover), the old one deactivated.
    fn acme_account(
        &mut self,
        id: &Identity,
        sub: SubscriberRef,
        current: Option<u32>,
        at: i64,
    ) -> u32 {
        if let Some(acc) = current {
            let row = &mut self.out.acme_accounts[acc as usize];
            if row.deactivated_at.is_none() && !self.rng.gen_bool(0.06) {
                return acc;
            }
            if row.deactivated_at.is_none() {
                row.deactivated_at = Some((at - 60).max(row.created_at));
            }
        }
        let created_at = at - self.rng.gen_range(1..600);
        let index = self.out.acme_accounts.len() as u64;
        let digest = Sha256::new()
            .chain_update(self.ctx.seed.to_be_bytes())
            .chain_update(self.index.to_be_bytes())
            .chain_update(index.to_be_bytes())
            .finalize();
        let contact_email = id
            .mail
            .as_ref()
            .filter(|_| self.rng.gen_bool(0.9))
            .map(|(l, d)| {
                let e = person::write_email(&mut self.rng, l, d);
                if self.rng.gen_bool(0.3) && !e.to_ascii_lowercase().contains("mailto:") {
                    format!("mailto:{}", e.trim())
                } else {
                    e
                }
            });
        self.out.acme_accounts.push(AcmeRow {
            subscriber: sub,
            contact_email,
            key_thumbprint: data_encoding::BASE64URL_NOPAD.encode(&digest),
            created_at,
            deactivated_at: None,
        });
        (self.out.acme_accounts.len() - 1) as u32
    }

    fn certificate(
        &mut self,
        id: &Identity,
        h: &Habits,
        app: u32,
        issued_at: i64,
        acme: bool,
    ) -> u32 {
        let rng = &mut self.rng;
        let years = (issued_at - START) as f64 / YEAR;
        let ecdsa_share = (0.02 + 0.03 * years) * if acme { 1.5 } else { 1.0 };
        let (key_algorithm, key_size, signature_algorithm) = if let Some(key) = h.key {
            key
        } else if rng.gen_bool(ecdsa_share.min(0.9)) {
            if rng.gen_bool(0.8) {
                ("ECDSA", 256, "ecdsa-with-SHA256")
            } else {
                ("ECDSA", 384, "ecdsa-with-SHA384")
            }
        } else {
            let size = match rng.gen_range(0..100) {
                0..86 => 2048,
                86..93 => 3072,
                _ => 4096,
            };
            ("RSA", size, "sha256WithRSAEncryption")
        };
        let not_before = if rng.gen_bool(0.7) {
            issued_at - rng.gen_range(0..=HOUR)
        } else {
            issued_at
        };
        let not_after = not_before + validity_days(rng, issued_at, acme) * DAY - 1;
        let local = self.out.certificates.len() as u64;
        let serial_number = serial(
            rng,
            self.ctx.seed,
            self.index * CHUNK_CERTIFICATES + local,
            issued_at,
        );
        let ct_precert_logged = rng.gen_bool(if issued_at < 1_525_046_400 {
            0.6
        } else {
            0.985
        });
        let der_len = rng.gen_range(200..=320usize);
        let mut der = vec![0u8; der_len];
        rng.fill(&mut der[4..]);
        der[..4].copy_from_slice(&[0x30, 0x82, ((der_len - 4) >> 8) as u8, (der_len - 4) as u8]);
        let subject_organization = h
            .wants_ov
            .then(|| id.organization.as_ref().map(|o| o.subject_name.clone()))
            .flatten()
            .filter(|_| !acme);
        let validation_type = if subject_organization.is_some() {
            "OV"
        } else {
            "DV"
        };
        self.out.certificates.push(CertificateRow {
            application: app,
            serial_number,
            common_name: h.names[0].clone(),
            subject_alt_names: h.names.clone(),
            subject_organization,
            validation_type,
            key_algorithm,
            key_size,
            signature_algorithm,
            not_before,
            not_after,
            issued_at,
            ct_precert_logged,
            der,
        });
        (self.out.certificates.len() - 1) as u32
    }

    /// Revokes a certificate at a time within its validity (and not after `as_of`); returns
    /// the reason code and time, or None when there is no room.
    fn revoke(&mut self, cert: u32, not_before: i64, not_after: i64) -> Option<(i16, i64)> {
        let end = not_after.min(self.ctx.as_of);
        if end <= not_before + HOUR {
            return None;
        }
        let revoked_at = self.rng.gen_range(not_before + HOUR..=end);
        let weights = Weighted::new(REASONS.iter().map(|r| r.1));
        let reason_code = REASONS[weights.sample(&mut self.rng)].0;
        let requested_by = match (reason_code, self.rng.gen_range(0..100)) {
            (9, _) => "ca",
            (1, 0..70) | (4, 0..85) | (5, 0..70) | (3, 0..60) | (0, 0..60) => "subscriber",
            (1, _) | (0, 85..) => "ca",
            _ => "operator",
        };
        self.out.revocations.push(RevocationRow {
            certificate: cert,
            revoked_at,
            reason_code,
            requested_by,
        });
        Some((reason_code, revoked_at))
    }

    fn legal_hold(&mut self, sub: u32, created_at: i64) {
        let as_of = self.ctx.as_of;
        let placed_at = self.rng.gen_range(created_at.min(as_of - DAY)..as_of);
        let released_at = Some(placed_at + self.rng.gen_range(30 * DAY..700 * DAY))
            .filter(|&r| r <= as_of && self.rng.gen_bool(0.35));
        let reason = pick(&mut self.rng, japan::HOLD_REASONS);
        self.out.legal_holds.push(LegalHoldRow {
            subscriber: sub,
            reason,
            placed_at,
            released_at,
        });
    }
}

/// A serial number of 16 to 40 lower-case hex digits: random digits in front of a 64-bit
/// bijective mix of the certificate's index, so serials are unique by construction. Before the
/// 64-bit entropy rule (2016-09-30) some CAs used 16-digit serials.
fn serial<R: Rng>(rng: &mut R, seed: u64, index: u64, issued_at: i64) -> String {
    let len = if issued_at < 1_475_193_600 && rng.gen_bool(0.5) {
        16
    } else {
        pick(rng, &[32, 32, 36, 38, 40, 40])
    };
    let mut s = String::with_capacity(len);
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for _ in 16..len {
        s.push(char::from(HEX[rng.gen_range(0..16)]));
    }
    s.push_str(&format!("{:016x}", mix(index ^ seed.rotate_left(17))));
    s
}

/// splitmix64's finalizer: a bijection on u64.
fn mix(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests;
