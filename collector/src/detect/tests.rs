//! Rule files and the detector over a model built by hand (the e2e tests
//! drive the real behaviours through the kernel).
use std::{net::SocketAddr, sync::Arc};

use super::*;
use crate::model::{ExeInfo, ExecFacts, ExitInfo, FdFact};

fn errors(text: &str) -> Vec<RuleError> {
    let mut set = RuleSet::builtin().unwrap();
    set.add_str("t.yaml", text).unwrap_err()
}

#[test]
fn builtin_rules_load() {
    let set = RuleSet::builtin().unwrap();
    assert!(set.rules.len() >= 12, "{}", set.rules.len());
    assert!(
        set.rules
            .iter()
            .all(|r| r.enabled && r.source == "builtin:default.yaml")
    );
}

#[test]
fn file_errors_name_rule_field_and_line() {
    let e = errors("rules:\n  - id: a\n    short_name: a\n    kind: red\n    severity: hgh\n");
    assert_eq!((e[0].line, e[0].rule.as_deref()), (5, Some("a")), "{e:?}");
    assert_eq!(e[0].field, "severity", "{e:?}");
    assert!(
        e[0].to_string()
            .starts_with("t.yaml line 5: rule a: severity: unknown variant `hgh`"),
        "{}",
        e[0]
    );

    let e = errors("rules:\n  - id: b\n    sevrity: high\n");
    assert_eq!(
        (e[0].line, e[0].rule.as_deref(), e[0].field.as_str()),
        (3, Some("b"), "sevrity"),
        "{e:?}"
    );

    let text = "rules:\n  - id: c\n    short_name: c\n    kind: red\n    severity: high\n    \
                description: x\n    condition: proc.name ==\n";
    let e = errors(text);
    assert_eq!(
        (e[0].line, e[0].rule.as_deref(), e[0].field.as_str()),
        (7, Some("c"), "condition")
    );
    assert!(e[0].message.contains("`proc.name ==`"), "{}", e[0].message);

    let e = errors("rules:\n  - id: d\n    kind: red\n    description: \"{proc.nmae}\"\n");
    assert_eq!(
        (e[0].line, e[0].field.as_str()),
        (4, "description"),
        "{e:?}"
    );
    assert_eq!(e[1].field, "short_name", "{e:?}");
    assert!(
        e[1].message
            .contains("missing: short_name, severity, condition"),
        "{}",
        e[1]
    );
    assert!(
        e[1].to_string()
            .starts_with("t.yaml line 2: rule d: short_name:"),
        "{}",
        e[1]
    );
}

#[test]
fn files_override_and_disable() {
    let mut set = RuleSet::builtin().unwrap();
    let text = "rules:\n  - id: memfd_exec\n    enabled: false\n  - id: reverse_shell\n    severity: critical\n";
    set.add_str("/etc/perch/rules.d/local.yaml", text).unwrap();
    let get = |id: &str| set.rules.iter().find(|r| r.id == id).unwrap();
    assert!(!get("memfd_exec").enabled);
    assert_eq!(get("reverse_shell").severity, Severity::Critical);
    assert_eq!(get("reverse_shell").source, "/etc/perch/rules.d/local.yaml");
    assert!(get("reverse_shell").condition.contains("stdio.exists"));
}

const T0: u64 = 1_000 * perch_proto::NS_PER_SEC;

fn fd(kind: FdKind, inode: u64) -> FdFact {
    FdFact {
        kind,
        inode,
        local: None,
        peer: None,
    }
}

fn tty() -> [FdFact; 3] {
    [fd(FdKind::Tty, 1); 3]
}

fn process(pid: u32, parent: u32, argv: &[&str], exe: &str, stdio: [FdFact; 3]) -> ProcessInfo {
    let comm: String = exe.rsplit('/').next().unwrap().chars().take(15).collect();
    ProcessInfo {
        key: ProcKey {
            pid,
            start_ns: u64::from(pid) * 1_000_000,
        },
        ppid: parent,
        parent_start_ns: u64::from(parent) * 1_000_000,
        sid: if parent == 1 { pid } else { 10 },
        uid: 0,
        euid: 0,
        comm,
        exe: exe.to_owned(),
        argv: argv.iter().map(|s| (*s).to_owned()).collect(),
        facts: Some(Arc::new(ExecFacts {
            exe: ExeInfo {
                path: exe.to_owned(),
                nlink: 1,
                mode: 0o100_755,
                ..ExeInfo::default()
            },
            stdio,
            ..ExecFacts::default()
        })),
        ..ProcessInfo::default()
    }
}

struct Rig {
    model: ProcessModel,
    det: Detector,
    events: Vec<pb::Event>,
}

