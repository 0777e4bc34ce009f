//! When to apply. A change that finds the reconciler idle is applied at once. Changes that
//! arrive while an apply runs are a burst: they are collected and applied together once they
//! pause for `quiet`, or at the latest `max_delay` after the burst began. Pure: callers pass
//! the time.

use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub(crate) struct Coalescer {
    quiet: Duration,
    max_delay: Duration,
    pending_since: Option<Instant>,
    last_change: Option<Instant>,
    /// Changes kept arriving while applying: wait for them to settle.
    burst: bool,
}

impl Coalescer {
    pub(crate) fn new(quiet: Duration, max_delay: Duration) -> Coalescer {
        Coalescer {
            quiet,
            max_delay,
            pending_since: None,
            last_change: None,
            burst: false,
        }
    }

    /// Records a change seen at `now`.
    pub(crate) fn change(&mut self, now: Instant) {
        self.pending_since.get_or_insert(now);
        self.last_change = Some(now);
    }

    /// When the pending changes should be applied (None: nothing pending).
    pub(crate) fn due(&self) -> Option<Instant> {
        let first = self.pending_since?;
        if !self.burst {
            return Some(first);
        }
        let last = self.last_change.unwrap_or(first);
        Some((last + self.quiet).min(first + self.max_delay))
    }

    /// An apply starts and takes in every pending change.
    pub(crate) fn started(&mut self) {
        self.pending_since = None;
        self.last_change = None;
    }

    /// The apply ended at `now`; `changed_meanwhile` says whether changes arrived during it.
    pub(crate) fn finished(&mut self, now: Instant, changed_meanwhile: bool) {
        self.burst = changed_meanwhile;
        if changed_meanwhile {
            self.change(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const Q: Duration = Duration::from_millis(200);
    const MAX: Duration = Duration::from_secs(2);
    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_change_that_finds_it_idle_is_applied_at_once() {
        let t0 = Instant::now();
        let mut c = Coalescer::new(Q, MAX);
        assert_eq!(c.due(), None);
        c.change(t0);
        assert_eq!(c.due(), Some(t0));
        c.started();
        c.finished(t0 + ms(10), false);
        // Sequential changes, each after the previous apply: each immediate.
        let t1 = t0 + ms(11);
        c.change(t1);
        assert_eq!(c.due(), Some(t1));
    }

    /// Simulates changes every millisecond while applies take 30 ms each.
    fn applies_for_burst(burst_ms: u64) -> usize {
        let t0 = Instant::now();
        let mut c = Coalescer::new(Q, MAX);
        let mut applies = 0;
        let mut busy_until: Option<Instant> = None;
        let mut changed_meanwhile = false;
        for t in 0..(burst_ms + 10_000) {
            let now = t0 + ms(t);
            if let Some(end) = busy_until
                && now >= end
            {
                c.finished(now, changed_meanwhile);
                busy_until = None;
            }
            if t < burst_ms {
                if busy_until.is_some() {
                    changed_meanwhile = true;
                } else {
                    c.change(now);
                }
            }
            if busy_until.is_none() && c.due().is_some_and(|d| d <= now) {
                c.started();
                applies += 1;
                changed_meanwhile = false;
                busy_until = Some(now + ms(30));
            }
        }
        applies
    }

    #[test]
    fn a_burst_is_collected_into_one_more_apply() {
        assert_eq!(applies_for_burst(1), 1);
        assert_eq!(
            applies_for_burst(1000),
            2,
            "the first change, then the rest together"
        );
    }

    #[test]
    fn a_long_burst_is_applied_at_least_every_max_delay() {
        // 5 s of changes: applied at the start, then every 2 s, then once at the end.
        assert_eq!(applies_for_burst(5000), 4);
    }
}
