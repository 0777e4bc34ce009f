//! When to apply: the first change after a quiet period is applied at once; changes that
//! keep arriving are collected and applied together once they pause (`quiet`), or at the
//! latest `max_delay` after the first of them. Pure: callers pass the time.

use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Coalescer {
    quiet: Duration,
    max_delay: Duration,
    last_apply: Option<Instant>,
    pending_since: Option<Instant>,
    last_change: Option<Instant>,
}

impl Coalescer {
    pub fn new(quiet: Duration, max_delay: Duration) -> Coalescer {
        Coalescer {
            quiet,
            max_delay,
            last_apply: None,
            pending_since: None,
            last_change: None,
        }
    }

    /// Records a change seen at `now`.
    pub fn change(&mut self, now: Instant) {
        self.pending_since.get_or_insert(now);
        self.last_change = Some(now);
    }

    /// Whether a change is waiting to be applied.
    pub fn pending(&self) -> bool {
        self.pending_since.is_some()
    }

    /// When the pending changes should be applied (None: nothing pending).
    pub fn due(&self) -> Option<Instant> {
        let first = self.pending_since?;
        let last = self.last_change.unwrap_or(first);
        let idle = self
            .last_apply
            .is_none_or(|t| first.saturating_duration_since(t) >= self.quiet);
        if idle && first == last {
            return Some(first);
        }
        Some((last + self.quiet).min(first + self.max_delay))
    }

    /// Records that an apply started at `now` and took in every pending change.
    pub fn applied(&mut self, now: Instant) {
        self.last_apply = Some(now);
        self.pending_since = None;
        self.last_change = None;
    }

    /// Records the end of an apply (quiet periods count from here).
    pub fn finished(&mut self, now: Instant) {
        self.last_apply = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const Q: Duration = Duration::from_millis(200);
    const MAX: Duration = Duration::from_secs(2);

    #[test]
    fn first_change_after_quiet_is_immediate() {
        let t0 = Instant::now();
        let mut c = Coalescer::new(Q, MAX);
        assert_eq!(c.due(), None);
        c.change(t0);
        assert_eq!(c.due(), Some(t0));
        c.applied(t0);
        c.finished(t0 + Duration::from_millis(10));
        // A change long after the last apply is immediate again.
        let t1 = t0 + Duration::from_secs(5);
        c.change(t1);
        assert_eq!(c.due(), Some(t1));
    }

    #[test]
    fn a_burst_is_collected_into_one_more_apply() {
        let t0 = Instant::now();
        let mut c = Coalescer::new(Q, MAX);
        c.change(t0);
        c.applied(t0);
        c.finished(t0 + Duration::from_millis(20));
        // 1,000 changes, one per millisecond, right after the first apply.
        let mut applies = 1;
        let mut now = t0;
        for i in 1..=1000u64 {
            now = t0 + Duration::from_millis(20 + i);
            c.change(now);
            if c.due().is_some_and(|d| d <= now) {
                c.applied(now);
                c.finished(now);
                applies += 1;
            }
        }
        // Nothing was due during the burst (it is shorter than max_delay)...
        assert_eq!(applies, 1);
        // ...and one apply follows once it pauses.
        assert_eq!(c.due(), Some(now + Q));
    }

    #[test]
    fn a_long_burst_is_applied_at_least_every_max_delay() {
        let t0 = Instant::now();
        let mut c = Coalescer::new(Q, MAX);
        c.change(t0);
        c.applied(t0);
        c.finished(t0);
        let first = t0 + Duration::from_millis(10);
        c.change(first);
        c.change(first + Duration::from_millis(1900));
        assert_eq!(c.due(), Some(first + MAX));
    }
}
