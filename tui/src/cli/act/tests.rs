//! The action subcommands' flags: what parses, and the errors for what does not.
use clap::{Parser as _, error::ErrorKind};
use perch_proto::v1::{ActionKind, Signal};

use crate::cli::{Cli, Command};

fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(std::iter::once("perch").chain(args.iter().copied()))
}

fn request(args: &[&str]) -> (ActionKind, u32, Option<u64>, Signal, Option<i32>, bool) {
    let cli = parse(args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
    let Some(Command::Act(cmd)) = cli.command else {
        panic!("{args:?} is not an action")
    };
    let r = cmd.request();
    (
        r.kind,
        r.target.pid,
        r.target.start_time,
        r.signal,
        r.priority,
        r.target.dry_run,
    )
}

/// The error clap prints for `args`, which must fail validation.
fn error(args: &[&str]) -> String {
    let e = parse(args).expect_err("should be refused");
    assert_eq!(e.kind(), ErrorKind::ValueValidation, "{e}");
    e.to_string()
}

#[test]
fn every_subcommand_names_its_action() {
    for (sub, kind) in [
        (&["kill"][..], ActionKind::Kill),
        (&["kill-tree"], ActionKind::KillTree),
        (&["kill-group"], ActionKind::KillGroup),
        (&["kill-pod"], ActionKind::KillPod),
        (&["freeze"], ActionKind::FreezeTree),
        (&["freeze", "--pod"], ActionKind::FreezePod),
        (&["thaw"], ActionKind::ThawTree),
        (&["thaw", "--pod"], ActionKind::ThawPod),
    ] {
        let mut args = sub.to_vec();
        args.extend(["--pid", "42", "--reason", "r"]);
        assert_eq!(request(&args).0, kind, "{sub:?}");
    }
    assert_eq!(
        request(&[
            "renice",
            "--pid",
            "7",
            "--priority",
            "-5",
            "--reason",
            "hog"
        ]),
        (
            ActionKind::Renice,
            7,
            None,
            Signal::Unspecified,
            Some(-5),
            false
        )
    );
    assert_eq!(
        request(&[
            "kill-tree",
            "--pid",
            "7",
            "--start-time",
            "123",
            "--signal",
            "sigterm",
            "--reason",
            "x",
            "--dry-run",
            "--json",
            "--socket",
            "/s"
        ]),
        (ActionKind::KillTree, 7, Some(123), Signal::Term, None, true)
    );
    // KILL unless told otherwise.
    assert_eq!(
        request(&["kill", "--pid", "7", "--reason", "x"]).3,
        Signal::Kill
    );
}

#[test]
fn priority_outside_the_range_names_it() {
    for bad in ["20", "-21", "100"] {
        let e = error(&["renice", "--pid", "7", "--priority", bad, "--reason", "x"]);
        assert!(
            e.contains(&format!("priority {bad} is outside -20..19")),
            "{e}"
        );
    }
    let e = error(&[
        "renice",
        "--pid",
        "7",
        "--priority",
        "high",
        "--reason",
        "x",
    ]);
    assert!(
        e.contains("`high` is not a number") && e.contains("-20..19"),
        "{e}"
    );
    // Renice needs a priority.
    let e = parse(&["renice", "--pid", "7", "--reason", "x"]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MissingRequiredArgument);
}

#[test]
fn bad_signal_pid_and_reason_are_clear() {
    let e = error(&["kill", "--pid", "7", "--signal", "SEGV", "--reason", "x"]);
    assert!(
        e.contains("unknown signal `SEGV`: one of TERM KILL INT HUP QUIT ABRT STOP CONT USR1 USR2"),
        "{e}"
    );
    for bad in ["0", "-1"] {
        let e = error(&["kill", "--pid", bad, "--reason", "x"]);
        assert!(
            e.contains(&format!("pid {bad} is not a process id: give 1 or more")),
            "{e}"
        );
    }
    let e = error(&["kill", "--pid", "x1", "--reason", "x"]);
    assert!(e.contains("pid `x1` is not a number"), "{e}");
    for bad in ["", "   "] {
        let e = error(&["kill", "--pid", "7", "--reason", bad]);
        assert!(e.contains("the reason is empty"), "{e}");
    }
    let long = "r".repeat(1025);
    let e = error(&["kill", "--pid", "7", "--reason", &long]);
    assert!(e.contains("at most 1024"), "{e}");
    // A reason is required; --signal only for the kill actions.
    let e = parse(&["kill", "--pid", "7"]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MissingRequiredArgument);
    let e = parse(&[
        "kill-pod", "--pid", "7", "--reason", "x", "--signal", "TERM",
    ])
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnknownArgument);
}

#[test]
fn read_only_is_a_console_flag() {
    assert!(parse(&["--read-only"]).unwrap().read_only);
    assert!(!parse(&[]).unwrap().read_only);
}
