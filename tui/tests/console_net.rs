//! Snapshots of the Connections and Listening screens (issue 11) on a
//! fixed model built here: `nc -l 127.0.0.1 9000` with a python client
//! connected to it (each end naming the other as PEER), sshd listening
//! on port 22 over both families with one inbound session, a UDP DNS
//! query, and a connection closed a moment ago (dimmed).  Then a filter,
//! and Enter showing the owning process; the process table's NETRX/s and
//! NETTX/s columns, and the detail view's connections and listening
//! sockets.
//!
//! Deterministic: fixed pids and boot-clock times, the console's clock
//! injected.
mod common;

use std::time::Instant;

use common::{screen, text, typed};
use perch::console::{
    App, Config, ConnectionState, HostId, Msg, Screen,
    columns::{Column, Columns},
};
use perch_proto::v1::{
    self, AddressFamily as Fam, Connection, ConnectionDirection as Dir, Event, GetInfoResponse,
    ListeningSocket, NetProtocol as Ptcl, event::Kind,
};

const H: HostId = HostId(0);
const S: u64 = 1_000_000_000;
/// Boot-clock seconds when the screens are drawn.
const NOW_S: u64 = 5_000;

fn snap(name: &str, app: &App) {
    for size in common::SIZES {
        let screen = text(&screen(app, size));
        insta::assert_snapshot!(format!("{name}_{}x{}", size.0, size.1), screen);
    }
}

fn key(pid: u32, start_s: u64) -> v1::ProcessKey {
    v1::ProcessKey {
        pid,
        start_time_ns: start_s * S,
    }
}

fn proc(pid: u32, start_s: u64, argv: &[&str]) -> v1::Process {
    v1::Process {
        key: Some(key(pid, start_s)),
        ppid: 1,
        parent_start_time_ns: S,
        user: "alice".to_owned(),
        comm: argv[0].rsplit('/').next().unwrap_or("").to_owned(),
        exe: argv[0].to_owned(),
        argv: argv.iter().map(ToString::to_string).collect(),
        state: "S".to_owned(),
        threads: 1,
        ..v1::Process::default()
    }
}