impl Rig {
    fn new() -> Self {
        let mut rig = Self {
            model: ProcessModel::new(60 * perch_proto::NS_PER_SEC),
            det: Detector::new(RuleSet::builtin().unwrap(), DetectSettings::default(), 0),
            events: Vec::new(),
        };
        rig.exec(process(10, 1, &["bash"], "/usr/bin/bash", tty()));
        rig
    }

    fn exec(&mut self, p: ProcessInfo) {
        let e = ModelEvent::Exec {
            time_ns: T0,
            process: p,
            old_pid: 0,
        };
        self.det.before(&self.model, &e);
        let applied = self.model.apply(e).unwrap();
        self.events
            .extend(self.det.after(&self.model, &applied, T0));
    }

    fn exit(&mut self, pid: u32, code: i32) {
        self.exit_with(pid, Some(code));
    }

    /// An exit with the code given, or (`None`) an unknown status, as a
    /// heal from /proc after lost records gives.
    fn exit_with(&mut self, pid: u32, code: Option<i32>) {
        let key = self.model.get(pid).unwrap().key;
        let exit = ExitInfo {
            time_ns: T0,
            code,
            ..ExitInfo::default()
        };
        let e = ModelEvent::Exit {
            time_ns: T0,
            key,
            exit,
        };
        self.det.before(&self.model, &e);
        self.model.apply(e);
    }

    fn flags(&self) -> Vec<pb::Flag> {
        let q = FlagQuery {
            limit: 100,
            include_excepted: true,
            ..FlagQuery::default()
        };
        self.det.list_flags(&q).flags
    }

    fn rules_on(&self, pid: u32) -> Vec<String> {
        let mut v: Vec<String> = self
            .flags()
            .into_iter()
            .filter(|f| f.process.is_some_and(|k| k.pid == pid) && !f.excepted)
            .map(|f| f.rule_id)
            .collect();
        v.sort();
        v
    }

    fn traces(&self) -> Vec<pb::Trace> {
        self.det
            .list_traces(&TraceQuery {
                limit: 100,
                ..TraceQuery::default()
            })
            .traces
    }
}

#[test]
fn reverse_shell_needs_a_socket_on_stdio() {
    let mut rig = Rig::new();
    let peer: SocketAddr = "192.0.2.7:4444".parse().unwrap();
    let sock = FdFact {
        kind: FdKind::Tcp,
        inode: 9,
        local: None,
        peer: Some(peer),
    };
    rig.exec(process(20, 10, &["bash", "-i"], "/usr/bin/bash", [sock; 3]));
    rig.exec(process(21, 10, &["bash", "-i"], "/usr/bin/bash", tty()));
    assert_eq!(rig.rules_on(20), ["reverse_shell"]);
    assert!(rig.rules_on(21).is_empty());
    let f = &rig.flags()[0];
    assert_eq!(f.severity(), pb::Severity::High);
    assert!(
        f.description.contains("to 192.0.2.7:4444"),
        "{}",
        f.description
    );
    assert_eq!(f.ancestors, ["bash"]);
}

#[test]
fn webserver_incident_rolls_up_into_one_notable_trace() {
    let mut rig = Rig::new();
    // nginx as a service (child of pid 1), a shell under it, recon commands.
    rig.exec(process(30, 1, &["nginx"], "/usr/sbin/nginx", tty()));
    rig.exec(process(
        31,
        30,
        &["sh", "-c", "id; uname -a; cat /etc/passwd"],
        "/usr/bin/dash",
        tty(),
    ));
    rig.exec(process(32, 31, &["id"], "/usr/bin/id", tty()));
    rig.exec(process(33, 31, &["uname", "-a"], "/usr/bin/uname", tty()));
    rig.exec(process(
        34,
        31,
        &["cat", "/etc/passwd"],
        "/usr/bin/cat",
        tty(),
    ));
    // An unrelated incident in another session: a second trace.
    rig.exec(process(40, 1, &["sshd"], "/usr/sbin/sshd", tty()));
    rig.exec(process(
        41,
        40,
        &["x", "--donate-level=1"],
        "/usr/bin/x",
        tty(),
    ));
    let traces = rig.traces();
    assert_eq!(traces.len(), 2, "{traces:#?}");
    let web = traces.iter().find(|t| t.root_proc_name == "nginx").unwrap();
    assert_eq!(web.unique_flag_count, 2, "{web:#?}");
    assert_eq!(web.flag_count, 2, "repeats are not new flags");
    assert!(web.notable && web.score >= 50, "{web:#?}");
    assert_eq!(web.trigger_short_name, "webserver_shell");
    let recon: Vec<_> = rig
        .flags()
        .into_iter()
        .filter(|f| f.rule_id == "webserver_recon")
        .collect();
    assert_eq!(recon.len(), 1);
    assert_eq!(recon[0].repeat_count, 3);
    assert_eq!(recon[0].trace_id, web.id);
}

