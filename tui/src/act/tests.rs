//! The input checks both the dialog and `perch kill …` rely on.
use perch_proto::v1::{AffectedProcess, ProcessOutcome};

use super::*;

#[test]
fn signals_by_name_or_number_any_case() {
    for (text, want) in [
        ("KILL", Signal::Kill),
        ("kill", Signal::Kill),
        ("SIGkill", Signal::Kill),
        ("sigterm", Signal::Term),
        (" Hup ", Signal::Hup),
        ("usr2", Signal::Usr2),
        ("9", Signal::Kill),
        ("19", Signal::Stop),
    ] {
        assert_eq!(parse_signal(text), Ok(want), "{text}");
    }
    for bad in ["", "SIG", "SEGV", "sigkil", "11", "-9", "KILL9"] {
        let e = parse_signal(bad).unwrap_err();
        assert!(matches!(e, InputError::UnknownSignal(_)), "{bad}");
        assert!(e.to_string().contains("TERM KILL INT"), "{e}");
    }
    // Every offered signal round-trips through its name.
    for s in SIGNALS {
        assert_eq!(parse_signal(signal_name(s)), Ok(s));
    }
}

#[test]
fn priority_names_the_range() {
    assert_eq!(parse_priority("-20"), Ok(-20));
    assert_eq!(parse_priority("19"), Ok(19));
    assert_eq!(parse_priority(" 0 "), Ok(0));
    let e = parse_priority("20").unwrap_err();
    assert_eq!(e, InputError::PriorityOutOfRange(20));
    assert_eq!(e.to_string(), "priority 20 is outside -20..19");
    assert!(
        parse_priority("-21")
            .unwrap_err()
            .to_string()
            .contains("-20..19")
    );
    assert!(
        parse_priority("99999999999")
            .unwrap_err()
            .to_string()
            .contains("-20..19")
    );
    for bad in ["", "x", "1.5", "--3"] {
        let e = parse_priority(bad).unwrap_err();
        assert!(matches!(e, InputError::PriorityNotANumber(_)), "{bad}");
        assert!(e.to_string().contains("-20..19"), "{e}");
    }
}

#[test]
fn pids_are_one_or_more() {
    assert_eq!(parse_pid("1"), Ok(1));
    assert_eq!(parse_pid("4294967295"), Ok(u32::MAX));
    assert_eq!(parse_pid("0"), Err(InputError::PidOutOfRange(0)));
    assert_eq!(parse_pid("-4"), Err(InputError::PidOutOfRange(-4)));
    assert_eq!(
        parse_pid("4294967296"),
        Err(InputError::PidOutOfRange(4_294_967_296))
    );
    assert!(matches!(
        parse_pid("abc"),
        Err(InputError::PidNotANumber(_))
    ));
    assert!(
        parse_pid("0")
            .unwrap_err()
            .to_string()
            .contains("1 or more")
    );
}

#[test]
fn reasons_are_trimmed_and_bounded() {
    assert_eq!(check_reason("  miner  "), Ok("miner".to_owned()));
    assert_eq!(check_reason(" \t\n"), Err(InputError::EmptyReason));
    assert_eq!(check_reason(""), Err(InputError::EmptyReason));
    assert_eq!(
        check_reason("\0\u{200b}\u{1b}[2J"),
        Err(InputError::EmptyReason)
    );
    assert_eq!(check_reason(&"x".repeat(1024)).map(|r| r.len()), Ok(1024));
    assert_eq!(
        check_reason(&"é".repeat(513)),
        Err(InputError::ReasonTooLong(1026))
    );
}

#[test]
fn result_lines() {
    let record =
        |action: ActionKind, mode: ActionMode, result: ActionResult, n: usize| AuditRecord {
            action: action.into(),
            mode: mode.into(),
            result: result.into(),
            processes: vec![
                AffectedProcess {
                    outcome: ProcessOutcome::Done.into(),
                    ..AffectedProcess::default()
                };
                n
            ],
            detail: if result == ActionResult::NotSuccessful {
                "no such process".to_owned()
            } else {
                String::new()
            },
            ..AuditRecord::default()
        };
    let resp = |r: AuditRecord, done, gone| ActResponse {
        record: Some(r),
        done,
        already_gone: gone,
    };
    let live = ActionMode::Live;
    assert_eq!(
        summary(&resp(
            record(ActionKind::Kill, live, ActionResult::Success, 1),
            1,
            0
        )),
        "1 process signalled"
    );
    assert_eq!(
        summary(&resp(
            record(ActionKind::FreezeTree, live, ActionResult::Partial, 4),
            3,
            1
        )),
        "3 processes frozen, 1 already gone"
    );
    assert_eq!(
        summary(&resp(
            record(
                ActionKind::KillPod,
                ActionMode::DryRun,
                ActionResult::Success,
                12
            ),
            0,
            0
        )),
        "would act on 12 processes"
    );
    assert_eq!(
        summary(&resp(
            record(ActionKind::Kill, live, ActionResult::NotSuccessful, 0),
            0,
            0
        )),
        "no such process"
    );
    assert!(ends_processes(ActionKind::KillTree, Signal::Term));
    assert!(!ends_processes(ActionKind::Kill, Signal::Stop));
    assert!(!ends_processes(ActionKind::FreezePod, Signal::Unspecified));
    assert_eq!(kind_name(ActionKind::KillGroup), "kill_group");
}
