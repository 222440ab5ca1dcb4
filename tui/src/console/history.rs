//! Resource history of one process for the detail view's sparklines: CPU,
//! RSS and I/O over the last ten minutes.
//!
//! Compact by construction: a point is 12 bytes, appended only when a
//! quantized value changes (an idle process costs one point), and points
//! older than the window are dropped.  Values between points are the last
//! point's (the collector only reports processes whose usage changed).
use std::collections::VecDeque;

/// How far back the sparklines reach.
pub const WINDOW_SECS: u32 = 600;

/// One change: seconds since [`History::base`], CPU in tenths of a percent
/// of one core, RSS in KiB and read+write I/O in bytes/s (all saturating).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Point {
    pub dt: u16,
    pub cpu_tenths: u16,
    pub rss_kib: u32,
    pub io_bytes_per_sec: u32,
}

/// The series of one process.  `base` is host uptime in whole seconds.
#[derive(Clone, Debug, Default)]
pub struct History {
    base: u32,
    points: VecDeque<Point>,
}

/// A sample, quantized to what a point stores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Values {
    pub cpu_tenths: u16,
    pub rss_kib: u32,
    pub io_bytes_per_sec: u32,
}

impl Values {
    /// Quantizes raw usage; out-of-range and NaN values saturate.
    #[must_use]
    pub fn new(cpu_percent: f64, rss_bytes: u64, io_bytes_per_sec: f64) -> Values {
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "saturating float-to-int casts are the quantization"
        )]
        Values {
            cpu_tenths: (cpu_percent * 10.0).round() as u16,
            rss_kib: u32::try_from(rss_bytes / 1024).unwrap_or(u32::MAX),
            io_bytes_per_sec: io_bytes_per_sec.round() as u32,
        }
    }
}

impl History {
    /// Records the values at host second `t`; nothing is stored when they did
    /// not change.  Samples older than the newest point are ignored.
    pub fn push(&mut self, t: u32, v: Values) {
        if let Some(last) = self.points.back() {
            let last_t = self.base.saturating_add(u32::from(last.dt));
            if t < last_t {
                return;
            }
            let same = last.cpu_tenths == v.cpu_tenths
                && last.rss_kib == v.rss_kib
                && last.io_bytes_per_sec == v.io_bytes_per_sec;
            if same {
                self.trim(t);
                return;
            }
        } else {
            self.base = t;
        }
        self.trim(t);
        // After trimming, every point is within the window of `t`.
        let dt = u16::try_from(t.saturating_sub(self.base)).unwrap_or(u16::MAX);
        self.points.push_back(Point {
            dt,
            cpu_tenths: v.cpu_tenths,
            rss_kib: v.rss_kib,
            io_bytes_per_sec: v.io_bytes_per_sec,
        });
    }

    /// Drops points that fell out of the window, keeping the newest of them
    /// (it gives the value at the window's start) moved up to that start, and
    /// rebases offsets on the oldest point so they stay small.
    fn trim(&mut self, now: u32) {
        let start = now.saturating_sub(WINDOW_SECS);
        while self
            .points
            .get(1)
            .is_some_and(|p| self.base.saturating_add(u32::from(p.dt)) <= start)
        {
            self.points.pop_front();
        }
        let Some(first) = self.points.front() else {
            return;
        };
        let new_base = self.base.saturating_add(u32::from(first.dt)).max(start);
        if new_base != self.base {
            for p in &mut self.points {
                let abs = self.base.saturating_add(u32::from(p.dt));
                p.dt = u16::try_from(abs.saturating_sub(new_base)).unwrap_or(u16::MAX);
            }
            self.base = new_base;
        }
    }

    /// The series as it stood at host second `t`: its points up to `t`
    /// (time travel's detail view draws the ten minutes before the instant
    /// shown from what the console saw).
    #[must_use]
    pub fn until(&self, t: u32) -> History {
        let n = self.len_until(t);
        // Sized once, with room for the sample a seek appends: a seek
        // copies the series of every row.
        let mut points = VecDeque::with_capacity(n + 1);
        points.extend(self.points.range(..n).copied());
        History {
            base: self.base,
            points,
        }
    }

