//! GCRA rate limiters keyed by caller or address. The only module that talks to governor.

use std::hash::Hash;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{Quota, RateLimiter};

type Keyed<K> = RateLimiter<K, governor::state::keyed::DefaultKeyedStateStore<K>, DefaultClock>;

pub(crate) struct Rate<K: Hash + Eq + Clone> {
    limiter: Keyed<K>,
}

impl<K: Hash + Eq + Clone> Rate<K> {
    /// `per_period` events every `period`, with `burst` allowed at once.
    pub(crate) fn new(per_period: u32, period: Duration, burst: u32) -> Rate<K> {
        let per = NonZeroU32::new(per_period.max(1)).expect("positive");
        let interval = period / per.get();
        let quota = Quota::with_period(interval.max(Duration::from_nanos(1)))
            .expect("a positive period")
            .allow_burst(NonZeroU32::new(burst.max(1)).expect("positive"));
        Rate { limiter: RateLimiter::keyed(quota) }
    }

    /// `Err(wait)` when `key` is over its rate: how long until the next event is allowed.
    pub(crate) fn check(&self, key: &K) -> Result<(), Duration> {
        self.limiter.check_key(key).map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// Forgets keys whose state is back to full (bounded memory with many callers).
    pub(crate) fn shrink(&self) {
        self.limiter.retain_recent();
    }
}
