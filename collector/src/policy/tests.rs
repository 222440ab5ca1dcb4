//! The policy document: parse, round-trip, and errors naming field and line.
use super::*;
use crate::policy::trace::{Mode, TraceShape};

const DOC: &str = "\
apiVersion: spyderbat/v1
kind: SpyderbatPolicy
metadata:
  name: suppress-tmp-exe
  type: trace
spec:
  traceSelector:
    triggerClass: [proc/exec/tmp]
    triggerAncestors: ['bash/sshd*']
  userSelector:
    users: [root]
  allowedFlags:
    - class: proc/exec/*
  mode: enforce
  enabled: true
";

fn trace(text: &str) -> TracePolicy {
    match parse("p.yaml", text).unwrap() {
        Policy::Trace(p) => p,
        Policy::Workload(w) => panic!("not a trace policy: {}", w.name),
    }
}

#[test]
fn parses_the_spyderbat_shape() {
    let p = trace(DOC);
    assert_eq!(p.name, "suppress-tmp-exe");
    assert_eq!(p.trigger_class, ["proc/exec/tmp"]);
    assert_eq!(p.trigger_ancestors, ["bash/sshd*"]);
    assert_eq!(p.users, ["root"]);
    assert_eq!(p.allowed_flags, ["proc/exec/*"]);
    assert_eq!((p.mode, p.enabled), (Mode::Enforce, true));
}

#[test]
fn round_trips_through_yaml() {
    let mut p = trace(DOC);
    p.created_by = "alice \"ops\"".to_owned();
    p.creation_timestamp = Some(1_764_288_000.5);
    p.mode = Mode::Audit;
    let text = p.to_yaml("suppressed by alice\nreason: a build: noisy");
    assert!(
        text.starts_with("# suppressed by alice\n# reason: a build: noisy\n"),
        "{text}"
    );
    assert_eq!(trace(&text), p, "{text}");
    let policy = Policy::Trace(p);
    assert_eq!(parse("q.yaml", &policy.to_yaml("")).unwrap(), policy);
}

#[test]
fn selects_by_shape_and_allows_by_class() {
    let p = trace(DOC);
    let users = ["root".to_owned()];
    let shape = |class, anc| TraceShape {
        trigger_class: class,
        trigger_ancestors: anc,
        users: &users,
    };
    assert!(p.selects(&shape("proc/exec/tmp", "bash/sshd/systemd")));
    assert!(!p.selects(&shape("proc/exec/tmp", "zsh/sshd/systemd")));
    assert!(!p.selects(&shape("proc/shell", "bash/sshd/systemd")));
    let two = ["root".to_owned(), "bob".to_owned()];
    assert!(!p.selects(&TraceShape {
        users: &two,
        ..shape("proc/exec/tmp", "bash/sshd")
    }));
    assert!(p.allows("proc/exec/deleted") && !p.allows("proc/shell"));
    let mut off = p.clone();
    off.enabled = false;
    assert!(!off.selects(&shape("proc/exec/tmp", "bash/sshd")));
}

#[test]
fn errors_name_field_and_line() {
    let e = parse(
        "p.yaml",
        &DOC.replace("    users: [root]", "    userz: [root]"),
    )
    .unwrap_err();
    assert_eq!((e.field.as_str(), e.line), ("userz", 11), "{e}");
    assert!(e.to_string().starts_with("p.yaml line 11: userz: "), "{e}");

    let e = parse(
        "p.yaml",
        &DOC.replace("  mode: enforce", "  mode: enforcing"),
    )
    .unwrap_err();
    assert_eq!((e.field.as_str(), e.line), ("mode", 14), "{e}");

    let e = parse("p.yaml", &DOC.replace("type: trace", "type: cluster")).unwrap_err();
    assert_eq!((e.field.as_str(), e.line), ("metadata.type", 5), "{e}");
    assert!(e.message.contains("machine, trace)"), "{e}");

    let e = parse("p.yaml", &DOC.replace("spyderbat/v1", "spyderbat/v2")).unwrap_err();
    assert_eq!((e.field.as_str(), e.line), ("apiVersion", 1), "{e}");

    let e = parse(
        "p.yaml",
        &DOC.replace("name: suppress-tmp-exe", "name: ../x"),
    )
    .unwrap_err();
    assert_eq!((e.field.as_str(), e.line), ("metadata.name", 4), "{e}");

    let e = parse(
        "p.yaml",
        &DOC.replace("extra", "x")
            .replace("spec:\n", "spec:\n  colour: red\n"),
    )
    .unwrap_err();
    assert_eq!((e.field.as_str(), e.line), ("colour", 7), "{e}");
}

#[test]
fn a_bad_file_does_not_stop_the_others() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.yaml"), DOC).unwrap();
    std::fs::write(
        dir.path().join("b.yaml"),
        DOC.replace("mode: enforce", "mode: 3"),
    )
    .unwrap();
    std::fs::write(dir.path().join("c.txt"), "not a policy").unwrap();
    let (good, bad) = load_dir(dir.path());
    assert_eq!(good.len(), 1);
    assert_eq!(bad.len(), 1);
    assert!(
        bad[0].file.ends_with("b.yaml") && bad[0].line == 14,
        "{:?}",
        bad[0]
    );
}

#[test]
fn written_files_load_back() {
    let dir = tempfile::tempdir().unwrap();
    let p = parse("p.yaml", DOC).unwrap();
    let path = write(&dir.path().join("policies.d"), &p, "by alice").unwrap();
    assert!(
        path.ends_with("policies.d/suppress-tmp-exe.yaml"),
        "{}",
        path.display()
    );
    let (good, bad) = load_dir(&dir.path().join("policies.d"));
    assert!(bad.is_empty(), "{bad:?}");
    assert_eq!(good, vec![(path, p)]);
}

#[test]
fn globs() {
    assert!(glob("a*c", "abbbc") && glob("*", "") && glob("a?c", "abc"));
    assert!(!glob("a*c", "abd") && !glob("abc", "ab"));
}
