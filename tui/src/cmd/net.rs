//! `perch conns` and `perch listening`: one `ListConnections` snapshot,
//! printed as a table or as JSON lines.
use std::{
    io::{self, BufWriter, Write},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use anyhow::bail;
use perch::text::net as text;
use perch_client::{Target, json};
use perch_proto::v1::{Connection, GetInfoRequest, ListConnectionsRequest, ListeningSocket};

use super::answered;
use crate::cli::NetArgs;

/// What one snapshot holds, and the collector host's boot clock when it was
/// taken (for durations).
pub(super) struct NetSnapshot {
    pub connections: Vec<Connection>,
    pub listening: Vec<ListeningSocket>,
    pub now_ns: u64,
}

/// The whole snapshot, connections sorted by owner pid then local port;
/// each message must come within `timeout` of the one before.
pub(super) async fn fetch(
    target: &Target,
    timeout: Duration,
    args: &NetArgs,
) -> anyhow::Result<NetSnapshot> {
    let mut client = perch_client::connect_within(target, timeout).await?;
    let info = answered(
        "asking for info",
        timeout,
        client.get_info(GetInfoRequest {}),
    )
    .await?
    .into_inner();
    let req = ListConnectionsRequest {
        include_closed: args.all,
        pids: args.pid.clone(),
        chunk_size: 0,
    };
    let doing = "listing connections";
    let mut chunks = answered(doing, timeout, client.list_connections(req))
        .await?
        .into_inner();
    let mut snap = NetSnapshot {
        connections: Vec::new(),
        listening: Vec::new(),
        now_ns: boot_now_ns(info.boot_time_unix_ns),
    };
    loop {
        let Some(chunk) = answered(doing, timeout, chunks.message()).await? else {
            bail!("the collector ended the connection list early")
        };
        snap.connections.extend(chunk.connections);
        snap.listening.extend(chunk.listening);
        if chunk.last {
            break;
        }
    }
    snap.connections
        .sort_by_key(|c| (c.process.map_or(0, |k| k.pid), c.local_port, c.id));
    snap.listening
        .sort_by_key(|l| (l.local_port, l.process.map_or(0, |k| k.pid), l.id));
    Ok(snap)
}

/// The collector host's `CLOCK_BOOTTIME` now, from its boot's wall time.
fn boot_now_ns(boot_unix_ns: u64) -> u64 {
    let unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    unix.saturating_sub(boot_unix_ns)
}

pub async fn conns(target: &Target, timeout: Duration, args: &NetArgs) -> anyhow::Result<()> {
    let snap = fetch(target, timeout, args).await?;
    let mut out = BufWriter::new(io::stdout().lock());
    write_connections(&snap, args.json, &mut out)?;
    out.flush()?;
    Ok(())
}

pub async fn listening(target: &Target, timeout: Duration, args: &NetArgs) -> anyhow::Result<()> {
    let snap = fetch(target, timeout, args).await?;
    let mut out = BufWriter::new(io::stdout().lock());
    write_listening(&snap, args.json, &mut out)?;
    out.flush()?;
    Ok(())
}

pub(super) fn write_connections(
    snap: &NetSnapshot,
    as_json: bool,
    out: &mut impl Write,
) -> io::Result<()> {
    if as_json {
        for c in &snap.connections {
            serde_json::to_writer(&mut *out, &json::net::connection(c))?;
            out.write_all(b"\n")?;
        }
        Ok(())
    } else {
        out.write_all(text::connections_table(&snap.connections, snap.now_ns).as_bytes())
    }
}

pub(super) fn write_listening(
    snap: &NetSnapshot,
    as_json: bool,
    out: &mut impl Write,
) -> io::Result<()> {
    if as_json {
        for l in &snap.listening {
            serde_json::to_writer(&mut *out, &json::net::listening(l))?;
            out.write_all(b"\n")?;
        }
        Ok(())
    } else {
        out.write_all(text::listening_table(&snap.listening, snap.now_ns).as_bytes())
    }
}
