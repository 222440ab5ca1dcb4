//! A deviation as a `GuardianDeviation` document: the partial policy that
//! would cover it (new process nodes anchored under an existing node, a
//! listening socket for an existing node, or one network rule), and the
//! checksum that identifies it, so the same deviation seen again is the
//! same one.
use serde::Serialize;

use crate::{
    model::ProcessInfo,
    policy::workload::{WorkloadPolicy, net::Proto},
    respond::policies::sha256_hex,
};

use super::cover::{euser_of, exe_of};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Doc<'a> {
    api_version: &'static str,
    kind: &'static str,
    metadata: Meta<'a>,
    spec: Spec,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
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

/// A deviation's identity and document.
pub struct Made {
    pub checksum: String,
    pub document: String,
}

fn finish(policy: &WorkloadPolicy, kind: &'static str, key: &str, spec: Spec) -> Made {
    let checksum = sha256_hex(&format!("{}\n{kind}\n{key}", policy.name))[..16].to_owned();
    let doc = Doc {
        api_version: "spyderbat/v1",
        kind: "GuardianDeviation",
        metadata: Meta {
            kind,
            policy: &policy.name,
            checksum: &checksum,
        },
        spec,
    };
    let document = serde_saphyr::to_string(&doc).unwrap_or_default();
    Made { checksum, document }
}

/// A fresh id for a new node named `name`: `<name>_<n>`, n past every id
/// of that name in the policy.
fn new_id(policy: &WorkloadPolicy, name: &str, taken: &mut Vec<String>) -> String {
    let mut n = 0;
    loop {
        let id = format!("{name}_{n}");
        if policy.node(&id).is_none() && !taken.contains(&id) {
            taken.push(id.clone());
            return id;
        }
        n += 1;
    }
}

/// Processes `links` (the first uncovered one first) as a chain of new
/// nodes under `anchor` (`None`: a new root).  The identity is the first
/// uncovered process only: its descendants are the same deviation.
#[must_use]
pub fn process(policy: &WorkloadPolicy, anchor: Option<&str>, links: &[&ProcessInfo]) -> Made {
    let mut taken = Vec::new();
    let mut node: Option<serde_json::Value> = None;
    for p in links.iter().rev() {
        let mut n = serde_json::json!({
            "name": p.comm,
            "exe": [exe_of(p)],
            "id": new_id(policy, &p.comm, &mut taken),
            "euser": [euser_of(p)],
        });
        if let Some(child) = node.take() {
            n["children"] = serde_json::json!([child]);
        }
        node = Some(n);
    }
    let first = links.first().map_or_else(String::new, |p| {
        format!("{}\n{}\n{}", p.comm, exe_of(p), euser_of(p))
    });
    let key = format!("{}\n{first}", anchor.unwrap_or(""));
    let entry = match (anchor, node) {
        (Some(id), Some(n)) => serde_json::json!({"policyNode": {"id": id, "children": [n]}}),
        (Some(id), None) => serde_json::json!({"policyNode": {"id": id}}),
        (None, Some(n)) => n,
        (None, None) => serde_json::Value::Null,
    };
    let spec = Spec {
        process_policy: vec![entry],
        network_policy: None,
    };
    finish(policy, "process", &key, spec)
}

/// A listening socket `proto`/`port` of node `id`.
#[must_use]
pub fn listening(policy: &WorkloadPolicy, id: &str, proto: Proto, port: u16) -> Made {
    let spec = Spec {
        process_policy: vec![serde_json::json!({"policyNode": {
            "id": id,
            "listeningSockets": [{"protocol": proto.as_str(), "port": port}],
        }})],
        network_policy: None,
    };
    finish(
        policy,
        "listening",
        &format!("{id}\n{proto:?}\n{port}"),
        spec,
    )
}

/// One network rule: `ingress` from or `egress` to `peer`, for node `id`.
#[must_use]
pub fn network(
    policy: &WorkloadPolicy,
    ingress: bool,
    id: Option<&str>,
    peer: std::net::IpAddr,
    proto: Proto,
    port: u16,
) -> Made {
    let bits = if peer.is_ipv4() { 32 } else { 128 };
    let side = if ingress { "from" } else { "to" };
    let mut rule = serde_json::json!({
        "ports": [{"protocol": proto.as_str(), "port": port}],
    });
    rule[side] = serde_json::json!([{"ipBlock": {"cidr": format!("{peer}/{bits}")}}]);
    if let Some(id) = id {
        rule["processes"] = serde_json::json!([id]);
    }
    let dir = if ingress { "ingress" } else { "egress" };
    let spec = Spec {
        process_policy: Vec::new(),
        network_policy: Some({
            let mut m = serde_json::Map::new();
            m.insert(dir.to_owned(), serde_json::json!([rule]));
            serde_json::Value::Object(m)
        }),
    };
    let key = format!("{}\n{peer}\n{proto:?}\n{port}", id.unwrap_or(""));
    finish(policy, dir, &key, spec)
}
