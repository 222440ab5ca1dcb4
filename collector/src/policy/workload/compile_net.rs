//! Checking `spec.networkPolicy` and port ranges (`listeningSockets`,
//! rule ports): protocols, port ranges, peers (`ipBlock` with its
//! exceptions, `dnsSelector`) and the process ids rules name.
use std::collections::HashSet;

use super::{
    compile::{Ctx, line},
    net::{Cidr, NetRule, Peer, PortRange, Proto},
    raw::{self, S},
};
use crate::policy::PolicyError;

/// At most this many `except` blocks per `ipBlock`.
const MAX_EXCEPT: usize = 10;

pub(super) fn port(cx: &Ctx<'_>, p: &S<raw::Port>, path: &str) -> Result<PortRange, PolicyError> {
    let r = &p.value;
    let Some(proto) = Proto::parse(&r.protocol.value) else {
        return cx.fail(
            line(&r.protocol),
            &format!("{path}.protocol"),
            &format!("must be TCP or UDP (got {:?})", r.protocol.value),
        );
    };
    let num = |v: &S<i64>, field: &str, min: i64| -> Result<u16, PolicyError> {
        u16::try_from(v.value)
            .ok()
            .filter(|n| i64::from(*n) >= min)
            .map_or_else(
                || {
                    cx.fail(
                        line(v),
                        &format!("{path}.{field}"),
                        &format!("must be in {min}..65535 (got {})", v.value),
                    )
                },
                Ok,
            )
    };
    let start = num(&r.port, "port", 0)?;
    let end = match &r.end_port {
        Some(e) => num(e, "endPort", i64::from(start))?,
        None => start,
    };
    Ok(PortRange {
        proto,
        port: start,
        end,
    })
}

pub(super) fn rules(
    cx: &Ctx<'_>,
    list: &[S<raw::Rule>],
    dir: &str,
    ids: &HashSet<String>,
) -> Result<Vec<NetRule>, PolicyError> {
    let (want, other) = if dir == "ingress" {
        ("from", "to")
    } else {
        ("to", "from")
    };
    let mut out = Vec::new();
    for (i, r) in list.iter().enumerate() {
        let path = format!("spec.networkPolicy.{dir}[{i}]");
        let (peers, wrong) = if dir == "ingress" {
            (&r.value.from, &r.value.to)
        } else {
            (&r.value.to, &r.value.from)
        };
        if wrong.is_some() {
            return cx.fail(
                line(r),
                &format!("{path}.{other}"),
                &format!("an {dir} rule names its peers in {want}"),
            );
        }
        let Some(peers) = peers.as_ref().filter(|p| !p.is_empty()) else {
            return cx.fail(
                line(r),
                &format!("{path}.{want}"),
                "needs at least one ipBlock or dnsSelector",
            );
        };
        let mut compiled = Vec::new();
        for (j, p) in peers.iter().enumerate() {
            compiled.push(peer(cx, p, &format!("{path}.{want}[{j}]"))?);
        }
        for (j, id) in r.value.processes.iter().enumerate() {
            if !ids.contains(id) {
                return cx.fail(
                    line(r),
                    &format!("{path}.processes[{j}]"),
                    &format!("{id:?} is no process id of spec.processPolicy"),
                );
            }
        }
        if r.value.ports.is_empty() {
            return cx.fail(line(r), &format!("{path}.ports"), "needs at least one port");
        }
        let mut ports = Vec::new();
        for (j, p) in r.value.ports.iter().enumerate() {
            ports.push(port(cx, p, &format!("{path}.ports[{j}]"))?);
        }
        out.push(NetRule {
            peers: compiled,
            processes: r.value.processes.clone(),
            ports,
        });
    }
    Ok(out)
}

fn peer(cx: &Ctx<'_>, p: &S<raw::Peer>, path: &str) -> Result<Peer, PolicyError> {
    match (&p.value.ip_block, &p.value.dns_selector) {
        (Some(b), None) => {
            let cidr = Cidr::parse(&b.cidr.value)
                .or_else(|m| cx.fail(line(&b.cidr), &format!("{path}.ipBlock.cidr"), &m))?;
            if b.except.len() > MAX_EXCEPT {
                return cx.fail(
                    line(p),
                    &format!("{path}.ipBlock.except"),
                    &format!("at most {MAX_EXCEPT} blocks"),
                );
            }
            let mut except = Vec::new();
            for (i, e) in b.except.iter().enumerate() {
                let at = format!("{path}.ipBlock.except[{i}]");
                let c = Cidr::parse(&e.value).or_else(|m| cx.fail(line(e), &at, &m))?;
                if !cidr.contains_block(&c) {
                    return cx.fail(
                        line(e),
                        &at,
                        &format!("{:?} is not inside {:?}", e.value, b.cidr.value),
                    );
                }
                except.push(c);
            }
            Ok(Peer::Block { cidr, except })
        }
        (None, Some(names)) if !names.is_empty() => Ok(Peer::Dns(names.clone())),
        _ => cx.fail(
            line(p),
            path,
            "each peer is exactly one of ipBlock or a non-empty dnsSelector",
        ),
    }
}
