//! Non-exec events through the detector over a model built by hand: the
//! index sends each kind to its rules only, the `event` fields reach
//! conditions and descriptions, exceptions by ancestry apply, repeats are
//! counted, and kinds this kernel cannot produce (module loads here) are
//! judged like the others.
use std::sync::Arc;

use super::*;
use crate::{
    detect::{DetectSettings, FlagQuery, RuleSet},
    model::{ExeInfo, ExecFacts, ProcessModel},
    security::{SecPath, SecurityEvent, Target},
};

const T0: u64 = 1_000 * perch_proto::NS_PER_SEC;

fn process(pid: u32, parent: u32, exe: &str) -> ProcessInfo {
    let comm: String = exe.rsplit('/').next().unwrap().chars().take(15).collect();
    ProcessInfo {
        key: ProcKey {
            pid,
            start_ns: u64::from(pid) * 1_000_000,
        },
        ppid: parent,
        parent_start_ns: u64::from(parent) * 1_000_000,
        comm,
        exe: exe.to_owned(),
        argv: [exe.to_owned()].into_iter().collect(),
        facts: Some(Arc::new(ExecFacts {
            exe: ExeInfo {
                path: exe.to_owned(),
                nlink: 1,
                mode: 0o100_755,
                ..ExeInfo::default()
            },
            ..ExecFacts::default()
        })),
        ..ProcessInfo::default()
    }
}

struct Rig {
    model: ProcessModel,
    det: Detector,
}

impl Rig {
    fn new(procs: &[(u32, u32, &str)]) -> Self {
        let mut rig = Self {
            model: ProcessModel::new(60 * perch_proto::NS_PER_SEC),
            det: Detector::new(RuleSet::builtin().unwrap(), DetectSettings::default(), 0),
        };
        for &(pid, parent, exe) in procs {
            rig.model.apply(ModelEvent::Exec {
                time_ns: T0,
                process: process(pid, parent, exe),
                old_pid: 0,
            });
        }
        rig
    }

    fn security(&mut self, pid: u32, syscall: &'static str, detail: Detail) -> Vec<pb::Event> {
        let key = self.model.get(pid).unwrap().key;
        let e = ModelEvent::Security(Box::new(SecurityEvent {
            time_ns: T0,
            key,
            tid: pid,
            result: 0,
            syscall,
            detail,
        }));
        self.det.before(&self.model, &e);
        let applied = self.model.apply(e).unwrap();
        self.det.after(&self.model, &applied, T0)
    }

    fn flags(&self) -> Vec<pb::Flag> {
        let q = FlagQuery {
            limit: 100,
            include_excepted: true,
            ..FlagQuery::default()
        };
        self.det.list_flags(&q).flags
    }
}

fn write(path: &str) -> Detail {
    Detail::Open {
        path: SecPath {
            path: path.to_owned(),
            ..SecPath::default()
        },
        given: path.to_owned(),
        flags: 0o1101,
        mode: 0o644,
        write: true,
    }
}

#[test]
fn each_kind_runs_only_its_rules() {
    let rig = Rig::new(&[]);
    let exec = &rig.det.index[On::Exec.index()];
    let writes = &rig.det.index[On::FileWrite.index()];
    assert!(exec.len() >= 13 && writes.len() >= 8, "{exec:?} {writes:?}");
    let rules = &rig.det.rules.rules;
    assert!(writes.iter().all(|&i| rules[i].on.contains(&On::FileWrite)));
    assert!(exec.iter().all(|&i| rules[i].on == [On::Exec]));
    assert!(rig.det.index[On::CommRename.index()].is_empty());
}

#[test]
fn a_cron_write_is_flagged_with_its_path_and_a_package_install_is_excepted() {
    let mut rig = Rig::new(&[
        (10, 1, "/usr/bin/bash"),
        (20, 1, "/usr/bin/dpkg"),
        (21, 20, "/usr/bin/dash"),
    ]);
    let out = rig.security(10, "openat", write("/etc/cron.d/job"));
    assert!(!out.is_empty());
    // Repeats count on the same flag.
    rig.security(10, "openat", write("/etc/cron.d/job"));
    rig.security(21, "openat", write("/etc/cron.d/pkg"));
    let flags = rig.flags();
    let mine = flags.iter().find(|f| f.name == "bash").unwrap();
    assert_eq!(
        (mine.rule_id.as_str(), mine.repeat_count),
        ("cron_write", 2)
    );
    assert_eq!(
        mine.description,
        "bash (pid 10) wrote the cron file /etc/cron.d/job"
    );
    let pkg = flags.iter().find(|f| f.name == "dash").unwrap();
    assert!(
        pkg.excepted && pkg.exception_reason.contains("package"),
        "{pkg:?}"
    );
    // No exec rule ran for these events.
    assert!(flags.iter().all(|f| f.rule_id == "cron_write"), "{flags:?}");
}

#[test]
fn module_loads_are_judged_even_where_the_kernel_has_none() {
    let mut rig = Rig::new(&[(10, 1, "/usr/bin/python3"), (11, 1, "/usr/sbin/modprobe")]);
    let load = |path: &str| Detail::ModuleLoad {
        path: Some(SecPath {
            path: path.to_owned(),
            ..SecPath::default()
        }),
        params: String::new(),
        flags: 0,
    };
    rig.security(10, "finit_module", load("/tmp/rootkit.ko"));
    let flags = rig.flags();
    assert_eq!(flags.len(), 1, "{flags:?}");
    assert_eq!(flags[0].rule_id, "kernel_module_load");
    assert!(
        flags[0].description.contains("/tmp/rootkit.ko"),
        "{flags:?}"
    );
}

