//! Response actions end to end: a real perchd, real processes, the real
//! `perch` binary and raw gRPC requests.  Every request is audited —
//! done, refused or malformed — and the stream tells every console.
use std::{os::unix::fs::PermissionsExt as _, process::Command, time::Duration};

use perch_e2e::{
    Perchd,
    act::{key, live, records, sleeper},
    alive, binary, have_root_or_skip,
    procs::run_bounded,
};
use perch_proto::{
    stat,
    v1::{
        ActRequest, ActionKind, ActionMode, ActionResult, AuditRecord, EventKind, ProcessKey,
        Signal, WatchEventsRequest, event::Kind,
    },
};
use tonic::Code;

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test]
async fn perch_kill_signals_exactly_and_every_console_hears_of_it() {
    if !have_root_or_skip("perch_kill_signals_exactly_and_every_console_hears_of_it") {
        return;
    }
    let perchd = Perchd::start(&[]).await;
    let mut client = perchd.client().await.expect("client");
    let mut stream = client
        .watch_events(WatchEventsRequest {
            kinds: vec![EventKind::Action.into()],
            ..WatchEventsRequest::default()
        })
        .await
        .expect("watch")
        .into_inner();

    let mut target = sleeper();
    let pid = target.pid();
    perchd.wait_known(pid, "/bin/sleep").await;
    let socket = perchd.socket.display().to_string();
    let out = run_bounded(
        Command::new(binary("perch")).args([
            "kill",
            "--socket",
            &socket,
            "--pid",
            &pid.to_string(),
            "--signal",
            "TERM",
            "--reason",
            "e2e: stop the sleeper",
        ]),
        WAIT,
    );
    assert!(out.status.success(), "{out:?}");
    let status = target.wait();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(15),
        "TERM reached the target"
    );

    let log = records(&perchd);
    let rec = log.last().expect("one record");
    assert_eq!(rec.code, "ok", "{rec:?}");
    assert_eq!(rec.result, i32::from(ActionResult::Success));
    assert_eq!(rec.reason, "e2e: stop the sleeper");
    assert_eq!(rec.actor_uid, 0);
    assert_eq!(rec.processes.len(), 1);
    assert_eq!(rec.processes[0].key.map(|k| k.pid), Some(pid));
    assert_eq!(
        rec.target.as_ref().map(|t| t.exe.as_str()),
        Some("/bin/sleep"),
        "the target is described from the process model"
    );

    // A console watching the stream gets the same record.
    let event = tokio::time::timeout(WAIT, async {
        loop {
            let msg = stream.message().await.expect("stream").expect("open");
            if let Some(e) = msg
                .events
                .into_iter()
                .find(|e| matches!(e.kind, Some(Kind::Action(_))))
            {
                return e;
            }
        }
    })
    .await
    .expect("the action event");
    let Some(Kind::Action(streamed)) = event.kind else {
        unreachable!()
    };
    assert_eq!(streamed.id, rec.id);
    assert_eq!(streamed.hash, rec.hash);

    // The same request again: the process is gone, nothing else is hit.
    let again = run_bounded(
        Command::new(binary("perch")).args([
            "kill",
            "--socket",
            &socket,
            "--pid",
            &pid.to_string(),
            "--start-time",
            &rec.processes[0].key.unwrap().start_time_ns.to_string(),
            "--reason",
            "again",
        ]),
        WAIT,
    );
    assert_eq!(again.status.code(), Some(1), "{again:?}");
    assert!(again.stdout.contains("no such process"), "{again:?}");
}

