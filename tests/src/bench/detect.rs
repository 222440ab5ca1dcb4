//! `detect`: what the detection rules cost per exec event, in process.
//! The same exec events go through perchd's event path (model apply and
//! conversion to `perch.v1`) twice: without detections (the baseline) and
//! with the default rule set; then the cost of a flag that joins an
//! active trace with 10,000 flags held, against with 10; and the cost per
//! security event (watched writes no path rule matches, as a busy watched
//! directory makes them) with the default rules, and with one more rule
//! that reads the process (so every event builds the whole context).
//! Medians of `--rounds`.
use std::{sync::Arc, time::Instant};

use perchd::{
    convert,
    detect::{DetectSettings, Detector, RuleSet},
    model::{ExeInfo, ExecFacts, FdFact, FdKind, ModelEvent, ProcKey, ProcessInfo, ProcessModel},
    security::{Detail, SecPath, SecurityEvent},
};

use crate::args::{Opt, median, parse};

pub const USAGE: &str =
    "perch-bench detect [--events N (1000..=1000000, 20000)] [--rounds N (1..=50, 5)]";

fn process(pid: u32, parent: u32, sid: u32, argv: &[&str], exe: &str) -> ProcessInfo {
    let tty = FdFact {
        kind: FdKind::Tty,
        inode: 3,
        local: None,
        peer: None,
    };
    ProcessInfo {
        key: ProcKey {
            pid,
            start_ns: u64::from(pid) * 1_000,
        },
        ppid: parent,
        parent_start_ns: u64::from(parent) * 1_000,
        sid,
        comm: exe
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .chars()
            .take(15)
            .collect(),
        exe: exe.to_owned(),
        argv: argv.iter().map(|s| (*s).to_owned()).collect(),
        tty: "pts/1".to_owned(),
        facts: Some(Arc::new(ExecFacts {
            exe: ExeInfo {
                path: exe.to_owned(),
                nlink: 1,
                mode: 0o100_755,
                ..ExeInfo::default()
            },
            stdio: [tty; 3],
            ..ExecFacts::default()
        })),
        ..ProcessInfo::default()
    }
}

/// A shell session (pid 100) running ordinary commands, as a build or an
/// admin would: nothing here matches a default rule.
fn events(n: usize, first_pid: u32) -> Vec<ModelEvent> {
    const CMDS: &[(&[&str], &str)] = &[
        (&["ls", "-l"], "/usr/bin/ls"),
        (&["grep", "-r", "TODO", "src"], "/usr/bin/grep"),
        (&["cc", "-c", "x.c", "-o", "x.o"], "/usr/bin/cc"),
        (&["git", "status"], "/usr/bin/git"),
        (&["sh", "-c", "make -j2"], "/usr/bin/dash"),
    ];
    (0..n)
        .map(|i| {
            let (argv, exe) = CMDS[i % CMDS.len()];
            let pid = first_pid + u32::try_from(i).unwrap_or(0);
            ModelEvent::Exec {
                time_ns: 1_000_000 + i as u64,
                process: process(pid, 100, 100, argv, exe),
                old_pid: 0,
            }
        })
        .collect()
}

/// `n` writes by the shell (pid 100) under a watched directory that no
/// default rule is about.
fn writes(n: usize) -> Vec<ModelEvent> {
    (0..n)
        .map(|i| {
            let path = format!("/srv/app/data/{}.json", i % 64);
            ModelEvent::Security(Box::new(SecurityEvent {
                time_ns: 1_000_000 + i as u64,
                key: ProcKey {
                    pid: 100,
                    start_ns: 100_000,
                },
                tid: 100,
                result: 3,
                syscall: "openat",
                detail: Detail::Open {
                    path: SecPath {
                        path: path.clone(),
                        ..SecPath::default()
                    },
                    given: path,
                    flags: 0o1101,
                    mode: 0o644,
                    write: true,
                },
            }))
        })
        .collect()
}

/// The default rules plus one over file writes that reads the process.
fn detector_reading_proc() -> anyhow::Result<Detector> {
    let mut rules = RuleSet::builtin().map_err(|e| anyhow::anyhow!("built-in rules: {e:?}"))?;
    let extra = "rules:\n  - id: bench_proc\n    short_name: bench_proc\n    kind: red\n    \
                 severity: low\n    description: x\n    on: file_write\n    \
                 condition: proc.uid == 12345 && event.write\n";
    rules
        .add_str("bench.yaml", extra)
        .map_err(|e| anyhow::anyhow!("bench rule: {e:?}"))?;
    Ok(Detector::new(rules, DetectSettings::default(), 0))
}

