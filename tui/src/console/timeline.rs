//! Time travel's state in the console: whether the screens show LIVE data
//! or a past instant (still, or playing forward), the query in flight for
//! a past state (the newest asked wins; older answers are dropped), and the
//! header's words for it.  No terminal types and no I/O: the loop takes
//! [`Timeline::take_query`], asks the [`crate::travel::TimeSource`], and
//! hands the answer back (see `crate::live::travel`).
use perch_proto::NS_PER_SEC;

use crate::{
    console::model::HostId,
    travel::{SourceError, StateAt},
};

/// How fast playing goes: Space steps through them, then pauses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Speed {
    X1,
    X2,
    X4,
    X10,
}

impl Speed {
    /// Seconds of history per second of wall time.
    #[must_use]
    pub fn factor(self) -> u64 {
        match self {
            Speed::X1 => 1,
            Speed::X2 => 2,
            Speed::X4 => 4,
            Speed::X10 => 10,
        }
    }

    /// The next speed Space gives (`None`: pause).
    #[must_use]
    pub fn next(self) -> Option<Speed> {
        match self {
            Speed::X1 => Some(Speed::X2),
            Speed::X2 => Some(Speed::X4),
            Speed::X4 => Some(Speed::X10),
            Speed::X10 => None,
        }
    }
}

/// What the screens show.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// The collector's data as it arrives.
    #[default]
    Live,
    /// The state at this instant (Unix ns), still.
    At(u64),
    /// The state at this instant, moving forward at `speed`.
    Playing { at: u64, speed: Speed },
}

impl Mode {
    /// The instant shown or wanted, when not LIVE.
    #[must_use]
    pub fn at(self) -> Option<u64> {
        match self {
            Mode::Live => None,
            Mode::At(at) | Mode::Playing { at, .. } => Some(at),
        }
    }
}

/// A request for the state at an instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeQuery {
    /// Answers carry it back; only the newest one's is used.
    pub id: u64,
    pub at_unix_ns: u64,
    /// Past the newest stored instant: show the newest (`true`), or answer
    /// [`TimeError::PastNewest`] (the console goes LIVE).
    pub clamp: bool,
}

/// Why a query has no state to show.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// The instant is after everything stored (and the query did not clamp).
    #[error("past the newest stored instant")]
    PastNewest,
    #[error(transparent)]
    Source(#[from] SourceError),
}

/// A source's answer to a [`TimeQuery`].
#[derive(Debug)]
pub struct TimeAnswer {
    pub id: u64,
    /// The first collector's state (or the recording's): its instant and
    /// range are the timeline's.
    pub result: Result<StateAt, TimeError>,
    /// The other collectors' states at the same instant, by host (a
    /// console watching several): shown beside the first one's, or why a
    /// host has none then.
    pub others: Vec<(HostId, Result<StateAt, SourceError>)>,
    /// The states' processes already made into rows, by host (made while
    /// the states arrived, off the draw loop's thread); a state whose rows
    /// are here has none left in its `processes`.
    pub rows: Vec<(HostId, Vec<crate::console::model::Proc>)>,
}

/// The console's time travel.
#[derive(Debug, Default)]
pub struct Timeline {
    pub(crate) mode: Mode,
    /// A source of past states exists (else the time keys say so).
    pub(crate) enabled: bool,
    /// LIVE exists: false for a recording (`perch replay`).
    pub(crate) has_live: bool,
    /// The newest query, until its answer comes.
    pub(crate) loading: Option<TimeQuery>,
    /// A query waiting for the loop.
    outbox: Option<TimeQuery>,
    next_id: u64,
    /// The instant of the state on screen (the sample's), the instant
    /// asked for it (where a failed step goes back to), and the source's
    /// range then.
    pub(crate) shown: Option<u64>,
    settled: Option<u64>,
    pub(crate) range: Option<(u64, u64)>,
    /// Wall clock (Unix ns) as the loop last said, and when playing last
    /// moved forward.
    pub(crate) wall_ns: u64,
    played_at_wall: u64,
}

