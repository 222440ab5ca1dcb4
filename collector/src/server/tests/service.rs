//! The RPCs: `GetInfo`, `ListProcesses` chunking, `WatchEvents`, validation
//! errors, health and reflection.
use std::time::Duration;

use futures::StreamExt as _;
use perch_proto::v1::{
    EventKind, GetInfoRequest, ListProcessesRequest, ListProcessesResponse, WatchEventsRequest,
    collector_client::CollectorClient,
};
use tonic::{Code, transport::Channel};

use super::{Running, execs, process, unix_channel};

async fn list(
    client: &mut CollectorClient<Channel>,
    req: ListProcessesRequest,
) -> Vec<ListProcessesResponse> {
    let mut stream = client.list_processes(req).await.unwrap().into_inner();
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.push(chunk.unwrap());
    }
    out
}

fn pids(chunk: &ListProcessesResponse) -> Vec<u32> {
    chunk
        .processes
        .iter()
        .map(|p| p.key.map_or(0, |k| k.pid))
        .collect()
}

#[tokio::test]
async fn get_info_answers() {
    let server = Running::start(Vec::new()).await;
    server.api.hub.publish(execs(4));
    let info = server
        .client()
        .await
        .get_info(GetInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (info.version.as_str(), info.host.as_str()),
        ("test", "testhost")
    );
    assert_eq!((info.head_seq, info.oldest_seq), (4, 1));
    server.stop().await.unwrap();
}

