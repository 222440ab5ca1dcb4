//! Options of the benchmarks: `--name value` pairs whose values are whole
//! numbers in a stated range, so a bad value gets an error that names the
//! option and the range instead of a panic.
use std::{ops::RangeInclusive, time::Duration};

use anyhow::{Context as _, bail};

/// One numeric option: its name (`--processes`), where the value goes and
/// the values allowed.
pub struct Opt<'a> {
    pub name: &'static str,
    pub value: &'a mut usize,
    pub range: RangeInclusive<usize>,
}

/// Fills `opts` from `args`; `usage` ends every error message.
pub fn parse(
    args: impl IntoIterator<Item = String>,
    opts: &mut [Opt<'_>],
    usage: &str,
) -> anyhow::Result<()> {
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let Some(opt) = opts.iter_mut().find(|o| o.name == arg) else {
            bail!("unknown argument {arg}; usage: {usage}");
        };
        let raw = args
            .next()
            .with_context(|| format!("{} needs a value; usage: {usage}", opt.name))?;
        let n: usize = raw
            .parse()
            .with_context(|| format!("{}: not a whole number: {raw}", opt.name))?;
        if !opt.range.contains(&n) {
            bail!(
                "{} must be between {} and {}, got {n}",
                opt.name,
                opt.range.start(),
                opt.range.end()
            );
        }
        *opt.value = n;
    }
    Ok(())
}

/// The median of `v` (the upper one for an even count); 0 when empty.
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// The `p`-th percentile (0..=100) of `v`, ms.
pub fn percentile(v: &mut [Duration], p: usize) -> f64 {
    v.sort_unstable();
    let i = (v.len().saturating_sub(1) * p).div_ceil(100);
    v.get(i).map_or(0.0, |d| d.as_secs_f64() * 1e3)
}

pub use perch_e2e::procs::unix_now_ns;

/// CPU time of the calling thread, ns.
pub fn thread_cpu_ns() -> u64 {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID).map_or(0, |t| {
        u64::try_from(t.tv_sec()).unwrap_or(0) * 1_000_000_000
            + u64::try_from(t.tv_nsec()).unwrap_or(0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> anyhow::Result<(usize, usize)> {
        let (mut a, mut b) = (1, 2);
        parse(
            args.iter().map(|&s| s.to_owned()),
            &mut [
                Opt {
                    name: "--a",
                    value: &mut a,
                    range: 1..=10,
                },
                Opt {
                    name: "--b",
                    value: &mut b,
                    range: 0..=5,
                },
            ],
            "x [--a N] [--b N]",
        )?;
        Ok((a, b))
    }

    #[test]
    fn values_land_in_their_options() {
        assert_eq!(run(&[]).unwrap(), (1, 2));
        assert_eq!(run(&["--b", "0", "--a", "10"]).unwrap(), (10, 0));
    }

    #[test]
    fn bad_values_name_the_option_and_range() {
        let e = run(&["--a", "11"]).unwrap_err().to_string();
        assert!(e.contains("--a") && e.contains("between 1 and 10"), "{e}");
        let e = run(&["--b", "x"]).unwrap_err().to_string();
        assert!(e.contains("--b") && e.contains("not a whole number"), "{e}");
        let e = run(&["--a"]).unwrap_err().to_string();
        assert!(e.contains("--a needs a value"), "{e}");
        let e = run(&["--c", "1"]).unwrap_err().to_string();
        assert!(e.contains("unknown argument --c"), "{e}");
    }

    #[test]
    fn median_of_odd_even_and_empty() {
        assert!((median(vec![3.0, 1.0, 2.0]) - 2.0).abs() < f64::EPSILON);
        assert!((median(vec![4.0, 1.0, 3.0, 2.0]) - 3.0).abs() < f64::EPSILON);
        assert!(median(vec![]).abs() < f64::EPSILON);
    }
}