#[test]
fn download_piped_into_a_shell_in_either_exec_order() {
    let mut rig = Rig::new();
    let (r, w) = (fd(FdKind::Pipe, 77), fd(FdKind::Pipe, 77));
    rig.exec(process(
        50,
        10,
        &["sh"],
        "/usr/bin/dash",
        [r, fd(FdKind::Tty, 1), fd(FdKind::Tty, 1)],
    ));
    rig.exec(process(
        51,
        10,
        &["curl", "-s", "http://x/"],
        "/usr/bin/curl",
        [fd(FdKind::Tty, 1), w, fd(FdKind::Tty, 1)],
    ));
    assert_eq!(rig.rules_on(50), ["download_piped_to_shell"]);
    // Another session (the same rule in the same tree would be a repeat).
    rig.exec(process(11, 1, &["bash"], "/usr/bin/bash", tty()));
    let (r, w) = (fd(FdKind::Pipe, 78), fd(FdKind::Pipe, 78));
    rig.exec(process(
        53,
        11,
        &["wget", "-qO-", "http://x/"],
        "/usr/bin/wget",
        [fd(FdKind::Tty, 1), w, fd(FdKind::Tty, 1)],
    ));
    rig.exec(process(
        52,
        11,
        &["bash"],
        "/usr/bin/bash",
        [r, fd(FdKind::Tty, 1), fd(FdKind::Tty, 1)],
    ));
    assert_eq!(rig.rules_on(52), ["download_piped_to_shell"]);
    // cat into a shell is not a download.
    let (r, w) = (fd(FdKind::Pipe, 79), fd(FdKind::Pipe, 79));
    rig.exec(process(
        55,
        10,
        &["cat", "x.sh"],
        "/usr/bin/cat",
        [fd(FdKind::Tty, 1), w, fd(FdKind::Tty, 1)],
    ));
    rig.exec(process(
        54,
        10,
        &["sh"],
        "/usr/bin/dash",
        [r, fd(FdKind::Tty, 1), fd(FdKind::Tty, 1)],
    ));
    assert!(rig.rules_on(54).is_empty());
}

#[test]
fn restart_loop_counts_failed_runs_only() {
    let mut rig = Rig::new();
    for pid in 60..64 {
        rig.exec(process(pid, 10, &["svc", "--run"], "/usr/bin/svc", tty()));
        rig.exit(pid, 1);
    }
    for pid in 70..76 {
        rig.exec(process(pid, 10, &["ok"], "/usr/bin/ok", tty()));
        rig.exit(pid, 0);
    }
    // Exits whose status was lost are not failures.
    for pid in 90..96 {
        rig.exec(process(pid, 10, &["storm"], "/usr/bin/storm", tty()));
        rig.exit_with(pid, None);
    }
    let flags: Vec<_> = rig
        .flags()
        .into_iter()
        .filter(|f| f.rule_id == "restart_loop")
        .collect();
    assert_eq!(flags.len(), 1, "{flags:#?}");
    assert_eq!(flags[0].process.unwrap().pid, 63);
    assert_eq!(flags[0].kind(), pb::FlagKind::Ops);
    assert!(flags[0].trace_id.is_empty(), "ops flags join no trace");
}

#[test]
fn build_tools_are_excepted_not_silenced() {
    let mut rig = Rig::new();
    rig.exec(process(
        80,
        10,
        &["cargo", "build"],
        "/root/.cargo/bin/cargo",
        tty(),
    ));
    rig.exec(process(
        81,
        80,
        &["build-script-build"],
        "/tmp/c/target/debug/build/x/build-script-build",
        tty(),
    ));
    rig.exec(process(82, 10, &["/tmp/dropper"], "/tmp/dropper", tty()));
    let flags = rig.flags();
    let build = flags.iter().find(|f| f.process.unwrap().pid == 81).unwrap();
    assert!(
        build.excepted && build.exception_reason.contains("build tools"),
        "{build:#?}"
    );
    assert!(build.trace_id.is_empty());
    assert_eq!(rig.rules_on(82), ["exec_from_temp"]);
    let listed = rig
        .det
        .list_flags(&FlagQuery {
            limit: 10,
            ..FlagQuery::default()
        })
        .flags;
    assert!(
        listed.iter().all(|f| !f.excepted),
        "excepted flags are hidden by default"
    );
}

