//! No caller can flood the audit log: a real viewer (nobody, over the
//! Unix socket) hammering `Act` gets every refusal, but past its burst the
//! log gets one aggregate record per burst instead of one line per
//! request; nothing is lost (recorded + aggregated = sent), also when
//! perchd stops in the middle of a burst.  And requests too large or not
//! decodable get `INVALID_ARGUMENT` and one audit record, as the contract
//! says of malformed requests.
#![expect(
    clippy::expect_used,
    clippy::panic,
    reason = "helpers of end-to-end tests: a broken environment should fail the test loudly"
)]
use std::{process::Command, time::Duration};

use perch_e2e::{
    Perchd,
    act::{NOBODY, key, live, records, share_socket, sleeper},
    binary, have_root_or_skip,
    procs::run_bounded,
};
use perch_proto::v1::{ActRequest, ActionKind, AuditRecord};
use tonic::{Code, transport::Channel};

const WAIT: Duration = Duration::from_secs(30);
const FLOOD_SOCKET: &str = "PERCH_FLOOD_SOCKET";
const FLOOD_SECS: &str = "PERCH_FLOOD_SECS";
const FLOOD_TARGET: &str = "PERCH_FLOOD_TARGET";
const AGGREGATE: &str = "refusals_aggregated";
const BURST: usize = 10;
const PER_MINUTE: f64 = 6.0;

#[tokio::test]
#[ignore = "the flooding client, which the flood tests run as nobody"]
async fn flood_client() {
    let socket = std::env::var(FLOOD_SOCKET).expect("run by the flood tests");
    let secs: u64 = std::env::var(FLOOD_SECS).expect("secs").parse().expect("n");
    let target: u32 = std::env::var(FLOOD_TARGET)
        .expect("pid")
        .parse()
        .expect("n");
    let mut client = perch_e2e::connect(socket.as_ref()).await.expect("connect");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    let mut sent = 0u64;
    while tokio::time::Instant::now() < deadline {
        // A viewer's kill (refused for the role) and a malformed one (no
        // reason), in turn.
        let mut req = live(ActionKind::Kill, key(target));
        let want = if sent.is_multiple_of(2) {
            Code::PermissionDenied
        } else {
            req.reason = String::new();
            Code::InvalidArgument
        };
        let err = client.act(req).await.expect_err("refused");
        assert_eq!(err.code(), want, "{err:?}");
        sent += 1;
    }
    println!("\nFLOOD sent={sent}");
}

/// Runs `flood_client` as nobody for `secs`; the number of requests sent.
fn flood(perchd: &Perchd, secs: u64, target: u32) -> u64 {
    let exe = std::env::current_exe().expect("current_exe");
    let out = run_bounded(
        Command::new("setpriv")
            .args(["--reuid", "65534", "--regid", "65534", "--clear-groups"])
            .arg(exe)
            .args(["--ignored", "--exact", "flood_client", "--nocapture"])
            .env(FLOOD_SOCKET, &perchd.socket)
            .env(FLOOD_SECS, secs.to_string())
            .env(FLOOD_TARGET, target.to_string()),
        WAIT + Duration::from_secs(secs),
    );
    assert!(out.status.success(), "{out:?}");
    out.stdout
        .lines()
        .find_map(|l| l.strip_prefix("FLOOD sent="))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count: {out:?}"))
}

/// The viewer's records: (refusals written one by one, aggregate records).
fn split(log: &[AuditRecord]) -> (Vec<&AuditRecord>, Vec<&AuditRecord>) {
    log.iter()
        .filter(|r| r.actor_uid == NOBODY)
        .partition(|r| r.code != AGGREGATE)
}

/// N of "N refused requests from ...".
fn held(aggregate: &AuditRecord) -> u64 {
    aggregate
        .detail
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {aggregate:?}"))
}

