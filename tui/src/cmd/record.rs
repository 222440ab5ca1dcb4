//! `perch record --from T1 --to T2 -o FILE`: a window of a collector's
//! history (its History service, asked one state per step) written as a
//! recording in Spyderbat's NDJSON record schemas, which `perch replay`
//! and Spydertop both open.
use std::{io::Write, time::Duration};

use anyhow::Context as _;
use perch::{
    live::GrpcHistory,
    replay::{
        export::Machine,
        record::{self, RecordError},
    },
};
use perch_client::Target;
use perch_proto::{NS_PER_SEC, v1::GetInfoRequest};

use super::{
    answered,
    history::{instant, source_error, usable},
};
use crate::cli::replay::RecordArgs;

pub async fn run(
    target: &Target,
    timeout: Duration,
    args: &RecordArgs,
    err: &mut impl Write,
) -> anyhow::Result<()> {
    let from = instant(&args.from).context("--from")?;
    let to = match &args.to {
        Some(t) => instant(t).context("--to")?,
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
    };
    let source = GrpcHistory::new(target.clone(), timeout);
    usable(&source).await?;
    let mut client = perch_client::connect_within(target, timeout).await?;
    let info = answered(
        "asking the collector",
        timeout,
        client.get_info(GetInfoRequest {}),
    )
    .await?
    .into_inner();
    let states = record::states(&source, from, to, args.step.saturating_mul(NS_PER_SEC))
        .await
        .map_err(|e| match e {
            RecordError::Source(s) => source_error(&args.from, s),
            e => anyhow::Error::new(e),
        })?;
    let machine = Machine {
        host_name: info.host,
        boot_time_unix_ns: info.boot_time_unix_ns,
        memory_bytes: info.memory_total_bytes,
    };
    let records = record::write_file(&args.output, &machine, &states)?;
    writeln!(
        err,
        "perch record: {} states, {records} records written to {}",
        states.len(),
        args.output.display()
    )?;
    Ok(())
}
