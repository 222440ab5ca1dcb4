//! Refused requests are audited, but no caller can flood the audit log
//! with them: each caller (a uid on the Unix socket; a certificate CN, or
//! else an IP address, over TLS) has a token bucket.  A refusal that finds
//! a token is recorded on its own line, as always; one that does not is
//! held and counted, and the caller's held refusals become one aggregate
//! record ("N refused requests from X between T1 and T2: reasons ...")
//! once its burst ends ([`QUIET`] without a refusal), at least every
//! [`MAX_HOLD`] while it goes on, and at shutdown.  Nothing is dropped
//! silently: every refusal is either a record or counted in one.
//!
//! Each record costs an fsync and a broadcast to every console, which is
//! what a flood of refusals was turning into: tens of MB of log and a
//! stream of events in seconds.
use std::{
    collections::{BTreeMap, HashMap},
    fmt::Write as _,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use perch_proto::{
    civil::rfc3339_utc,
    v1::{ActionResult, AuditRecord},
};

/// A caller whose burst is over: no refusal for this long.
pub const QUIET: Duration = Duration::from_secs(2);
/// Held refusals are written at least this often while a flood goes on.
pub const MAX_HOLD: Duration = Duration::from_secs(30);
/// Callers tracked at once; beyond, new callers share one bucket, so
/// varying the caller cannot grow perchd's memory.
pub const MAX_CALLERS: usize = 4096;
/// `code` of an aggregate record.
pub const AGGREGATE_CODE: &str = "refusals_aggregated";
/// How much of the last refusal's detail an aggregate quotes.
const DETAIL_BYTES: usize = 512;

/// The bucket: `burst` refusals recorded one by one at once, then
/// `per_minute` more each minute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RefusalLimit {
    pub burst: u32,
    pub per_minute: u32,
}

impl Default for RefusalLimit {
    fn default() -> Self {
        // A person retrying by hand never reaches the limit; a script
        // hammering perchd is summarised.
        Self {
            burst: 20,
            per_minute: 60,
        }
    }
}

/// What to do with one refusal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Write its record.
    Record,
    /// Counted into the caller's next aggregate record.
    Held,
}

/// Who a refusal came from: the bucket's key and how the aggregate names
/// the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub key: String,
    pub label: String,
}

#[derive(Debug)]
struct Bucket {
    label: String,
    tokens: f64,
    refilled: Instant,
    held: Option<Held>,
}

/// Refusals held back for one caller.
#[derive(Debug)]
struct Held {
    count: u64,
    first: Instant,
    last: Instant,
    first_unix_ns: u64,
    last_unix_ns: u64,
    /// Count per refusal code.
    codes: BTreeMap<String, u64>,
    last_detail: String,
    /// The first held refusal: who, from where, with which role.
    template: AuditRecord,
}

/// Every caller's bucket and held refusals.
#[derive(Debug, Default)]
pub struct Refusals {
    limit: RefusalLimit,
    callers: HashMap<String, Bucket>,
}

const OTHERS: &str = "(other callers)";

impl Refusals {
    #[must_use]
    pub fn new(limit: RefusalLimit) -> Self {
        Self {
            limit,
            callers: HashMap::new(),
        }
    }

    /// Takes a token for `caller` (record `refused`), or holds it.
    pub fn admit(&mut self, caller: &Caller, refused: &AuditRecord, now: Instant) -> Verdict {
        let limit = self.limit;
        let key = if self.callers.len() >= MAX_CALLERS && !self.callers.contains_key(&caller.key) {
            OTHERS
        } else {
            caller.key.as_str()
        };
        let bucket = self
            .callers
            .entry(key.to_owned())
            .or_insert_with(|| Bucket {
                label: if key == OTHERS {
                    OTHERS.to_owned()
                } else {
                    caller.label.clone()
                },
                tokens: f64::from(limit.burst),
                refilled: now,
                held: None,
            });
        let per_sec = f64::from(limit.per_minute) / 60.0;
        let elapsed = now.saturating_duration_since(bucket.refilled).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_sec).min(f64::from(limit.burst));
        bucket.refilled = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Verdict::Record;
        }
        let unix_ns = unix_now_ns();
        let held = bucket.held.get_or_insert_with(|| Held {
            count: 0,
            first: now,
            last: now,
            first_unix_ns: unix_ns,
            last_unix_ns: unix_ns,
            codes: BTreeMap::new(),
            last_detail: String::new(),
            template: refused.clone(),
        });
        held.count += 1;
        held.last = now;
        held.last_unix_ns = unix_ns;
        *held.codes.entry(refused.code.clone()).or_insert(0) += 1;
        clip(&refused.detail, DETAIL_BYTES).clone_into(&mut held.last_detail);
        Verdict::Held
    }

    /// The aggregate records due now: callers whose burst ended, or who
    /// have been held for [`MAX_HOLD`].  Forgets callers with a full
    /// bucket and nothing held.
    pub fn due(&mut self, now: Instant) -> Vec<AuditRecord> {
        let limit = self.limit;
        let mut out = Vec::new();
        self.callers.retain(|_, b| {
            let ready = b.held.as_ref().is_some_and(|h| {
                now.saturating_duration_since(h.last) >= QUIET
                    || now.saturating_duration_since(h.first) >= MAX_HOLD
            });
            if ready && let Some(held) = b.held.take() {
                out.push(aggregate(&b.label, held, limit));
            }
            let per_sec = f64::from(limit.per_minute) / 60.0;
            let full = b.tokens + now.saturating_duration_since(b.refilled).as_secs_f64() * per_sec
                >= f64::from(limit.burst);
            b.held.is_some() || !full
        });
        out
    }

    /// Every held refusal as aggregate records (at shutdown).
    pub fn drain(&mut self) -> Vec<AuditRecord> {
        let limit = self.limit;
        self.callers
            .drain()
            .filter_map(|(_, b)| b.held.map(|h| aggregate(&b.label, h, limit)))
            .collect()
    }
}