#[tokio::test]
async fn bad_requests_are_refused_by_field_and_audited() {
    if !have_root_or_skip("bad_requests_are_refused_by_field_and_audited") {
        return;
    }
    let perchd = Perchd::start(&[]).await;
    let mut client = perchd.client().await.expect("client");
    let target = sleeper();
    let k = key(target.pid());
    let good = ActRequest {
        priority: Some(5),
        ..live(ActionKind::Renice, k)
    };
    let cases: Vec<(ActRequest, &str)> = vec![
        (
            ActRequest {
                priority: Some(20),
                ..good.clone()
            },
            "-20..19",
        ),
        (
            ActRequest {
                reason: "   ".to_owned(),
                ..good.clone()
            },
            "reason",
        ),
        (
            ActRequest {
                target: Some(ProcessKey { pid: 0, ..k }),
                ..good.clone()
            },
            "target.pid",
        ),
        (
            ActRequest {
                action: ActionKind::Kill.into(),
                priority: None,
                signal: 7,
                ..good.clone()
            },
            "signal",
        ),
        (
            ActRequest {
                mode: 0,
                ..good.clone()
            },
            "mode",
        ),
    ];
    let before = stat::read_pid(k.pid).expect("stat");
    for (req, field) in &cases {
        let err = client.act(req.clone()).await.expect_err("refused");
        assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
        assert!(err.message().contains(field), "{field}: {}", err.message());
    }
    // Nothing was touched: same nice value (field 19), still running.
    let after = stat::read_pid(k.pid).expect("stat");
    assert_eq!(before.nice, after.nice);
    assert!(alive(k.pid));

    let log = records(&perchd);
    let refused: Vec<&AuditRecord> = log
        .iter()
        .filter(|r| r.code == "invalid_argument")
        .collect();
    assert_eq!(
        refused.len(),
        cases.len(),
        "each refusal is audited: {log:?}"
    );
    assert!(
        refused
            .iter()
            .all(|r| r.result == i32::from(ActionResult::NotSuccessful))
    );
    assert!(refused[0].detail.contains("-20..19"));

    // And the valid renice works, read back with getpriority.
    let done = client.act(good).await.expect("renice").into_inner();
    assert_eq!(done.record.expect("record").code, "ok");
    // SAFETY: getpriority only reads.
    let nice = unsafe { libc::getpriority(libc::PRIO_PROCESS, k.pid) };
    assert_eq!(nice, 5);
}

#[tokio::test]
async fn a_stale_start_time_is_a_result_and_touches_nothing() {
    if !have_root_or_skip("a_stale_start_time_is_a_result_and_touches_nothing") {
        return;
    }
    let perchd = Perchd::start(&[]).await;
    let mut client = perchd.client().await.expect("client");
    let target = sleeper();
    let k = key(target.pid());
    let good = live(ActionKind::Kill, k);
    // A stale start time is a result, not an error: never the new process.
    let stale = ActRequest {
        target: Some(ProcessKey {
            start_time_ns: k.start_time_ns - 1_000_000_000,
            ..k
        }),
        ..good.clone()
    };
    let rec = client
        .act(stale)
        .await
        .expect("answered")
        .into_inner()
        .record
        .expect("record");
    assert_eq!(rec.result, i32::from(ActionResult::NotSuccessful));
    assert_eq!(rec.code, "target_replaced", "{rec:?}");
    assert!(alive(k.pid));
}

#[tokio::test]
async fn a_viewer_is_refused_and_the_refusal_is_audited() {
    if !have_root_or_skip("a_viewer_is_refused_and_the_refusal_is_audited") {
        return;
    }
    let perchd = Perchd::start(&[]).await;
    // Let an unprivileged user reach the socket (an admin would use a
    // group); perchd, not the file mode, decides what it may do.
    let dir = perchd.socket.parent().expect("socket dir");
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).expect("chmod dir");
    std::fs::set_permissions(&perchd.socket, std::fs::Permissions::from_mode(0o666))
        .expect("chmod socket");
    let target = sleeper();
    perchd.wait_known(target.pid(), "/bin/sleep").await;
    let pid = target.pid().to_string();
    let socket = perchd.socket.display().to_string();
    let perch = binary("perch");
    let out = run_bounded(
        Command::new("setpriv")
            .args(["--reuid", "65534", "--regid", "65534", "--clear-groups"])
            .arg(&perch)
            .args([
                "kill", "--socket", &socket, "--pid", &pid, "--reason", "not mine",
            ]),
        WAIT,
    );
    assert!(!out.status.success(), "{out:?}");
    assert!(out.stderr.contains("viewer"), "{out:?}");
    assert!(alive(target.pid()), "a viewer's request touched the target");
    let log = records(&perchd);
    let rec = log.last().expect("the refusal is audited");
    assert_eq!(rec.code, "permission_denied");
    assert_eq!(rec.actor_uid, 65534);
    assert_eq!(rec.reason, "not mine");
}