fn security_events(n: usize, rounds: usize) -> anyhow::Result<()> {
    let evs = writes(n);
    let (mut off, mut on, mut full) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        off.push(pass(&evs, None));
        on.push(pass(&evs, Some(&mut detector(10_000)?)));
        full.push(pass(&evs, Some(&mut detector_reading_proc()?)));
    }
    let (off, on, full) = (median(off), median(on), median(full));
    println!("security events (watched writes no rule is about): {n}");
    println!("event path without detections: {off:.2} us/event (baseline)");
    println!(
        "with the default rules:        {on:.2} us/event ({:.2}x the baseline)",
        on / off
    );
    println!(
        "with a rule reading proc:      {full:.2} us/event ({:.2}x the baseline; the whole context per event)",
        full / off
    );
    Ok(())
}

fn base_model() -> ProcessModel {
    let mut m = ProcessModel::new(1_000_000_000);
    m.seed([
        process(1, 0, 1, &["init"], "/sbin/init"),
        process(100, 1, 100, &["bash"], "/usr/bin/bash"),
    ]);
    m
}

fn detector(max: usize) -> anyhow::Result<Detector> {
    let rules = RuleSet::builtin().map_err(|e| anyhow::anyhow!("built-in rules: {e:?}"))?;
    let settings = DetectSettings {
        max_flags: max,
        max_traces: max,
        ..DetectSettings::default()
    };
    Ok(Detector::new(rules, settings, 0))
}

/// µs per event through the event path, with `det` or without.
fn pass(evs: &[ModelEvent], mut det: Option<&mut Detector>) -> f64 {
    let mut model = base_model();
    let start = Instant::now();
    let mut out = 0usize;
    for e in evs.iter().cloned() {
        if let Some(d) = det.as_deref_mut() {
            d.before(&model, &e);
        }
        if let Some(applied) = model.apply(e) {
            if let Some(d) = det.as_deref_mut() {
                out += d.after(&model, &applied, 0).len();
            }
            out += usize::from(convert::event(applied).kind.is_some());
        }
    }
    std::hint::black_box(out);
    start.elapsed().as_secs_f64() * 1e6 / evs.len() as f64
}

pub fn run(args: Vec<String>) -> anyhow::Result<()> {
    let (mut n, mut rounds) = (20_000, 5);
    parse(
        args,
        &mut [
            Opt {
                name: "--events",
                value: &mut n,
                range: 1000..=1_000_000,
            },
            Opt {
                name: "--rounds",
                value: &mut rounds,
                range: 1..=50,
            },
        ],
        USAGE,
    )?;
    let evs = events(n, 1000);
    let (mut off, mut on) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        off.push(pass(&evs, None));
        let mut d = detector(10_000)?;
        on.push(pass(&evs, Some(&mut d)));
    }
    let (off, on) = (median(off), median(on));
    println!(
        "exec events: {n}, rounds: {rounds}, default rules: {}",
        RuleSet::builtin().map_or(0, |s| s.rules.len())
    );
    println!("event path without detections: {off:.2} us/exec (baseline)");
    println!(
        "event path with detections:    {on:.2} us/exec ({:.2} us for the rules; {:.2}x the baseline)",
        on - off,
        on / off
    );

    // A flag joining an active trace: with 10,000 flags held (1,000
    // sessions of ten miners), against with 10 (one session).
    let (mut many, mut few) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        many.push(join_cost(1_000)?);
        few.push(join_cost(1)?);
    }
    let (many, few) = (median(many), median(few));
    println!("flag joining an active trace, 10 flags held:     {few:.2} us/flag (baseline)");
    println!(
        "flag joining an active trace, 10,000 flags held: {many:.2} us/flag ({:.2}x the baseline)",
        many / few
    );
    security_events(n, rounds)
}

/// µs per flag joining one of `sessions` active traces that hold ten
/// flags each (a miner in each of ten processes per session).
fn join_cost(sessions: u32) -> anyhow::Result<f64> {
    let mut d = detector(20_000)?;
    let mut model = base_model();
    let miner = |pid: u32, sid: u32| {
        process(
            pid,
            sid,
            sid,
            &["x", "--donate-level=1", &pid.to_string()],
            "/opt/x",
        )
    };
    let feed = |model: &mut ProcessModel, d: &mut Detector, p: ProcessInfo| {
        let e = ModelEvent::Exec {
            time_ns: 2_000_000,
            process: p,
            old_pid: 0,
        };
        if let Some(applied) = model.apply(e) {
            std::hint::black_box(d.after(model, &applied, 0));
        }
    };
    for s in 0..sessions {
        let sid = 100_000 + s * 100;
        feed(
            &mut model,
            &mut d,
            process(sid, 1, sid, &["sshd"], "/usr/sbin/sshd"),
        );
        for k in 1..=10 {
            feed(&mut model, &mut d, miner(sid + k, sid));
        }
    }
    let start = Instant::now();
    let extra = 1_000u32;
    for i in 0..extra {
        let sid = 100_000 + (i % sessions) * 100;
        feed(&mut model, &mut d, miner(sid + 11 + i / sessions, sid));
    }
    Ok(start.elapsed().as_secs_f64() * 1e6 / f64::from(extra))
}
