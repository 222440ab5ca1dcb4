//! `perch policy test`: a policy judged against what perchd's history
//! holds, with the same coverage and deviation code perchd runs live
//! (`perchd::policy::workload`), touching nothing: every deviation, how
//! often it was seen, and the responses the policy would have taken.
use std::{
    collections::BTreeMap,
    net::{IpAddr, SocketAddr},
};

use perch_proto::v1::{Connection, NetProtocol, Process, ProcessKey};
use perchd::policy::workload::{
    WorkloadPolicy,
    action::responses_for,
    cover::{self, Facts, Proc as _},
    deviation::{self, Finding},
    net::Proto,
};

use super::recorded::{Recorded, Step};

/// One deviation and its sightings.
pub struct Seen {
    pub finding: Finding,
    pub count: u64,
    /// The processes it was seen on.
    pub processes: Vec<ProcessKey>,
    /// What the policy would have done, as its document names them.
    pub responses: Vec<String>,
}

fn chain<'a>(
    policy: &WorkloadPolicy,
    rec: &'a Recorded,
    p: &'a Process,
) -> Option<Vec<&'a Process>> {
    cover::chain(policy, p, || rec.ancestors(p), &rec.host)
}

fn proto(p: i32) -> Proto {
    if p == i32::from(NetProtocol::Udp) {
        Proto::Udp
    } else {
        Proto::Tcp
    }
}

/// The connection's remote end and the port a rule is about.
fn ends(c: &Connection, ingress: bool) -> Option<(SocketAddr, u16, Proto)> {
    let ip: IpAddr = c.remote_ip.parse().ok()?;
    let remote = SocketAddr::new(ip, u16::try_from(c.remote_port).ok()?);
    let port = u16::try_from(if ingress { c.local_port } else { c.remote_port }).ok()?;
    Some((remote, port, proto(c.proto)))
}

/// Every deviation in `rec`, in order of first sighting.
#[must_use]
pub fn judge(policy: &WorkloadPolicy, rec: &Recorded) -> Vec<Seen> {
    let mut seen: Vec<Seen> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for step in &rec.steps {
        let found: Option<(Finding, &Process)> = match step {
            Step::Exec(p) if !policy.disable.processes => chain(policy, rec, p)
                .and_then(|c| deviation::process(policy, &c))
                .map(|f| (f, &**p)),
            Step::Listen(l) => l.process.and_then(|k| rec.get(&k)).and_then(|p| {
                let c = chain(policy, rec, p);
                let at = cover::found(policy, c.as_deref());
                let port = u16::try_from(l.local_port).ok()?;
                deviation::listening(policy, p, &at, proto(l.proto), port).map(|f| (f, p))
            }),
            Step::Connect(c) | Step::Accept(c) => {
                let ingress = matches!(step, Step::Accept(_));
                c.process.and_then(|k| rec.get(&k)).and_then(|p| {
                    let ch = chain(policy, rec, p);
                    let at = cover::found(policy, ch.as_deref());
                    deviation::connection(policy, p, &at, ingress, ends(c, ingress)?)
                        .map(|f| (f, p))
                })
            }
            Step::Exec(_) => None,
        };
        let Some((f, p)) = found else { continue };
        let i = *index.entry(f.checksum.clone()).or_insert_with(|| {
            let responses = responses_for(policy, &Facts { p, host: &rec.host })
                .iter()
                .map(|r| r.action.doc_name().to_owned())
                .collect();
            seen.push(Seen {
                finding: f.clone(),
                count: 0,
                processes: Vec::new(),
                responses,
            });
            seen.len() - 1
        });
        let s = &mut seen[i];
        s.count += 1;
        if s.processes.len() < 16 {
            s.processes.push(p.key());
        }
    }
    seen
}