impl Timeline {
    /// A console that can travel: with LIVE (a collector's history) or
    /// without (a recording).
    #[must_use]
    pub fn new(has_live: bool) -> Timeline {
        Timeline {
            enabled: true,
            has_live,
            ..Timeline::default()
        }
    }

    #[must_use]
    pub fn mode(&self) -> Mode {
        self.mode
    }

    #[must_use]
    pub fn is_live(&self) -> bool {
        self.mode == Mode::Live
    }

    /// The instant the next step starts from: the one last asked for (so
    /// `[[[` goes back three seconds before the first answer comes), or,
    /// from LIVE, now.
    #[must_use]
    pub fn target(&self) -> u64 {
        self.mode.at().unwrap_or(self.wall_ns)
    }

    /// Asks for the state at `at`, keeping `mode`'s kind (still or playing).
    pub fn go(&mut self, at: u64, clamp: bool) {
        self.mode = match self.mode {
            Mode::Playing { speed, .. } => Mode::Playing { at, speed },
            _ => Mode::At(at),
        };
        self.next_id += 1;
        let q = TimeQuery {
            id: self.next_id,
            at_unix_ns: at,
            clamp: clamp || !self.has_live,
        };
        self.loading = Some(q);
        self.outbox = Some(q);
    }

    /// Moves `secs` from the target (back when negative).  Going forward
    /// past the newest stored instant returns to LIVE (when there is one).
    pub fn step(&mut self, secs: i64) {
        let from = self.target();
        let delta = secs.unsigned_abs().saturating_mul(NS_PER_SEC);
        let at = if secs < 0 {
            from.saturating_sub(delta)
        } else {
            from.saturating_add(delta)
        };
        if self.is_live() && secs >= 0 {
            return;
        }
        self.go(at, secs < 0);
    }

    /// Space: play from the target at 1×, or the next speed, or pause
    /// after 10×.  False when LIVE (nothing lies ahead).
    pub fn play(&mut self) -> bool {
        match self.mode {
            Mode::Live => return false,
            Mode::At(at) => {
                self.mode = Mode::Playing {
                    at,
                    speed: Speed::X1,
                }
            }
            Mode::Playing { at, speed } => {
                self.mode = speed
                    .next()
                    .map_or(Mode::At(at), |speed| Mode::Playing { at, speed });
            }
        }
        self.played_at_wall = self.wall_ns;
        true
    }

    /// Back to the collector's data as it arrives.
    pub fn go_live(&mut self) {
        self.mode = Mode::Live;
        self.loading = None;
        self.outbox = None;
        self.shown = None;
        self.settled = None;
    }

    /// The wall clock moved: playing moves forward by the time passed
    /// times its speed.
    pub fn set_wall_clock(&mut self, unix_ns: u64) {
        let since = unix_ns.saturating_sub(self.played_at_wall);
        self.wall_ns = unix_ns;
        if let Mode::Playing { at, speed } = self.mode {
            self.played_at_wall = unix_ns;
            if since > 0 && since < 3_600 * NS_PER_SEC {
                let at = at.saturating_add(since.saturating_mul(speed.factor()));
                // A slow source is not asked again before it answers (each
                // new query would abandon the last): the answer asks for
                // where playing has got to by then.
                if self.loading.is_some() {
                    self.mode = Mode::Playing { at, speed };
                } else {
                    self.go(at, false);
                }
            }
        }
    }

    /// The query for the loop to send, once.
    pub fn take_query(&mut self) -> Option<TimeQuery> {
        self.outbox.take()
    }

    /// Whether `id` is the newest query's (an older answer is dropped).
    #[must_use]
    pub fn awaits(&self, id: u64) -> bool {
        self.loading.is_some_and(|q| q.id == id)
    }

