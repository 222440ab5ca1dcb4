//! The workload policy document exactly as written: serde structures in
//! the `SpyderbatPolicy` shape (`container`, `linux-service`, `machine`),
//! unknown fields refused.  Values whose meaning is checked after parsing
//! (ports, priorities, cidrs, severities, modes) carry their line
//! (`Spanned`), so an error names the line the user wrote them on.  The
//! same structures serialise a learned or merged policy back out.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

/// A value that keeps the line it was read from.
pub type S<T> = Spanned<T>;

/// A value made by Perch (learned, merged): no line.
#[must_use]
pub fn unspanned<T>(value: T) -> S<T> {
    Spanned::new(
        value,
        serde_saphyr::Location::UNKNOWN,
        serde_saphyr::Location::UNKNOWN,
    )
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Doc {
    pub api_version: String,
    pub kind: String,
    pub metadata: Metadata,
    pub spec: Spec,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Metadata {
    pub name: S<String>,
    #[serde(rename = "type")]
    pub kind: S<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_timestamp: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_timestamp: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_timestamp: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_updated_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_updated_timestamp: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Spec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_selector: Option<S<Selector>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_selector: Option<S<Selector>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine_selector: Option<S<Selector>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<S<Selector>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_selector: Option<S<Selector>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_selector: Option<S<Selector>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    pub mode: S<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_processes: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_connections: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_private_connections: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_public_connections: Option<S<String>>,
    pub process_policy: Vec<S<Node>>,
    pub network_policy: Network,
    pub response: Response,
}

/// A selector: `matchFields`, `matchLabels`, `matchExpressions`,
/// `matchFieldsExpressions`, or the legacy shorthand fields written
/// directly in it (`image: nginx:*`, `cgroup: ...`).  Which fields a
/// selector of each kind takes is checked after parsing.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Selector {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub match_fields: BTreeMap<String, S<OneOrMany>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, S<OneOrMany>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<S<Expr>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_fields_expressions: Vec<S<Expr>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<S<OneOrMany>>,
    #[serde(default, rename = "imageID", skip_serializing_if = "Option::is_none")]
    pub image_id: Option<S<OneOrMany>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_name: Option<S<OneOrMany>>,
    #[serde(
        default,
        rename = "containerID",
        skip_serializing_if = "Option::is_none"
    )]
    pub container_id: Option<S<OneOrMany>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<S<OneOrMany>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<S<OneOrMany>>,
    #[serde(
        default,
        rename = "machineUID",
        skip_serializing_if = "Option::is_none"
    )]
    pub machine_uid: Option<S<OneOrMany>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<S<OneOrMany>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exe: Option<S<OneOrMany>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub euser: Option<S<OneOrMany>>,
}

impl Selector {
    /// The shorthand fields written, by their document names.
    #[must_use]
    pub fn shorthand(&self) -> Vec<(&'static str, &S<OneOrMany>)> {
        [
            ("image", &self.image),
            ("imageID", &self.image_id),
            ("containerName", &self.container_name),
            ("containerID", &self.container_id),
            ("cgroup", &self.cgroup),
            ("hostname", &self.hostname),
            ("machineUID", &self.machine_uid),
            ("name", &self.name),
            ("exe", &self.exe),
            ("euser", &self.euser),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
        .collect()
    }
}

/// A glob, or a list of globs (any of them).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    #[must_use]
    pub fn values(&self) -> Vec<String> {
        match self {
            Self::One(s) => vec![s.clone()],
            Self::Many(v) => v.clone(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Expr {
    pub key: String,
    pub operator: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Node {
    pub name: String,
    pub exe: Vec<String>,
    pub id: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub euser: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub listening_sockets: Vec<S<Port>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<S<Node>>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Port {
    pub protocol: S<String>,
    pub port: S<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_port: Option<S<i64>>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    #[serde(default)]
    pub ingress: Vec<S<Rule>>,
    #[serde(default)]
    pub egress: Vec<S<Rule>>,
}

/// One ingress (`from`) or egress (`to`) rule.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Vec<S<Peer>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Vec<S<Peer>>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub processes: Vec<String>,
    pub ports: Vec<S<Port>>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Peer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_block: Option<IpBlock>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_selector: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IpBlock {
    pub cidr: S<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub except: Vec<S<String>>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Response {
    #[serde(default)]
    pub default: Vec<S<ActionItem>>,
    #[serde(default)]
    pub actions: Vec<S<ActionItem>>,
}

/// One response item: exactly one action key (checked after parsing, so
/// the message can say so).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ActionItem {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub make_red_flag: Option<ActionArgs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub make_ops_flag: Option<ActionArgs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_kill_process: Option<ActionArgs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_kill_process_group: Option<ActionArgs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_kill_process_tree: Option<ActionArgs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_kill_pod: Option<ActionArgs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_renice_process: Option<ActionArgs>,
}

/// The arguments of any action; which ones an action allows is checked
/// after parsing (an argument another action takes names that action).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ActionArgs {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impact: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<S<Scalar>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_selector: Option<S<Selector>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_selector: Option<S<Selector>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine_selector: Option<S<Selector>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<S<Selector>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_selector: Option<S<Selector>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_selector: Option<S<Selector>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_selector: Option<S<Selector>>,
}

/// A number written as a number or as a string (Spyderbat writes the
/// renice priority as a string: `priority: "5"`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Scalar {
    Int(i64),
    Text(String),
}
