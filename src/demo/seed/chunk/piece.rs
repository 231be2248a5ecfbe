//! A chunk's piece of a large subscriber's certificates: renewal chains of its sites (its
//! customers' domains or hosts of its own), as many as the piece needs.

use rand::Rng;

use super::{DAY, Gen, Habits, SubscriberRef};
use crate::demo::seed::person;
use crate::demo::seed::tail::{BULK_SHARE, Style};

impl Gen<'_, '_> {
    /// Issues exactly `count` certificates of the large subscriber at rank index `rank`.
    pub(super) fn piece(&mut self, rank: usize, count: usize) {
        let ctx = self.ctx;
        let large = &ctx.tail.subscribers[rank];
        let id = &large.identity;
        let mut h = Habits {
            sub: SubscriberRef::Large(rank as u32),
            operator: large.operator,
            wants_ov: large.wants_ov,
            names: Vec::new(),
            account: None,
            prev_acme: false,
            acme_uptake: large.acme_uptake,
            key: large.key,
        };
        // A site started this long before `as_of` always issues: no order waits longer.
        let latest = ctx.as_of - 11 * DAY;
        let bulk = large
            .bulk_month
            .map_or(0, |_| (count as f64 * BULK_SHARE).round() as usize);
        let mut issued = 0;
        while issued < count {
            let (start, planned) = match large.bulk_month {
                Some(month) if issued < bulk => (month + self.rng.gen_range(0..28 * DAY), 1),
                _ => (self.rng.gen_range(large.since..=latest), count - issued),
            };
            let domain = match large.style {
                Style::Hosting => person::customer_domain(&mut self.rng),
                Style::Enterprise => id.domain.clone(),
            };
            h.names = self.names(&domain);
            h.prev_acme = false;
            let before = self.out.certificates.len();
            self.chain(id, &mut h, start, planned);
            issued += self.out.certificates.len() - before;
        }
    }
}
