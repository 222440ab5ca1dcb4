//! Deviations from a workload policy, for any process record ([`Proc`]):
//! a process the tree does not cover, a listening socket outside its
//! node's ports, a connection no rule covers.  Each comes as a
//! `GuardianDeviation` document (the partial policy that would cover it:
//! new nodes anchored under an existing node, a listening socket for a
//! node, or one network rule) with the checksum that identifies it, so the
//! same deviation seen again is the same one.
use std::net::{IpAddr, SocketAddr};

use perch_proto::v1 as pb;
use serde::Serialize;

use super::{
    WorkloadPolicy,
    cover::{Found, Place, Proc, place},
    net::{Proto, is_private},
};
use crate::respond::policies::sha256_hex;

/// One deviation found.
#[derive(Clone, Debug)]
pub struct Finding {
    pub kind: pb::DeviationKind,
    /// Identifies the deviation within its policy.
    pub checksum: String,
    /// The `GuardianDeviation` YAML.
    pub document: String,
    pub summary: String,
    /// The process's ancestors inside the scope, nearest first.
    pub ancestors: Vec<pb::ProcessKey>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Doc<'a> {
    api_version: &'static str,
    kind: &'static str,
    metadata: Meta<'a>,
    spec: Spec,
}

#[derive(Serialize)]
struct Meta<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    policy: &'a str,
    checksum: &'a str,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct Spec {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    process_policy: Vec<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    network_policy: Option<serde_json::Value>,
}

fn finish(
    policy: &WorkloadPolicy,
    kind: pb::DeviationKind,
    key: &str,
    spec: Spec,
    summary: String,
    ancestors: Vec<pb::ProcessKey>,
) -> Finding {
    let word = match kind {
        pb::DeviationKind::Listening => "listening",
        pb::DeviationKind::Ingress => "ingress",
        pb::DeviationKind::Egress => "egress",
        _ => "process",
    };
    let checksum = sha256_hex(&format!("{}\n{word}\n{key}", policy.name))[..16].to_owned();
    let doc = Doc {
        api_version: "spyderbat/v1",
        kind: "GuardianDeviation",
        metadata: Meta {
            kind: word,
            policy: &policy.name,
            checksum: &checksum,
        },
        spec,
    };
    let document = serde_saphyr::to_string(&doc).unwrap_or_default();
    Finding {
        kind,
        checksum,
        document,
        summary,
        ancestors,
    }
}

/// A fresh id for a new node named `name`: `<name>_<n>`, n past every id
/// of that name in the policy.
#[must_use]
pub fn new_id(policy: &WorkloadPolicy, name: &str, taken: &mut Vec<String>) -> String {
    let id = super::fresh_id(name, |id| {
        policy.node(id).is_some() || taken.iter().any(|t| t == id)
    });
    taken.push(id.clone());
    id
}

/// The process deviation of the process whose chain is `chain` (from
/// [`super::cover::chain`]), if its tree does not cover it.  The identity
/// is the first uncovered process only: its descendants are the same
/// deviation.
#[must_use]
pub fn process<P: Proc>(policy: &WorkloadPolicy, chain: &[&P]) -> Option<Finding> {
    let Place::Uncovered { anchor, at } = place(policy, chain) else {
        return None;
    };
    let links = &chain[at..];
    let mut taken = Vec::new();
    let mut node: Option<serde_json::Value> = None;
    for p in links.iter().rev() {
        let mut n = serde_json::json!({
            "name": p.comm(),
            "exe": [p.exe()],
            "id": new_id(policy, p.comm(), &mut taken),
            "euser": [p.euser()],
        });
        if let Some(child) = node.take() {
            n["children"] = serde_json::json!([child]);
        }
        node = Some(n);
    }
    let first = links.first()?;
    let anchor_id = anchor.map(|n| n.id.as_str());
    let key = format!(
        "{}\n{}\n{}\n{}",
        anchor_id.unwrap_or(""),
        first.comm(),
        first.exe(),
        first.euser()
    );
    let entry = match (anchor_id, node) {
        (Some(id), Some(n)) => serde_json::json!({"policyNode": {"id": id, "children": [n]}}),
        (Some(id), None) => serde_json::json!({"policyNode": {"id": id}}),
        (None, Some(n)) => n,
        (None, None) => serde_json::Value::Null,
    };
    let under = anchor_id.map_or_else(|| "as a root".to_owned(), |id| format!("under {id}"));
    let summary = format!(
        "{} ({}, {}) {under} is not in policy {}'s process tree",
        first.comm(),
        first.exe(),
        first.euser(),
        policy.name
    );
    let ancestors = chain[..chain.len() - 1]
        .iter()
        .rev()
        .map(|q| q.key())
        .collect();
    let spec = Spec {
        process_policy: vec![entry],
        network_policy: None,
    };
    Some(finish(
        policy,
        pb::DeviationKind::Process,
        &key,
        spec,
        summary,
        ancestors,
    ))
}