#[tokio::test]
async fn actions_reported_done_survive_repeated_crashes() {
    if !have_root_or_skip("actions_reported_done_survive_repeated_crashes") {
        return;
    }
    let mut perchd = Perchd::start(&[]).await;
    let mut reported: Vec<String> = Vec::new();
    let mut crashes = 0;
    let mut round = 0u64;
    while crashes < 6 || reported.len() < 30 {
        round += 1;
        assert!(
            round < 40,
            "too few actions got through: {}",
            reported.len()
        );
        let socket = perchd.socket.clone();
        // A stream of live kills of fresh sleepers, as fast as they go.
        let stream = tokio::spawn(async move {
            let mut done = Vec::new();
            let Ok(mut client) = perch_e2e::connect(&socket).await else {
                return done;
            };
            loop {
                let mut target = sleeper();
                let req = ActRequest {
                    action: ActionKind::Kill.into(),
                    target: Some(key(target.pid())),
                    reason: "crash test".to_owned(),
                    mode: ActionMode::Live.into(),
                    signal: Signal::Kill.into(),
                    ..ActRequest::default()
                };
                match client.act(req).await {
                    Ok(r) => {
                        let rec = r.into_inner().record.expect("record");
                        assert_eq!(rec.code, "ok", "{rec:?}");
                        let _ = target.wait();
                        done.push(rec.id);
                    }
                    Err(_) => return done,
                }
            }
        });
        // SIGKILL perchd at an arbitrary point of the stream.
        let pause = 150 + u64::from(perch_e2e::procs::random_hex(1).as_bytes()[0]) * 3;
        tokio::time::sleep(Duration::from_millis(pause)).await;
        perchd.crash();
        crashes += 1;
        reported.extend(stream.await.expect("stream task"));
        perchd.respawn().await;
    }
    let log = records(&perchd);
    let ids: std::collections::HashSet<&str> = log.iter().map(|r| r.id.as_str()).collect();
    for id in &reported {
        assert!(
            ids.contains(id.as_str()),
            "reported done but not in the log: {id}"
        );
    }
    let path = perchd.audit_log.display().to_string();
    let verify = run_bounded(
        Command::new(binary("perch")).args(["audit", "verify", &path]),
        WAIT,
    );
    assert!(verify.status.success(), "{verify:?}");

    // One flipped byte in the middle: verify names that line.
    perchd.crash();
    let text = std::fs::read(&perchd.audit_log).expect("read log");
    let lines: Vec<usize> = text
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .map(|(i, _)| i)
        .collect();
    let n = lines.len() / 2; // 1-based line n+1 starts after newline n
    let at = lines[n - 1] + 20;
    let mut bad = text.clone();
    bad[at] ^= 0x01;
    std::fs::write(&perchd.audit_log, &bad).expect("write log");
    let broken = run_bounded(
        Command::new(binary("perch")).args(["audit", "verify", &path]),
        WAIT,
    );
    assert!(!broken.status.success(), "{broken:?}");
    let line = format!("line {}", n + 1);
    assert!(
        broken.stdout.contains(&line) || broken.stderr.contains(&line),
        "want {line}: {broken:?}"
    );
}
