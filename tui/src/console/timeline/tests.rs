//! The time travel state machine: steps, playing, LIVE, stale answers.
use super::*;

const S: u64 = NS_PER_SEC;
const NOW: u64 = 1_800_000_000 * S;

fn state(at: u64, oldest: u64, newest: u64) -> StateAt {
    StateAt {
        at_unix_ns: at,
        oldest_unix_ns: oldest,
        newest_unix_ns: newest,
        ..StateAt::default()
    }
}

fn live_timeline() -> Timeline {
    let mut t = Timeline::new(true);
    t.set_wall_clock(NOW);
    t
}

#[test]
fn steps_accumulate_from_now_and_the_newest_query_wins() {
    let mut t = live_timeline();
    t.step(-1);
    let first = t.take_query().unwrap();
    assert_eq!(first.at_unix_ns, NOW - S);
    assert!(
        first.clamp,
        "stepping back from LIVE shows the newest stored"
    );
    t.step(-60);
    let second = t.take_query().unwrap();
    assert_eq!(second.at_unix_ns, NOW - 61 * S);
    assert!(!t.awaits(first.id), "a stale answer is dropped");
    assert!(t.awaits(second.id));
    assert_eq!(t.take_query(), None, "a query goes out once");
    t.answered(&state(NOW - 61 * S, NOW - 3_600 * S, NOW));
    assert_eq!(t.mode(), Mode::At(NOW - 61 * S));
    assert_eq!(t.loading, None);
}

#[test]
fn forward_from_live_does_nothing_and_forward_queries_do_not_clamp() {
    let mut t = live_timeline();
    t.step(1);
    assert_eq!(t.take_query(), None);
    assert!(t.is_live());
    t.step(-60);
    t.take_query();
    t.step(60);
    let q = t.take_query().unwrap();
    assert_eq!(q.at_unix_ns, NOW);
    assert!(!q.clamp, "past the newest: LIVE");
}

#[test]
fn a_recording_clamps_and_stops_at_its_end() {
    let mut t = Timeline::new(false);
    t.go(100 * S, false);
    assert!(t.take_query().unwrap().clamp);
    t.answered(&state(100 * S, 0, 200 * S));
    assert!(t.play());
    t.go(250 * S, false);
    t.answered(&state(200 * S, 0, 200 * S));
    assert_eq!(t.mode(), Mode::At(200 * S));
}

#[test]
fn space_cycles_speeds_then_pauses_and_playing_moves_with_the_clock() {
    let mut t = live_timeline();
    assert!(!t.play(), "nothing lies ahead of LIVE");
    t.step(-600);
    t.answered(&state(NOW - 600 * S, 0, NOW));
    let at = NOW - 600 * S;
    let mut speeds = Vec::new();
    for _ in 0..5 {
        assert!(t.play());
        speeds.push(t.mode());
    }
    assert_eq!(
        speeds,
        [
            Mode::Playing {
                at,
                speed: Speed::X1
            },
            Mode::Playing {
                at,
                speed: Speed::X2
            },
            Mode::Playing {
                at,
                speed: Speed::X4
            },
            Mode::Playing {
                at,
                speed: Speed::X10
            },
            Mode::At(at),
        ]
    );
    t.play();
    t.play();
    t.take_query();
    t.set_wall_clock(NOW + 3 * S);
    assert_eq!(
        t.take_query().map(|q| q.at_unix_ns),
        Some(at + 6 * S),
        "2× for 3 s"
    );
    // The source is slow: no new query until it answers, then one for
    // where playing has got to.
    t.set_wall_clock(NOW + 4 * S);
    assert_eq!(t.take_query(), None);
    t.answered(&state(at + 6 * S, 0, NOW));
    assert_eq!(t.take_query().map(|q| q.at_unix_ns), Some(at + 8 * S));
}

#[test]
fn a_failure_returns_to_what_is_shown() {
    let mut t = live_timeline();
    t.step(-10);
    t.failed();
    assert!(t.is_live(), "nothing shown yet: still LIVE");
    t.step(-10);
    t.answered(&state(NOW - 10 * S, NOW - 20 * S, NOW));
    t.step(-3_600);
    t.failed();
    assert_eq!(t.mode(), Mode::At(NOW - 10 * S));
}

#[test]
fn a_step_too_far_before_anything_is_shown_stays_in_the_range() {
    let mut t = live_timeline();
    t.step(-1);
    t.step(-60);
    let e = TimeError::Source(SourceError::OutOfRange {
        oldest_unix_ns: NOW - 20 * S,
        newest_unix_ns: NOW - 2 * S,
    });
    t.failed_with(&e);
    assert_eq!(t.mode(), Mode::At(NOW - 20 * S));
    assert_eq!(t.take_query().map(|q| q.at_unix_ns), Some(NOW - 20 * S));
    // Anything else with nothing shown: back to LIVE, as before.
    let mut t = live_timeline();
    t.step(-1);
    t.failed_with(&TimeError::Source(SourceError::Unavailable("gone".into())));
    assert!(t.is_live());
}

#[test]
fn header_words() {
    let mut t = live_timeline();
    assert_eq!(t.header_text(0), "LIVE");
    // 1_800_000_000 is 2027-01-15 08:00:00 UTC.
    t.step(-725);
    assert_eq!(t.header_text(0), "07:47:55 — 12m 05s ago  loading…");
    assert_eq!(t.header_text(3_600), "08:47:55 — 12m 05s ago  loading…");
    t.answered(&state(NOW - 725 * S, 0, NOW));
    t.play();
    t.play();
    assert_eq!(t.header_text(0), "▶ 2× 07:47:55 — 12m 05s ago");
    t.go(NOW - 2 * 86_400 * S, false);
    assert!(
        t.header_text(0)
            .starts_with("▶ 2× 2027-01-13 08:00:00 — 2d 00h ago")
    );
}

#[test]
fn ages() {
    assert_eq!(ago(0), "now");
    assert_eq!(ago(59), "59s ago");
    assert_eq!(ago(725), "12m 05s ago");
    assert_eq!(ago(3 * 3_600 + 120), "3h 02m ago");
    assert_eq!(ago(2 * 86_400 + 4 * 3_600), "2d 04h ago");
}