/// A listening socket `proto`/`port` of `p` (at `found`), if its node does
/// not declare it.  An uncovered process is its own deviation already.
#[must_use]
pub fn listening<P: Proc>(
    policy: &WorkloadPolicy,
    p: &P,
    found: &Found<'_>,
    proto: Proto,
    port: u16,
) -> Option<Finding> {
    let Found::Node(node) = found else {
        return None;
    };
    if node.listening.iter().any(|r| r.covers(proto, port)) {
        return None;
    }
    let spec = Spec {
        process_policy: vec![serde_json::json!({"policyNode": {
            "id": node.id,
            "listeningSockets": [{"protocol": proto.as_str(), "port": port}],
        }})],
        network_policy: None,
    };
    let summary = format!(
        "{} ({}) listens on {} {port}, outside policy {}'s listeningSockets",
        p.comm(),
        node.id,
        proto.as_str(),
        policy.name
    );
    let key = format!("{}\n{proto:?}\n{port}", node.id);
    Some(finish(
        policy,
        pb::DeviationKind::Listening,
        &key,
        spec,
        summary,
        Vec::new(),
    ))
}

/// A connection of `p` (at `found`) with `remote`, on `port` (the local
/// port for ingress, the remote one for egress), if no rule covers it.
#[must_use]
pub fn connection<P: Proc>(
    policy: &WorkloadPolicy,
    p: &P,
    found: &Found<'_>,
    ingress: bool,
    (remote, port, proto): (SocketAddr, u16, Proto),
) -> Option<Finding> {
    let id = match found {
        Found::Outside => return None,
        Found::Node(n) => Some(n.id.as_str()),
        Found::Uncovered => None,
    };
    let ip: IpAddr = remote.ip().to_canonical();
    let d = &policy.disable;
    let i = usize::from(!ingress);
    let by_class = if is_private(ip) {
        d.private[i]
    } else {
        d.public[i]
    };
    if d.all[i] || by_class {
        return None;
    }
    let rules = if ingress {
        &policy.ingress
    } else {
        &policy.egress
    };
    if rules.iter().any(|r| r.covers(id, ip, None, proto, port)) {
        return None;
    }
    let bits = if ip.is_ipv4() { 32 } else { 128 };
    let side = if ingress { "from" } else { "to" };
    let mut rule = serde_json::json!({
        "ports": [{"protocol": proto.as_str(), "port": port}],
    });
    rule[side] = serde_json::json!([{"ipBlock": {"cidr": format!("{ip}/{bits}")}}]);
    if let Some(id) = id {
        rule["processes"] = serde_json::json!([id]);
    }
    let (dir, kind, what) = if ingress {
        (
            format!("from {ip} to port {port}"),
            pb::DeviationKind::Ingress,
            "ingress",
        )
    } else {
        (
            format!("to {ip} port {port}"),
            pb::DeviationKind::Egress,
            "egress",
        )
    };
    let mut m = serde_json::Map::new();
    m.insert(what.to_owned(), serde_json::json!([rule]));
    let spec = Spec {
        process_policy: Vec::new(),
        network_policy: Some(serde_json::Value::Object(m)),
    };
    let summary = format!(
        "{} ({}) {} {dir}: no {what} rule of policy {} covers it",
        p.comm(),
        id.unwrap_or("not in the tree"),
        proto.as_str(),
        policy.name
    );
    let key = format!("{}\n{ip}\n{proto:?}\n{port}", id.unwrap_or(""));
    Some(finish(policy, kind, &key, spec, summary, Vec::new()))
}
