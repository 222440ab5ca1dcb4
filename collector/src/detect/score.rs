//! The Spydertrace score (README "Spydertrace score").  Distinct flag
//! types count, weighted by severity with diminishing returns; repeats do
//! not count; a high or critical flag with company gets a correlation
//! bonus; context (interactive, root, a non-local connection) adds a
//! little.  Tuned so that one critical flag, or a high flag plus any other
//! distinct flag, reaches the notable threshold (50), and low/info flags
//! alone never do, whatever their number and context.
use super::rules::Severity;

/// Weight of the first distinct flag type of a severity; each further
/// type of the same severity counts half the one before.
#[must_use]
pub fn weight(s: Severity) -> u32 {
    match s {
        Severity::Info => 1,
        Severity::Low => 4,
        Severity::Medium => 12,
        Severity::High => 40,
        Severity::Critical => 60,
    }
}

/// Per further distinct flag type when the trace holds a high or critical
/// flag, up to [`CORRELATION_MAX`].
pub const CORRELATION: u32 = 10;
pub const CORRELATION_MAX: u32 = 30;
pub const INTERACTIVE: u32 = 5;
pub const ROOT: u32 = 5;
pub const NON_LOCAL_CONNECTION: u32 = 10;
/// The default "notable" threshold.
pub const NOTABLE: u32 = 50;

/// What the score is computed from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inputs {
    /// The severity of each distinct flag type (rule) in the trace.
    pub distinct: Vec<Severity>,
    pub interactive: bool,
    /// A flagged process ran with euid 0.
    pub root: bool,
    /// The trace has a connection to a non-loopback address.
    pub non_local_connection: bool,
}

#[must_use]
pub fn score(i: &Inputs) -> u32 {
    let mut base = 0u32;
    for sev in [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ] {
        let n = i.distinct.iter().filter(|s| **s == sev).count();
        // Halving: the 6th and later of one severity add nothing.
        for k in 0..n.min(6) {
            base += weight(sev) >> k;
        }
    }
    let strong = i.distinct.iter().any(|s| *s >= Severity::High);
    let extra = u32::try_from(i.distinct.len().saturating_sub(1)).unwrap_or(u32::MAX);
    let correlation = if strong {
        extra.saturating_mul(CORRELATION).min(CORRELATION_MAX)
    } else {
        0
    };
    let context = u32::from(i.interactive) * INTERACTIVE
        + u32::from(i.root) * ROOT
        + u32::from(i.non_local_connection) * NON_LOCAL_CONNECTION;
    base + correlation + context
}

#[cfg(test)]
mod tests {
    use super::*;
    use Severity::*;

    fn inputs(distinct: Vec<Severity>, ctx: u8) -> Inputs {
        Inputs {
            distinct,
            interactive: ctx & 1 != 0,
            root: ctx & 2 != 0,
            non_local_connection: ctx & 4 != 0,
        }
    }

    #[test]
    fn anchors() {
        assert_eq!(score(&inputs(vec![Critical], 0)), 60);
        assert_eq!(score(&inputs(vec![High, Info], 0)), 51);
        assert_eq!(score(&inputs(vec![High], 0)), 40);
        assert_eq!(score(&inputs(vec![Medium, Medium], 0)), 18);
        assert_eq!(score(&inputs(vec![], 7)), 20);
    }

    /// Every mix of up to 4 distinct flags per severity, under every context.
    fn every_mix(mut check: impl FnMut(&[Severity], u8, u32)) {
        for mix in 0..5u32.pow(5) {
            let mut distinct = Vec::new();
            let mut m = mix;
            for sev in [Info, Low, Medium, High, Critical] {
                for _ in 0..m % 5 {
                    distinct.push(sev);
                }
                m /= 5;
            }
            for ctx in 0..8 {
                check(&distinct, ctx, score(&inputs(distinct.clone(), ctx)));
            }
        }
    }

    #[test]
    fn one_critical_or_high_plus_another_is_notable() {
        every_mix(|d, _, s| {
            let critical = d.contains(&Critical);
            let high_plus = d.contains(&High) && d.len() >= 2;
            if critical || high_plus {
                assert!(s >= NOTABLE, "{d:?} scored {s}");
            }
        });
    }

    #[test]
    fn low_and_info_alone_never_notable() {
        every_mix(|d, ctx, s| {
            if d.iter().all(|x| *x <= Low) {
                assert!(s < NOTABLE, "{d:?} ctx {ctx} scored {s}");
            }
        });
        // Far more distinct low flags than the mixes above: still below.
        assert!(
            score(&inputs(
                vec![Low; 200].into_iter().chain(vec![Info; 200]).collect(),
                7
            )) < NOTABLE
        );
    }

    #[test]
    fn more_distinct_flags_or_context_never_lower_the_score() {
        every_mix(|d, ctx, s| {
            for add in [Info, Low, Medium, High, Critical] {
                let mut more = d.to_vec();
                more.push(add);
                assert!(score(&inputs(more, ctx)) >= s, "{d:?} + {add:?}");
            }
            for bit in [1u8, 2, 4] {
                assert!(score(&inputs(d.to_vec(), ctx | bit)) >= s);
            }
        });
    }
}
