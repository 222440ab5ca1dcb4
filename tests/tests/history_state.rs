//! `GetStateAt` against the real perchd with its history store: a state
//! read in small messages is the same state as in the default ones (every
//! process once, the head in the first message only, `last` on the final
//! one only), since perchd sends the messages while it reads the store.
#![expect(
    clippy::expect_used,
    reason = "end-to-end test: a broken environment should fail the test loudly"
)]
use std::collections::BTreeSet;

use perch_e2e::Perchd;
use perch_proto::v1 as pb;
use tokio_stream::StreamExt as _;

/// The messages of one `GetStateAt`, read to the end.
async fn state(perchd: &Perchd, at_unix_ns: u64, chunk_size: u32) -> Vec<pb::GetStateAtResponse> {
    let channel = perch_e2e::channel(&perchd.socket).await.expect("channel");
    let mut client = perch_client::history_client(channel);
    let mut stream = client
        .get_state_at(pb::GetStateAtRequest {
            at_unix_ns,
            chunk_size,
        })
        .await
        .expect("GetStateAt")
        .into_inner();
    let mut out = Vec::new();
    while let Some(m) = stream.next().await {
        out.push(m.expect("a message of the state"));
    }
    out
}

/// A perchd with its history store (in its own directory, kept across a
/// respawn), and the newest stored instant once the store holds one after
/// start-up (its /proc seed).
async fn recording() -> (Perchd, u64) {
    let perchd = Perchd::start(&[]).await;
    let newest = perch_e2e::events::stored_until(&perchd, perch_e2e::procs::unix_now_ns()).await;
    (perchd, newest)
}

fn keys(msgs: &[pb::GetStateAtResponse]) -> Vec<(u32, u64)> {
    msgs.iter()
        .flat_map(|m| &m.processes)
        .map(|p| p.key.map_or((0, 0), |k| (k.pid, k.start_time_ns)))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_state_in_small_messages_is_the_whole_state() {
    if !perch_e2e::have_root_or_skip("a_state_in_small_messages_is_the_whole_state") {
        return;
    }
    let (perchd, newest) = recording().await;

    let whole = state(&perchd, newest, 0).await;
    let small = state(&perchd, newest, 7).await;
    let n = keys(&whole).len();
    assert!(n > 20, "a machine runs more than {n} processes");
    assert_eq!(small.len(), n.div_ceil(7), "7 processes per message");
    assert!(small.iter().all(|m| m.processes.len() <= 7));
    let lasts: Vec<_> = small.iter().map(|m| m.last).collect();
    let mut want = vec![false; small.len()];
    if let Some(l) = want.last_mut() {
        *l = true;
    }
    assert_eq!(lasts, want, "last on the final message only");
    let (first, rest) = small.split_first().expect("a message");
    assert!(!first.host_name.is_empty() && first.at_unix_ns > 0);
    assert!(
        rest.iter()
            .all(|m| m.host_name.is_empty() && m.at_unix_ns == 0 && m.host.is_none()),
        "the head in the first message only"
    );
    // The same processes, each once.
    let (a, b) = (keys(&whole), keys(&small));
    assert_eq!(
        b.len(),
        b.iter().collect::<BTreeSet<_>>().len(),
        "each once"
    );
    assert_eq!(
        a.into_iter().collect::<BTreeSet<_>>(),
        b.into_iter().collect::<BTreeSet<_>>()
    );
}

/// The console's history source keeps its connection from one seek to the
/// next; when perchd restarts between two seeks, the second still answers
/// (on a new connection) rather than failing once.
#[tokio::test(flavor = "multi_thread")]
async fn a_seek_after_perchd_restarts_still_answers() {
    use perch::travel::TimeSource as _;
    if !perch_e2e::have_root_or_skip("a_seek_after_perchd_restarts_still_answers") {
        return;
    }
    let (mut perchd, newest) = recording().await;
    let source = perch::live::GrpcHistory::new(
        perch_client::Target::Unix(perchd.socket.clone()),
        std::time::Duration::from_secs(30),
    );
    let before = source.state_at(newest).await.expect("the first seek");
    assert!(before.processes.len() > 20, "{}", before.processes.len());
    assert!(perchd.stop().success(), "perchd stops cleanly");
    perchd.respawn().await;
    let after = source
        .state_at(newest)
        .await
        .expect("a seek after the restart");
    assert_eq!(after.at_unix_ns, before.at_unix_ns);
    assert_eq!(after.processes.len(), before.processes.len());
}