#[tokio::test]
async fn list_processes_streams_chunks_with_the_snapshot_seq() {
    let mut procs: Vec<_> = (10..15).map(|pid| process(pid, false)).collect();
    procs.push(process(20, true));
    let server = Running::start(procs).await;
    server.api.hub.publish(execs(3));
    let mut client = server.client().await;

    let chunks = list(
        &mut client,
        ListProcessesRequest {
            chunk_size: 2,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        chunks.iter().map(pids).collect::<Vec<_>>(),
        [vec![10, 11], vec![12, 13], vec![14]]
    );
    assert_eq!(
        chunks.iter().map(|c| c.last).collect::<Vec<_>>(),
        [false, false, true]
    );
    assert!(chunks.iter().all(|c| c.snapshot_seq == 3));

    // Default chunk size: everything in one message; exited ones on request.
    let req = ListProcessesRequest {
        include_exited: true,
        ..Default::default()
    };
    let chunks = list(&mut client, req).await;
    assert_eq!(chunks.len(), 1);
    assert_eq!(pids(&chunks[0]), [10, 11, 12, 13, 14, 20]);
    assert!(chunks[0].last);

    let req = ListProcessesRequest {
        pids: vec![12, 99, 12],
        ..Default::default()
    };
    assert_eq!(pids(&list(&mut client, req).await[0]), [12]);

    // An empty snapshot is still one message, marked last.
    let req = ListProcessesRequest {
        pids: vec![99],
        ..Default::default()
    };
    let chunks = list(&mut client, req).await;
    assert_eq!(chunks.len(), 1);
    assert!(chunks[0].processes.is_empty() && chunks[0].last && chunks[0].snapshot_seq == 3);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn large_processes_are_chunked_by_bytes_too() {
    let big = |pid| {
        let mut p = process(pid, false);
        p.argv = vec!["x".repeat(500_000)];
        p
    };
    let server = Running::start((1..=10).map(big).collect()).await;
    let mut client = server.client().await;
    // Ten of these in one message would exceed the client's 4 MiB limit.
    let chunks = list(&mut client, ListProcessesRequest::default()).await;
    assert!(chunks.len() >= 3, "{} chunks", chunks.len());
    assert_eq!(chunks.iter().map(|c| c.processes.len()).sum::<usize>(), 10);
    assert!(chunks.iter().rev().skip(1).all(|c| !c.last) && chunks.last().unwrap().last);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn bad_arguments_are_invalid_argument_naming_the_field() {
    let server = Running::start(vec![process(1, false)]).await;
    server.api.hub.publish(execs(12));
    let mut client = server.client().await;
    let list_err = |req| {
        let mut client = client.clone();
        async move { client.list_processes(req).await.unwrap_err() }
    };
    let watch_err = |req| {
        let mut client = client.clone();
        async move { client.watch_events(req).await.unwrap_err() }
    };
    let cases = [
        (
            list_err(ListProcessesRequest {
                pids: vec![4, 5, 0],
                ..Default::default()
            })
            .await,
            "pids[2]: must be > 0 (got 0)",
        ),
        (
            list_err(ListProcessesRequest {
                chunk_size: 20_000,
                ..Default::default()
            })
            .await,
            "chunk_size: must be 0..=10000 (got 20000)",
        ),
        (
            watch_err(WatchEventsRequest {
                kinds: vec![1, 42],
                ..Default::default()
            })
            .await,
            "kinds[1]: unknown event kind 42 (allowed 1..=8, 19..=23, 30, 60..=62)",
        ),
        (
            watch_err(WatchEventsRequest {
                kinds: vec![0],
                ..Default::default()
            })
            .await,
            "kinds[0]: EVENT_KIND_UNSPECIFIED (0) is not a kind to watch (allowed 1..=8, 19..=23, 30, 60..=62)",
        ),
        (
            watch_err(WatchEventsRequest {
                resume_after_seq: Some(900),
                ..Default::default()
            })
            .await,
            "resume_after_seq: 900 is ahead of the newest sequence 12",
        ),
    ];
    for (status, message) in cases {
        assert_eq!(
            (status.code(), status.message()),
            (Code::InvalidArgument, message)
        );
    }
    // The connection is still fine afterwards.
    client.get_info(GetInfoRequest {}).await.unwrap();
    server.stop().await.unwrap();
}

#[tokio::test]
async fn watch_events_resumes_and_ends_at_shutdown() {
    let server = Running::start(Vec::new()).await;
    server.api.hub.publish(execs(3));
    let mut client = server.client().await;
    let req = WatchEventsRequest {
        resume_after_seq: Some(1),
        kinds: vec![EventKind::Exec.into()],
        threads: false,
    };
    let mut stream = client.watch_events(req).await.unwrap().into_inner();
    let mut seqs = Vec::new();
    while seqs.len() < 2 {
        let msg = stream.next().await.unwrap().unwrap();
        seqs.extend(msg.events.iter().map(|e| e.seq));
    }
    server.api.hub.publish(execs(1));
    let msg = stream.next().await.unwrap().unwrap();
    seqs.extend(msg.events.iter().map(|e| e.seq));
    assert_eq!(seqs, [2, 3, 4]);

    // Shutdown must not wait for the open stream: the stream ends instead.
    let socket = server.socket.clone();
    server.stop().await.unwrap();
    let end = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .unwrap();
    assert!(
        !matches!(end, Some(Ok(_))),
        "expected the stream to end, got {end:?}"
    );
    assert!(!socket.exists(), "the socket file is removed at shutdown");
}

#[tokio::test]
async fn health_reports_serving() {
    use tonic_health::pb::{
        HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
    };
    let server = Running::start(Vec::new()).await;
    let mut health = HealthClient::new(unix_channel(&server.socket).await.unwrap());
    for service in ["perch.v1.Collector", ""] {
        let req = HealthCheckRequest {
            service: service.to_owned(),
        };
        let status = health.check(req).await.unwrap().into_inner().status;
        assert_eq!(status, i32::from(ServingStatus::Serving), "{service:?}");
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn reflection_lists_the_service() {
    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let server = Running::start(Vec::new()).await;
    let mut client = ServerReflectionClient::new(unix_channel(&server.socket).await.unwrap());
    let req = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut replies = client
        .server_reflection_info(futures::stream::iter([req]))
        .await
        .unwrap()
        .into_inner();
    let reply = replies.next().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = reply.message_response else {
        panic!("unexpected reflection reply {reply:?}");
    };
    let names: Vec<_> = list.service.iter().map(|s| s.name.as_str()).collect();
    assert!(names.contains(&"perch.v1.Collector"), "{names:?}");
    assert!(names.contains(&"grpc.health.v1.Health"), "{names:?}");
    server.stop().await.unwrap();
}