#[test]
fn ptrace_of_ones_own_child_is_not_injection() {
    let mut rig = Rig::new(&[
        (10, 1, "/usr/bin/strace"),
        (11, 10, "/usr/bin/true"),
        (12, 1, "/usr/bin/python3"),
        (13, 1, "/usr/bin/sleep"),
    ]);
    let attach = |rig: &Rig, pid: u32| Detail::Ptrace {
        request: 0x4206,
        target: Target {
            pid,
            key: rig.model.get(pid).map(|p| p.key),
            caller_in_child_ns: false,
        },
        addr: 0,
    };
    let own = attach(&rig, 11);
    rig.security(10, "ptrace", own);
    assert!(rig.flags().is_empty(), "{:?}", rig.flags());
    let other = attach(&rig, 13);
    rig.security(12, "ptrace", other);
    let flags = rig.flags();
    assert_eq!(flags.len(), 1, "{flags:?}");
    assert_eq!(flags[0].rule_id, "ptrace_attach");
    assert!(flags[0].description.contains("sleep (pid 13)"), "{flags:?}");
}

#[test]
fn a_bad_event_kind_names_the_rule_the_field_and_the_line() {
    let mut set = RuleSet::builtin().unwrap();
    let text = "rules:\n  - id: x\n    short_name: x\n    kind: red\n    severity: low\n    \
                description: d\n    on: [file_write, exce]\n    condition: 'true'\n";
    let e = set.add_str("t.yaml", text).unwrap_err();
    assert_eq!(
        (e[0].line, e[0].rule.as_deref(), e[0].field.as_str()),
        (7, Some("x"), "on"),
        "{e:?}"
    );
    assert!(
        e[0].message.contains("unknown event kind \"exce\""),
        "{e:?}"
    );
    // An override may move a rule to other kinds.
    let text = "rules:\n  - id: cron_write\n    on: file_rename\n";
    set.add_str("t.yaml", text).unwrap();
    let r = set.rules.iter().find(|r| r.id == "cron_write").unwrap();
    assert_eq!(r.on, [On::FileRename]);
}

#[test]
fn conditions_that_read_the_process_wait_for_the_whole_context() {
    // The event-only pass must fail (not guess) on a variable it lacks.
    let ctx = cel::Context::default();
    for src in [
        "proc.uid != 0",
        "exe.path in ['/x']",
        "!(proc.interactive)",
        "'A' in env",
    ] {
        let p = cel::Program::compile(src).unwrap();
        assert!(
            p.execute(&ctx).is_err(),
            "{src} evaluated without its variable"
        );
    }
    // Written so, a ptrace attach by a non-debugger needs `exe`; the
    // flag still comes (the second pass), as does a cron write decided
    // by the path alone.
    let mut rig = Rig::new(&[(12, 1, "/usr/bin/python3"), (13, 1, "/usr/bin/sleep")]);
    let target = Target {
        pid: 13,
        key: rig.model.get(13).map(|p| p.key),
        caller_in_child_ns: false,
    };
    let attach = Detail::Ptrace {
        request: 16,
        target,
        addr: 0,
    };
    let ev = event::security(
        &rig.model,
        &SecurityEvent {
            time_ns: T0,
            key: rig.model.get(12).unwrap().key,
            tid: 12,
            result: 0,
            syscall: "ptrace",
            detail: attach.clone(),
        },
        false,
    );
    let all = rig.det.index[On::Ptrace.index()].clone();
    let (hits, undecided) = rig.det.event_only(&ev, &all);
    let id = |i: &usize| rig.det.rules.rules[*i].id.as_str();
    assert!(
        hits.is_empty(),
        "{:?}",
        hits.iter().map(id).collect::<Vec<_>>()
    );
    assert_eq!(
        undecided.unwrap().iter().map(id).collect::<Vec<_>>(),
        ["ptrace_attach"]
    );
    rig.security(12, "ptrace", attach);
    assert_eq!(rig.flags()[0].rule_id, "ptrace_attach");
}

#[test]
fn a_port_is_new_once() {
    use crate::net::{Listening, NetChange, Owner};
    let mut rig = Rig::new(&[(10, 1, "/usr/bin/python3")]);
    let key = rig.model.get(10).unwrap().key;
    let listen = |id: u64, port: u16| ModelEvent::Net {
        time_ns: T0,
        change: NetChange::Listen(Listening {
            id,
            local: Some(std::net::SocketAddr::from(([127, 0, 0, 1], port))),
            owner: Some(Owner {
                key,
                comm: "python3".into(),
            }),
            ..Listening::default()
        }),
    };
    for (id, port) in [(1, 8080), (2, 8080), (3, 8081)] {
        rig.det.after(&rig.model, &listen(id, port), T0);
    }
    let flags = rig.flags();
    assert!(
        flags.iter().all(|f| f.rule_id == "new_listening_port"),
        "{flags:?}"
    );
    // One flag (same rule, same root): 8080 once, then 8081.
    assert_eq!(flags.len(), 1, "{flags:?}");
    assert_eq!(flags[0].repeat_count, 2, "{flags:?}");
    assert!(flags[0].description.contains("127.0.0.1:8080"), "{flags:?}");
}
