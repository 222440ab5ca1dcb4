//! Gates against the CEL they stand in front of: whenever a condition is
//! true its gate is open, over the default rules and processes that match
//! and miss them; and ordinary commands close most gates.
use std::sync::Arc;

use super::*;
use crate::detect::rules::On;
use crate::{
    detect::{RuleSet, context},
    model::{ExeInfo, ExecFacts, ProcessInfo},
};

fn process(argv: &[&str], exe: &str) -> ProcessInfo {
    ProcessInfo {
        comm: exe
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .chars()
            .take(15)
            .collect(),
        exe: exe.to_owned(),
        argv: argv.iter().map(|s| (*s).to_owned()).collect(),
        facts: Some(Arc::new(ExecFacts {
            exe: ExeInfo {
                path: exe.to_owned(),
                ..ExeInfo::default()
            },
            ..ExecFacts::default()
        })),
        ..ProcessInfo::default()
    }
}

fn samples() -> Vec<ProcessInfo> {
    vec![
        process(&["ls", "-l"], "/usr/bin/ls"),
        process(&["sh", "-c", "make"], "/usr/bin/dash"),
        process(&["bash"], "/bin/bash"),
        process(&["python3.11", "x.py"], "/usr/bin/python3.11"),
        process(&["nc", "-lvp", "4444"], "/usr/bin/nc.openbsd"),
        process(&["socat", "TCP-LISTEN:1", "EXEC:/bin/sh"], "/usr/bin/socat"),
        process(&["xmrig", "-o", "stratum+tcp://x:1"], "/opt/xmrig"),
        process(&["x", "--algo", "rx/0"], "/usr/local/bin/x"),
        process(&["x", "-a", "randomx"], "/usr/local/bin/x"),
        process(&["run"], "/tmp/build/run"),
        process(&["run"], "/run/user/0/x"),
        process(&["run"], "/run/current-system/sw/bin/x"),
        process(&["id"], "/usr/bin/id"),
        process(&["cat", "/etc/passwd"], "/usr/bin/cat"),
    ]
}

/// A CEL context with the rule files' `lists`, as the detector binds them.
fn root_with_lists(set: &RuleSet) -> cel::Context<'static, 'static> {
    let mut root = cel::Context::default();
    let lists: std::collections::HashMap<String, cel::Value> = set
        .lists
        .iter()
        .map(|(k, v)| (k.clone(), cel::Value::from(v.clone())))
        .collect();
    root.add_variable_from_value("lists", cel::Value::from(lists));
    root
}

fn gate(cond: &str) -> Option<Gate> {
    let lists = BTreeMap::from([(
        "shells".to_owned(),
        vec!["sh".to_owned(), "bash".to_owned()],
    )]);
    Gate::of(cel::Program::compile(cond).unwrap().expression(), &lists)
}

fn open(g: &Gate, p: &ProcessInfo) -> bool {
    let sub = Subject {
        event: "exec",
        proc: p,
        ancestors: Vec::new(),
        stdin_writers: Vec::new(),
        failed_runs: 0,
    };
    g.open(&Strings::new(&sub))
}

#[test]
fn a_true_condition_never_meets_a_closed_gate() {
    let set = RuleSet::builtin().unwrap();
    let root = root_with_lists(&set);
    let mut closed = 0;
    for p in &samples() {
        let sub = Subject {
            event: "exec",
            proc: p,
            ancestors: Vec::new(),
            stdin_writers: Vec::new(),
            failed_runs: 0,
        };
        let strings = Strings::new(&sub);
        let vars = context::vars(&sub);
        let mut scope = root.new_inner_scope();
        scope.set_variable_resolver(&vars);
        for r in &set.rules {
            let Some(g) = Gate::of(r.program.expression(), &set.lists) else {
                continue;
            };
            let truth = r.program.execute(&scope) == Ok(cel::Value::Bool(true));
            let is_open = g.open(&strings);
            assert!(
                is_open || !truth,
                "rule {} on {:?}: gate closed",
                r.id,
                p.argv
            );
            closed += usize::from(!is_open);
        }
    }
    assert!(closed > 50, "gates closed only {closed} times");
}

#[test]
fn gates_follow_the_operators() {
    let ls = process(&["ls", "-l"], "/usr/bin/ls");
    let sh = process(&["sh", "-c", "x"], "/bin/sh");
    let g =
        gate("proc.euid == 0 && (proc.name in lists.shells || exe.base in ['python'])").unwrap();
    assert!(open(&g, &sh) && !open(&g, &ls));
    let g = gate("proc.argv.exists(a, a.startsWith('-c') || a == 'x')").unwrap();
    assert!(open(&g, &sh) && !open(&g, &ls));
    let g =
        gate("[exe.path, proc.exe].exists(x, x.startsWith('/bin/') && !x.endsWith('y'))").unwrap();
    assert!(open(&g, &sh) && !open(&g, &ls));
    let g = gate("['-l', 'q'].exists(x, proc.cmdline.contains(x))").unwrap();
    assert!(open(&g, &ls) && !open(&g, &sh));
}