#[derive(Clone, Copy)]
struct C {
    id: u64,
    proto: Ptcl,
    fam: Fam,
    local: (&'static str, u32),
    remote: (&'static str, u32),
    dir: Dir,
    owner: (u32, u64, &'static str),
    peer: Option<(u32, u64, &'static str)>,
    start_s: u64,
    end_s: u64,
    bytes: Option<(u64, u64)>,
}

fn conn(c: C) -> Connection {
    Connection {
        id: c.id,
        proto: c.proto as i32,
        family: c.fam as i32,
        local_ip: c.local.0.to_owned(),
        local_port: c.local.1,
        remote_ip: c.remote.0.to_owned(),
        remote_port: c.remote.1,
        direction: c.dir as i32,
        process: Some(key(c.owner.0, c.owner.1)),
        proc_name: c.owner.2.to_owned(),
        peer_process: c.peer.map(|p| key(p.0, p.1)),
        peer_proc_name: c.peer.map_or("", |p| p.2).to_owned(),
        create_time_ns: c.start_s * S,
        end_time_ns: c.end_s * S,
        status: if c.end_s == 0 {
            "ESTABLISHED"
        } else {
            "CLOSED"
        }
        .to_owned(),
        bytes_tx: c.bytes.map_or(0, |b| b.0),
        bytes_rx: c.bytes.map_or(0, |b| b.1),
        counters_known: c.bytes.is_some(),
        ..Connection::default()
    }
}

fn listen(
    id: u64,
    proto: Ptcl,
    fam: Fam,
    local: (&str, u32),
    owner: (u32, u64, &str),
    start_s: u64,
) -> ListeningSocket {
    ListeningSocket {
        id,
        proto: proto as i32,
        family: fam as i32,
        local_ip: local.0.to_owned(),
        local_port: local.1,
        process: Some(key(owner.0, owner.1)),
        proc_name: owner.2.to_owned(),
        create_time_ns: start_s * S,
        ..ListeningSocket::default()
    }
}

const NC: (u32, u64, &str) = (700, 4_900, "nc");
const PY: (u32, u64, &str) = (701, 4_950, "python3");
const SSHD: (u32, u64, &str) = (600, 10, "sshd");
const SESSION: (u32, u64, &str) = (650, 3_000, "sshd");
const DNS: (u32, u64, &str) = (800, 4_990, "resolvectl");

fn model() -> (Vec<Connection>, Vec<ListeningSocket>) {
    let base = C {
        id: 0,
        proto: Ptcl::Tcp,
        fam: Fam::Ipv4,
        local: ("127.0.0.1", 0),
        remote: ("127.0.0.1", 0),
        dir: Dir::Outbound,
        owner: PY,
        peer: None,
        start_s: 4_951,
        end_s: 0,
        bytes: Some((0, 0)),
    };
    let conns = vec![
        conn(C {
            id: 1,
            local: ("127.0.0.1", 45_678),
            remote: ("127.0.0.1", 9000),
            peer: Some(NC),
            bytes: Some((12_000, 5)),
            ..base
        }),
        conn(C {
            id: 2,
            local: ("127.0.0.1", 9000),
            remote: ("127.0.0.1", 45_678),
            dir: Dir::Inbound,
            owner: NC,
            peer: Some(PY),
            bytes: Some((5, 12_000)),
            ..base
        }),
        conn(C {
            id: 3,
            local: ("10.0.0.5", 22),
            remote: ("203.0.113.7", 51_234),
            dir: Dir::Inbound,
            owner: SESSION,
            start_s: 3_000,
            bytes: Some((3 << 20, 40 << 10)),
            ..base
        }),
        conn(C {
            id: 4,
            proto: Ptcl::Udp,
            fam: Fam::Ipv6,
            local: ("::1", 41_000),
            remote: ("::1", 53),
            owner: DNS,
            start_s: 4_990,
            bytes: None,
            ..base
        }),
        conn(C {
            id: 5,
            local: ("10.0.0.5", 40_100),
            remote: ("93.184.215.14", 443),
            owner: PY,
            start_s: 4_960,
            end_s: 4_990,
            bytes: Some((800, 120_000)),
            ..base
        }),
    ];
    let listening = vec![
        listen(10, Ptcl::Tcp, Fam::Ipv4, ("0.0.0.0", 22), SSHD, 10),
        listen(11, Ptcl::Tcp, Fam::Ipv6, ("::", 22), SSHD, 10),
        listen(12, Ptcl::Tcp, Fam::Ipv4, ("127.0.0.1", 9000), NC, 4_900),
        listen(13, Ptcl::Udp, Fam::Ipv4, ("127.0.0.53", 53), DNS, 20),
    ];
    (conns, listening)
}

fn console() -> App {
    console_with(Config::default(), false)
}

/// The fixture console; `rates`: nc and python3 carry network rates.
fn console_with(config: Config, rates: bool) -> App {
    let t0 = Instant::now();
    let mut app = App::new(config, t0);
    app.ingest_info(
        H,
        GetInfoResponse {
            host: "web-1".to_owned(),
            boot_time_unix_ns: 1_795_400_000_000_000_000,
            ..GetInfoResponse::default()
        },
    );
    app.set_connection(H, ConnectionState::Connected);
    let procs = [
        (NC, &["nc", "-l", "127.0.0.1", "9000"][..]),
        (PY, &["python3", "client.py"][..]),
        (SSHD, &["/usr/sbin/sshd", "-D"][..]),
        (SESSION, &["sshd: alice"][..]),
        (DNS, &["resolvectl", "query", "example.org"][..]),
    ];
    app.ingest_snapshot(
        H,
        procs
            .iter()
            .map(|((pid, start, _), argv)| {
                let mut p = proc(*pid, *start, argv);
                let rate = match *pid {
                    700 => (12_000.0, 5.0),
                    701 => (5.0, 12_000.0),
                    _ => (0.0, 0.0),
                };
                if rates {
                    p.usage = Some(v1::ResourceUsage {
                        net_rx_bytes_per_sec: rate.0,
                        net_tx_bytes_per_sec: rate.1,
                        ..v1::ResourceUsage::default()
                    });
                }
                p
            })
            .collect(),
    );
    // The host's clock: an event at NOW_S.
    app.ingest_events(
        H,
        &[Event {
            seq: 1,
            time_ns: NOW_S * S,
            kind: Some(Kind::HostSample(v1::HostSample::default())),
        }],
    );
    let (conns, listening) = model();
    app.ingest_connections(H, conns, listening, 1);
    app.resize(80, 24);
    app
}

#[test]
fn connections_screen() {
    let mut app = console();
    app.update(Msg::Show(Screen::Connections));
    snap("net_connections", &app);
}

#[test]
fn listening_screen() {
    let mut app = console();
    app.update(Msg::Show(Screen::Listening));
    snap("net_listening", &app);
}

#[test]
fn connections_filtered_by_port_and_direction() {
    let mut app = console();
    app.update(Msg::Show(Screen::Connections));
    app.update(Msg::Filter);
    for m in typed("port:9000 dir:out") {
        app.update(m);
    }
    app.update(Msg::Confirm);
    snap("net_connections_filtered", &app);
}

#[test]
fn enter_shows_the_owning_process() {
    let mut app = console();
    app.update(Msg::Show(Screen::Connections));
    app.update(Msg::Filter);
    for m in typed("dir:in port:9000") {
        app.update(m);
    }
    app.update(Msg::Confirm);
    app.update(Msg::Confirm);
    let shown = text(&screen(&app, (80, 24)));
    let selected: Vec<&str> = shown.lines().filter(|l| l.starts_with('>')).collect();
    assert_eq!(selected.len(), 1, "{shown}");
    assert!(
        selected[0].contains(" 700 "),
        "nc's row is selected: {shown}"
    );
}

#[test]
fn process_table_net_columns() {
    let config = Config {
        columns: Columns::new([Column::Pid, Column::User, Column::NetRx, Column::NetTx]),
        ..Config::default()
    };
    let mut app = console_with(config, true);
    app.update(Msg::SortOn(Column::NetRx));
    snap("net_process_columns", &app);
}

#[test]
fn net_columns_are_not_in_the_default_set() {
    let cols = Config::default().columns;
    assert!(!cols.contains(Column::NetRx) && !cols.contains(Column::NetTx));
    assert_eq!(Column::from_name("net_rx"), Some(Column::NetRx));
    assert_eq!(Column::from_name("NETTX/s"), Some(Column::NetTx));
}

#[test]
fn detail_view_lists_connections_and_listening() {
    let mut app = console();
    let nc = common::key_of(&app, "nc -l");
    app.update(Msg::Select(nc));
    app.update(Msg::Confirm);
    snap("net_detail_nc", &app);
    let shown = text(&screen(&app, (80, 24)));
    assert!(
        shown.contains("Network (1 connection, 1 listening)"),
        "{shown}"
    );
    // python3 has an open and a closed connection, no listener.
    let py = common::key_of(&app, "python3");
    app.update(Msg::Cancel);
    app.update(Msg::Select(py));
    app.update(Msg::Confirm);
    let shown = text(&screen(&app, (160, 48)));
    assert!(
        shown.contains("Network (2 connections, 0 listening)"),
        "{shown}"
    );
    assert!(shown.contains("(closed)"), "{shown}");
}