    /// How many points [`History::until`] keeps at `t` (points are in time
    /// order: `push` ignores older samples).
    #[must_use]
    pub fn len_until(&self, t: u32) -> usize {
        self.points
            .partition_point(|p| self.base.saturating_add(u32::from(p.dt)) <= t)
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.points.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Heap bytes held (for the memory budget).
    #[must_use]
    pub fn heap_bytes(&self) -> usize {
        self.points.capacity() * std::mem::size_of::<Point>()
    }

    /// `buckets` values of the window ending at host second `now`, oldest
    /// first: each the maximum of `pick` over its span (carrying the value
    /// in force at the span's start), 0 before the first point.
    #[must_use]
    pub fn series(&self, now: u32, buckets: usize, pick: impl Fn(&Point) -> u64) -> Vec<u64> {
        let mut out = vec![0; buckets];
        if buckets == 0 || self.points.is_empty() {
            return out;
        }
        let start = u64::from(now.saturating_sub(WINDOW_SECS));
        let span = u64::from(WINDOW_SECS);
        let n = buckets as u64;
        let bucket_of = |t: u64| -> usize {
            let off = t.saturating_sub(start).min(span - 1);
            usize::try_from(off * n / span).unwrap_or(buckets - 1)
        };
        let abs = |p: &Point| u64::from(self.base) + u64::from(p.dt);
        let mut it = self.points.iter().peekable();
        while let Some(p) = it.next() {
            let from = abs(p);
            let until = it.peek().map_or(u64::from(now) + 1, |q| abs(q));
            if until <= start || from > u64::from(now) {
                continue;
            }
            let v = pick(p);
            let last = bucket_of(until.saturating_sub(1));
            for slot in out.iter_mut().take(last + 1).skip(bucket_of(from)) {
                *slot = (*slot).max(v);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(cpu: u16) -> Values {
        Values {
            cpu_tenths: cpu,
            rss_kib: 100,
            io_bytes_per_sec: 0,
        }
    }

    #[test]
    fn until_keeps_the_points_up_to_an_instant() {
        let mut h = History::default();
        for (t, cpu) in [(1000, 1), (1010, 2), (1020, 3)] {
            h.push(t, v(cpu));
        }
        assert_eq!(h.until(999).len(), 0);
        assert_eq!(h.until(1010).len(), 2);
        assert_eq!(h.until(5000).len(), 3);
        let mut past = h.until(1015);
        past.push(1015, v(7));
        assert_eq!(past.series(1015, 1, |p| u64::from(p.cpu_tenths)), [7]);
    }

    #[test]
    fn appends_only_changes() {
        let mut h = History::default();
        for t in 0..100 {
            h.push(1000 + t, v(5));
        }
        assert_eq!(h.len(), 1);
        h.push(1100, v(6));
        h.push(1101, v(6));
        assert_eq!(h.len(), 2);
        // Older than the newest point: ignored.
        h.push(50, v(9));
        assert_eq!(h.len(), 2);
    }

    #[test]
    fn bounded_to_the_window_even_when_always_changing() {
        let mut h = History::default();
        for t in 0..10_000u32 {
            h.push(t, v(u16::try_from(t % 2).unwrap()));
            assert!(h.len() <= WINDOW_SECS as usize + 2, "{} at {t}", h.len());
        }
        // A long pause and jumps far ahead never overflow the u16 offsets.
        h.push(200_000, v(3));
        h.push(4_000_000_000, v(4));
        assert!(h.len() <= 2);
    }

    #[test]
    fn series_carries_values_forward() {
        let mut h = History::default();
        h.push(1000, v(10));
        h.push(1300, v(20));
        let s = h.series(1600, 6, |p| u64::from(p.cpu_tenths));
        // Window 1000..1600 in 100 s buckets: 10 for three, then 20.
        assert_eq!(s, vec![10, 10, 10, 20, 20, 20]);
        // A process that started mid-window: zeros before its first point.
        let mut h = History::default();
        h.push(1500, v(7));
        assert_eq!(
            h.series(1600, 6, |p| u64::from(p.cpu_tenths)),
            vec![0, 0, 0, 0, 0, 7]
        );
        assert_eq!(
            h.series(1600, 0, |p| u64::from(p.cpu_tenths)),
            Vec::<u64>::new()
        );
    }

    #[test]
    fn quantizes_and_saturates() {
        assert_eq!(Values::new(f64::NAN, 0, -5.0).cpu_tenths, 0);
        assert_eq!(Values::new(1e12, u64::MAX, 1e20).rss_kib, u32::MAX);
        assert_eq!(Values::new(12.34, 2048, 1.6).cpu_tenths, 123);
    }
}