/// A perchd with a small refusal limit, its socket open to nobody.
async fn perchd() -> (Perchd, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("perchd.toml");
    std::fs::write(
        &config,
        format!("[access]\nrefusal_burst = {BURST}\nrefusal_per_minute = {PER_MINUTE}\n"),
    )
    .expect("config");
    let config = config.display().to_string();
    let perchd = Perchd::start(&["--config", &config, "--socket-group", "nogroup"]).await;
    share_socket(&perchd);
    (perchd, dir)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_viewers_flood_is_recorded_in_bounded_lines_and_nothing_is_lost() {
    if !have_root_or_skip("a_viewers_flood_is_recorded_in_bounded_lines_and_nothing_is_lost") {
        return;
    }
    let (perchd, _dir) = perchd().await;
    let target = sleeper();
    let started = std::time::Instant::now();
    let sent = tokio::task::block_in_place(|| flood(&perchd, 10, target.pid()));
    let minutes = started.elapsed().as_secs_f64() / 60.0;
    assert!(sent > 100, "the flood sent only {sent} requests");

    // Once the burst is over, its refusals are summed up in the log.
    let mut accounted = 0;
    for _ in 0..300 {
        let log = records(&perchd);
        let (single, aggregates) = split(&log);
        accounted = single.len() as u64 + aggregates.iter().map(|a| held(a)).sum::<u64>();
        if accounted >= sent {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        accounted, sent,
        "every refusal is a record or counted in one"
    );
    let log = records(&perchd);
    let (single, aggregates) = split(&log);
    // The burst, then the sustained rate: a bound from the limits, not time.
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a small positive count"
    )]
    let allowed = BURST + (PER_MINUTE * minutes).ceil() as usize + 1;
    assert!(
        single.len() <= allowed,
        "{} refusals written one by one, at most {allowed}",
        single.len()
    );
    assert!(!aggregates.is_empty());
    // One aggregate per 30 s of flood at most, plus the one at its end.
    assert!(aggregates.len() <= 2, "{aggregates:?}");
    let agg = aggregates[0];
    assert!(held(agg) > 50, "{agg:?}");
    assert!(
        agg.detail.contains("from uid 65534 (nobody) between")
            && agg.detail.contains("invalid_argument x")
            && agg.detail.contains("permission_denied x"),
        "{agg:?}"
    );
    let path = perchd.audit_log.display().to_string();
    let verify = run_bounded(
        Command::new(binary("perch")).args(["audit", "verify", &path]),
        WAIT,
    );
    assert!(verify.status.success(), "{verify:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_held_when_perchd_stops_are_written_at_shutdown() {
    if !have_root_or_skip("refusals_held_when_perchd_stops_are_written_at_shutdown") {
        return;
    }
    let (mut perchd, _dir) = perchd().await;
    let target = sleeper();
    let sent = tokio::task::block_in_place(|| flood(&perchd, 1, target.pid()));
    assert!(sent > BURST as u64, "{sent}");
    // Stopped within the caller's burst: nothing is due yet.
    assert!(perchd.stop().success());
    let log = records(&perchd);
    let (single, aggregates) = split(&log);
    let accounted = single.len() as u64 + aggregates.iter().map(|a| held(a)).sum::<u64>();
    assert_eq!(accounted, sent, "{aggregates:?}");
}

/// Sends `body` as the request message of `Act`, bytes as given.
async fn raw_act(channel: Channel, body: Vec<u8>) -> tonic::Status {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.expect("ready");
    let path = tonic::codegen::http::uri::PathAndQuery::from_static("/perch.v1.Collector/Act");
    grpc.unary(tonic::Request::new(body), path, raw::Raw)
        .await
        .map(|_: tonic::Response<()>| ())
        .expect_err("refused")
}

#[tokio::test]
async fn oversized_and_undecodable_requests_are_invalid_argument_and_audited() {
    if !have_root_or_skip("oversized_and_undecodable_requests_are_invalid_argument_and_audited") {
        return;
    }
    let perchd = Perchd::start(&[]).await;
    let target = sleeper();
    let mut client = perchd.client().await.expect("client");
    let before = records(&perchd).len();

    let oversized = ActRequest {
        // Over tonic's own 4 MiB default too.
        reason: "x".repeat(5 * 1024 * 1024),
        ..live(ActionKind::Kill, key(target.pid()))
    };
    let err = client.act(oversized).await.expect_err("too large");
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert!(err.message().contains("too large"), "{err:?}");
    let log = records(&perchd);
    assert_eq!(log.len(), before + 1, "one record");
    let rec = log.last().expect("record");
    assert_eq!((rec.code.as_str(), rec.actor_uid), ("invalid_argument", 0));
    assert!(rec.detail.contains("too large"), "{rec:?}");

    // A reason (field 3) that is not UTF-8: not a valid ActRequest.
    let channel = perch_e2e::channel(&perchd.socket).await.expect("channel");
    let err = raw_act(channel, vec![0x1a, 0x02, 0xff, 0xfe]).await;
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert!(
        err.message().contains("not a valid perch.v1.ActRequest"),
        "{err:?}"
    );
    let log = records(&perchd);
    assert_eq!(log.len(), before + 2, "one record");
    let rec = log.last().expect("record");
    assert_eq!(rec.code, "invalid_argument");
    assert!(rec.detail.contains("malformed request"), "{rec:?}");
    assert!(perch_e2e::alive(target.pid()));
}

/// A codec that sends bytes as they are and ignores the answer's body.
mod raw {
    use tonic::{
        Status,
        codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
    };

    pub struct Raw;

    impl Codec for Raw {
        type Encode = Vec<u8>;
        type Decode = ();
        type Encoder = Raw;
        type Decoder = Raw;

        fn encoder(&mut self) -> Raw {
            Raw
        }

        fn decoder(&mut self) -> Raw {
            Raw
        }
    }

    impl Encoder for Raw {
        type Item = Vec<u8>;
        type Error = Status;

        fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
            bytes::BufMut::put_slice(dst, &item);
            Ok(())
        }
    }

    impl Decoder for Raw {
        type Item = ();
        type Error = Status;

        fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<()>, Status> {
            let n = bytes::Buf::remaining(src);
            bytes::Buf::advance(src, n);
            Ok(Some(()))
        }
    }
}