    /// The answer to the newest query arrived; `Ok` with the state shown.
    pub(crate) fn answered(&mut self, state: &StateAt) {
        let asked = self.loading.take().map(|q| q.at_unix_ns);
        self.shown = Some(state.at_unix_ns);
        self.range = Some((state.oldest_unix_ns, state.newest_unix_ns));
        let newest = state.newest_unix_ns;
        self.mode = match self.mode {
            // A recording played to its end stops there.
            Mode::Playing { at, .. } if !self.has_live && at >= newest => Mode::At(newest),
            // A clamped query (back from LIVE, a recording's end): the
            // next step starts from the newest instant, not beyond it.
            Mode::Playing { at, speed } if at > newest => Mode::Playing { at: newest, speed },
            Mode::At(at) if at > newest => Mode::At(newest),
            m => m,
        };
        self.settled = asked.map(|a| a.min(newest)).or(self.mode.at());
        // Playing moved on while this was asked.
        if let Mode::Playing { at, .. } = self.mode
            && asked.is_some_and(|a| a.min(newest) != at)
        {
            self.go(at, false);
        }
    }

    /// The newest query failed: the target goes back to what is shown.
    /// When nothing past is shown yet (a key pressed before the first
    /// answer came) and the source named its range, the nearest end of it
    /// is asked instead, so a step too far stays in the past.
    pub(crate) fn failed_with(&mut self, e: &TimeError) {
        if let (
            None,
            Some(at),
            TimeError::Source(SourceError::OutOfRange {
                oldest_unix_ns,
                newest_unix_ns,
            }),
        ) = (self.settled, self.mode.at(), e)
            && oldest_unix_ns <= newest_unix_ns
            && *newest_unix_ns > 0
        {
            self.go(at.clamp(*oldest_unix_ns, *newest_unix_ns), true);
            return;
        }
        self.failed();
    }

    /// The newest query failed: the target goes back to what is shown.
    pub(crate) fn failed(&mut self) {
        self.loading = None;
        self.mode = match (self.settled, self.mode) {
            (_, Mode::Live) => Mode::Live,
            (Some(at), Mode::Playing { .. } | Mode::At(_)) => Mode::At(at),
            (None, _) if self.has_live => Mode::Live,
            (None, m) => m,
        };
    }

    /// The header's words: `LIVE`, or `▶ 2× 14:03:12 — 12m 05s ago`, with
    /// `loading…` while a query is out.
    #[must_use]
    pub fn header_text(&self, utc_offset_secs: i32) -> String {
        let loading = if self.loading.is_some() {
            "  loading…"
        } else {
            ""
        };
        let Some(at) = self.mode.at() else {
            return format!("LIVE{loading}");
        };
        let play = match self.mode {
            Mode::Playing { speed, .. } => format!("▶ {}× ", speed.factor()),
            _ => String::new(),
        };
        let secs = i64::try_from(at / NS_PER_SEC).unwrap_or(i64::MAX);
        let (_, sod) = crate::when::local_day(secs, utc_offset_secs);
        let now_secs = i64::try_from(self.wall_ns / NS_PER_SEC).unwrap_or(i64::MAX);
        let when = if now_secs.saturating_sub(secs) >= 86_400 {
            crate::when::date_time(secs, utc_offset_secs)
        } else {
            format!("{:02}:{:02}:{:02}", sod / 3600, (sod / 60) % 60, sod % 60)
        };
        let behind = if self.wall_ns == 0 {
            String::new()
        } else {
            format!(" — {}", ago(self.wall_ns.saturating_sub(at) / NS_PER_SEC))
        };
        format!("{play}{when}{behind}{loading}")
    }
}

/// `12m 05s ago`, `3h 02m ago`, `2d 04h ago`, `now`.
#[must_use]
pub fn ago(secs: u64) -> String {
    match secs {
        0 => "now".to_owned(),
        1..60 => format!("{secs}s ago"),
        60..3_600 => format!("{}m {:02}s ago", secs / 60, secs % 60),
        3_600..86_400 => format!("{}h {:02}m ago", secs / 3_600, (secs / 60) % 60),
        _ => format!("{}d {:02}h ago", secs / 86_400, (secs / 3_600) % 24),
    }
}

#[cfg(test)]
mod tests;