#[test]
fn miner_arguments() {
    let mut rig = Rig::new();
    rig.exec(process(
        90,
        1,
        &["/bin/true", "-o", "stratum+tcp://127.0.0.1:3333"],
        "/usr/bin/true",
        tty(),
    ));
    rig.exec(process(
        91,
        1,
        &["xmrig", "-a", "rx/0", "-o", "pool:3333"],
        "/opt/x/xmrig",
        tty(),
    ));
    rig.exec(process(
        92,
        1,
        &["/bin/true", "-o", "http://127.0.0.1:3333"],
        "/usr/bin/true",
        tty(),
    ));
    assert_eq!(rig.rules_on(90), ["crypto_miner"]);
    assert_eq!(rig.rules_on(91), ["crypto_miner"]);
    assert!(rig.rules_on(92).is_empty());
}

#[test]
fn a_suppressed_trace_shape_excepts_its_flags() {
    let mut rig = Rig::new();
    rig.exec(process(11, 10, &["x"], "/tmp/x", tty()));
    let traces = rig.traces();
    assert_eq!(traces.len(), 1, "{traces:?}");
    assert!(!traces[0].suppressed);
    let (policy, trace) = rig.det.suppress_trace(&traces[0].id, "alice", 1.0).unwrap();
    assert!(trace.suppressed && rig.traces()[0].suppressed);
    assert_eq!(policy.trigger_ancestors, ["bash"]);
    assert!(!policy.allowed_flags.is_empty(), "{policy:?}");
    // The document round-trips (it is what perchd writes).
    let text = crate::policy::Policy::Trace(policy.clone()).to_yaml("");
    assert_eq!(
        crate::policy::parse("p.yaml", &text).unwrap(),
        crate::policy::Policy::Trace(policy.clone())
    );

    // The same behaviour again: the new flag is excepted by the policy.
    rig.exec(process(12, 10, &["x"], "/tmp/x", tty()));
    let f = rig
        .flags()
        .into_iter()
        .find(|f| f.process.is_some_and(|k| k.pid == 12))
        .unwrap();
    assert!(f.excepted, "{f:?}");
    assert_eq!(f.exception_reason, format!("policy {}", policy.name));
    assert!(rig.det.suppress_trace("trace:999", "alice", 1.0).is_none());

    // Loaded at start-up instead: a new detector with the policy suppresses
    // the trace the shape opens, and excepts the flag.
    let mut rig = Rig::new();
    rig.det.set_policies(vec![policy]);
    rig.exec(process(11, 10, &["x"], "/tmp/x", tty()));
    assert!(rig.flags().iter().all(|f| f.excepted));
}

#[test]
fn oom_kills_are_the_kernels_marked_victims_only() {
    let mut rig = Rig::new();
    rig.det.set_oom_marked(true);
    let killed = |rig: &mut Rig, pid: u32, oom_killed: bool| {
        rig.exec(process(pid, 10, &["hog"], "/usr/bin/hog", tty()));
        let key = rig.model.get(pid).unwrap().key;
        let e = ModelEvent::Exit {
            time_ns: T0,
            key,
            exit: ExitInfo {
                time_ns: T0,
                signal: Some(9),
                oom_killed,
                ..ExitInfo::default()
            },
        };
        rig.det.before(&rig.model, &e);
        rig.model.apply(e);
    };
    // A SIGKILL from someone else, then the OOM killer's victim.
    killed(&mut rig, 80, false);
    killed(&mut rig, 81, true);
    let oom: Vec<u32> = rig
        .flags()
        .into_iter()
        .filter(|f| f.rule_id == "oom_kill")
        .filter_map(|f| f.process.map(|k| k.pid))
        .collect();
    assert_eq!(oom, vec![81]);
}

#[test]
fn an_enforcing_workload_policy_excepts_flags_on_what_it_covers() {
    let doc = "apiVersion: spyderbat/v1
kind: SpyderbatPolicy
metadata: {name: build-tools, type: machine}
spec:
  machineSelector: {hostname: build-1}
  mode: enforce
  processPolicy:
  - name: bash
    exe: [\"*\"]
    id: bash_0
    euser: [\"*\"]
    children: [{name: x, exe: [/tmp/x], id: x_0}]
  networkPolicy: {ingress: [], egress: []}
  response: {default: [], actions: []}
";
    let policy = crate::policy::workload::parse("p.yaml", doc).unwrap();
    let mut rig = Rig::new();
    rig.det
        .set_workload_policies(vec![std::sync::Arc::new(policy)], "build-1".to_owned());
    rig.exec(process(11, 10, &["x"], "/tmp/x", tty()));
    rig.exec(process(12, 10, &["y"], "/tmp/y", tty()));
    let on = |pid: u32| {
        rig.flags()
            .into_iter()
            .find(|f| f.process.is_some_and(|k| k.pid == pid))
            .unwrap()
    };
    let covered = on(11);
    assert!(covered.excepted, "{covered:?}");
    assert_eq!(
        covered.exception_reason,
        "policy build-tools (its process tree allows it)"
    );
    assert!(!on(12).excepted, "not in the tree: flagged as usual");
}