#[test]
fn what_is_not_understood_stays_open() {
    assert!(gate("proc.name in lists.shells || size(proc.argv) > 2").is_none());
    assert!(gate("proc.name in lists.missing").is_none());
    assert!(gate("!(proc.name in lists.shells)").is_none());
    assert!(gate("proc.name in [proc.exe]").is_none());
    assert!(gate("exe.links > 1").is_none());
    // A comprehension variable named like a context variable is not it.
    assert!(gate("proc.argv.exists(proc, proc.name == 'x')").is_none());
}

#[test]
fn numbers_flags_and_env() {
    let mut p = process(&["su"], "/usr/bin/su");
    p.uid = 1000;
    let g = gate("proc.uid != 0 && proc.euid == 0").unwrap();
    assert!(open(&g, &p));
    let g = gate("0 < proc.uid && proc.uid <= 999").unwrap();
    assert!(!open(&g, &p));
    let g = gate("exe.setuid || exe.memfd").unwrap();
    assert!(!open(&g, &p));
    let g = gate("'LD_PRELOAD' in env && env.LD_PRELOAD != ''").unwrap();
    assert!(!open(&g, &p));
}

/// Security events as `event::security` shapes them: a watched path
/// written, read, renamed, unlinked...
fn events() -> Vec<EventCtx> {
    use crate::{detect::event::Field, model::ProcKey};
    let paths = [
        "/etc/cron.d/job",
        "/var/spool/cron/crontabs/root",
        "/etc/systemd/system/x.service",
        "/etc/sudoers.d/extra",
        "/home/u/.bashrc",
        "/root/.ssh/authorized_keys",
        "/etc/ld.so.preload",
        "/etc/shadow",
        "/root/.ssh/id_ed25519",
        "/var/log/auth.log",
        "/sys/fs/cgroup/x/release_agent",
        "/proc/sys/kernel/core_pattern",
        "/etc/cron.d/job.dpkg-new",
        "/tmp/build/out.o",
        "/etc/hostname",
    ];
    let mut out = Vec::new();
    for kind in [
        On::FileWrite,
        On::FileRead,
        On::FileRename,
        On::FileUnlink,
        On::FileTruncate,
        On::FileChmod,
    ] {
        for path in paths {
            for ok in [true, false] {
                let mut c = EventCtx::new(kind, ProcKey::default(), 0);
                c.set("syscall", Field::Str("openat".to_owned()));
                c.set("result", Field::Int(if ok { 3 } else { -13 }));
                c.set("ok", Field::Bool(ok));
                c.set("path", Field::Str(path.to_owned()));
                let name = path.rsplit('/').next().unwrap_or_default();
                c.set("name", Field::Str(name.to_owned()));
                c.set("in_new_ns", Field::Bool(!ok));
                c.set("write", Field::Bool(kind != On::FileRead));
                c.set("trunc", Field::Bool(kind == On::FileTruncate));
                out.push(c);
            }
        }
    }
    out
}

#[test]
fn a_true_condition_never_meets_a_closed_event_gate() {
    let set = RuleSet::builtin().unwrap();
    let root = root_with_lists(&set);
    let (mut closed, mut true_seen) = (0, 0);
    for p in &samples() {
        let sub = Subject {
            event: "file_write",
            proc: p,
            ancestors: Vec::new(),
            stdin_writers: Vec::new(),
            failed_runs: 0,
        };
        let vars = context::vars(&sub);
        for ev in &events() {
            let mut outer = root.new_inner_scope();
            outer.set_variable_resolver(&vars);
            let mut scope = outer.new_inner_scope();
            scope.add_variable_from_value("event", ev.value());
            let alone = Strings::event_only(ev);
            let both = Strings::with_event(Some(&sub), Some(ev));
            for r in set.rules.iter().filter(|r| r.on.contains(&ev.kind)) {
                let Some(g) = Gate::of(r.program.expression(), &set.lists) else {
                    continue;
                };
                let truth = r.program.execute(&scope) == Ok(cel::Value::Bool(true));
                true_seen += usize::from(truth);
                let (a, b) = (g.open(&alone), g.open(&both));
                assert!(a || !truth, "rule {} on {:?}: event gate closed", r.id, ev);
                assert!(b || !truth, "rule {} on {:?}: gate closed", r.id, ev);
                closed += usize::from(!a);
            }
        }
    }
    assert!(true_seen > 20, "conditions true only {true_seen} times");
    assert!(closed > 500, "event gates closed only {closed} times");
}

#[test]
fn event_fields_are_terms() {
    use crate::{detect::event::Field, model::ProcKey};
    let mut c = EventCtx::new(On::Ptrace, ProcKey::default(), 0);
    c.set("request", Field::Str("PTRACE_ATTACH".to_owned()));
    c.set("request_no", Field::Int(16));
    c.set("ok", Field::Bool(false));
    let s = Strings::event_only(&c);
    assert!(gate("event.request == 'PTRACE_ATTACH'").unwrap().open(&s));
    assert!(
        !gate("event.request in ['PTRACE_POKETEXT']")
            .unwrap()
            .open(&s)
    );
    assert!(!gate("event.request_no > 16").unwrap().open(&s));
    assert!(!gate("event.ok && proc.euid == 0").unwrap().open(&s));
    assert!(!gate("event.kind == 'mount'").unwrap().open(&s));
    // What the event does not hold, and the process, may be true.
    assert!(gate("event.missing == 'x'").unwrap().open(&s));
    assert!(gate("proc.name == 'gdb'").unwrap().open(&s));
}