/// One record for `held`: the first refusal's caller fields, the count,
/// the span of time, the reasons, and the last refusal's detail.
fn aggregate(label: &str, held: Held, limit: RefusalLimit) -> AuditRecord {
    let mut detail = format!(
        "{} refused requests from {label} between {} and {} not recorded one by one \
         (over {} at once, then {} a minute): ",
        held.count,
        rfc3339_utc(held.first_unix_ns),
        rfc3339_utc(held.last_unix_ns),
        limit.burst,
        limit.per_minute
    );
    let reasons: Vec<String> = held
        .codes
        .iter()
        .map(|(code, n)| format!("{code} x{n}"))
        .collect();
    detail.push_str(&reasons.join(", "));
    let _ = write!(detail, "; last: {}", held.last_detail);
    let t = held.template;
    AuditRecord {
        host: t.host,
        actor_uid: t.actor_uid,
        actor_user: t.actor_user,
        actor_role: t.actor_role,
        origin: t.origin,
        result: ActionResult::NotSuccessful.into(),
        code: AGGREGATE_CODE.to_owned(),
        detail,
        ..AuditRecord::default()
    }
}

fn unix_now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// `s` cut to at most `max` bytes on a character boundary.
fn clip(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(n: u32) -> Caller {
        Caller {
            key: format!("uid:{n}"),
            label: format!("uid {n}"),
        }
    }

    fn refused(code: &str) -> AuditRecord {
        AuditRecord {
            actor_uid: 65534,
            origin: "unix pid 7".to_owned(),
            code: code.to_owned(),
            detail: format!("{code} detail"),
            ..AuditRecord::default()
        }
    }

    fn count(detail: &str) -> u64 {
        detail
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .expect("a count first")
    }

    #[test]
    fn a_burst_is_recorded_then_held_then_summed_up_once_quiet() {
        let mut r = Refusals::new(RefusalLimit {
            burst: 3,
            per_minute: 60,
        });
        let t0 = Instant::now();
        let who = caller(65534);
        let verdicts: Vec<Verdict> = (0..10)
            .map(|i| {
                let code = if i % 2 == 0 {
                    "permission_denied"
                } else {
                    "invalid_argument"
                };
                r.admit(&who, &refused(code), t0)
            })
            .collect();
        assert_eq!(verdicts[..3], [Verdict::Record; 3]);
        assert!(verdicts[3..].iter().all(|v| *v == Verdict::Held));
        // Another caller has a bucket of its own.
        assert_eq!(r.admit(&caller(1000), &refused("x"), t0), Verdict::Record);
        // Still in the burst: nothing due.
        assert!(r.due(t0 + Duration::from_secs(1)).is_empty());
        let due = r.due(t0 + QUIET);
        assert_eq!(due.len(), 1);
        let agg = &due[0];
        assert_eq!(agg.code, AGGREGATE_CODE);
        assert_eq!(agg.actor_uid, 65534);
        assert_eq!(agg.result, i32::from(ActionResult::NotSuccessful));
        assert_eq!(count(&agg.detail), 7, "{}", agg.detail);
        assert!(
            agg.detail.contains("from uid 65534 between ")
                && agg
                    .detail
                    .contains("invalid_argument x4, permission_denied x3")
                && agg.detail.ends_with("last: invalid_argument detail"),
            "{}",
            agg.detail
        );
        assert!(r.due(t0 + QUIET * 2).is_empty(), "written once");
    }

    #[test]
    fn tokens_come_back_at_the_rate() {
        let mut r = Refusals::new(RefusalLimit {
            burst: 1,
            per_minute: 60,
        });
        let t0 = Instant::now();
        let who = caller(1);
        assert_eq!(r.admit(&who, &refused("a"), t0), Verdict::Record);
        assert_eq!(r.admit(&who, &refused("a"), t0), Verdict::Held);
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(r.admit(&who, &refused("a"), t1), Verdict::Record);
        assert_eq!(r.admit(&who, &refused("a"), t1), Verdict::Held);
    }

    #[test]
    fn a_long_flood_is_written_every_max_hold_and_at_shutdown() {
        let mut r = Refusals::new(RefusalLimit {
            burst: 1,
            per_minute: 1,
        });
        let t0 = Instant::now();
        let who = caller(1);
        let mut written = 0;
        let mut total_held = 0;
        let mut t = t0;
        // 100 s of 10 refusals a second.
        for _ in 0..1000 {
            if r.admit(&who, &refused("a"), t) == Verdict::Record {
                written += 1;
            }
            for agg in r.due(t) {
                total_held += count(&agg.detail);
            }
            t += Duration::from_millis(100);
        }
        let aggregates_before = total_held;
        for agg in r.drain() {
            total_held += count(&agg.detail);
        }
        assert!(aggregates_before > 0, "written while the flood went on");
        assert_eq!(written + total_held, 1000, "every refusal is accounted for");
        assert!(written <= 3, "{written}");
    }

    #[test]
    fn callers_are_bounded_and_forgotten_when_idle() {
        let mut r = Refusals::new(RefusalLimit {
            burst: 1,
            per_minute: 60,
        });
        let t0 = Instant::now();
        for n in 0..u32::try_from(MAX_CALLERS).unwrap() + 10 {
            r.admit(&caller(n), &refused("a"), t0);
        }
        assert_eq!(r.callers.len(), MAX_CALLERS + 1, "the rest share a bucket");
        assert!(r.due(t0 + Duration::from_secs(5)).len() <= 1);
        assert!(r.callers.is_empty(), "full buckets with nothing held go");
    }
}
