//! Folding one deviation's `GuardianDeviation` document into its policy
//! (the console's "add to policy"): new process nodes under the node the
//! deviation anchors them to (or as new roots), listening sockets for a
//! node, network rules appended.  New ids that clash with the policy's get
//! the next free `<name>_<n>`; the result is checked like any document.
use serde::Deserialize;
use serde_json::Value;

use super::{
    WorkloadPolicy, from_doc,
    raw::{self, S, unspanned},
};

/// Why a deviation could not be folded in.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("the deviation document does not read: {0}")]
    Document(String),
    #[error("node {0:?} (the deviation's anchor) is no longer in the policy")]
    NoAnchor(String),
    #[error("{0}")]
    Invalid(#[from] crate::policy::PolicyError),
}

/// Parses a part of the document as a raw policy type (through YAML, so
/// values carry their spans as the parser makes them).
fn part<T: for<'de> Deserialize<'de>>(v: &Value) -> Result<T, MergeError> {
    let text = serde_saphyr::to_string(v).map_err(|e| MergeError::Document(e.to_string()))?;
    serde_saphyr::from_str(&text).map_err(|e| MergeError::Document(e.to_string()))
}

fn find<'a>(nodes: &'a mut [S<raw::Node>], id: &str) -> Option<&'a mut raw::Node> {
    for n in nodes {
        if n.value.id == id {
            return Some(&mut n.value);
        }
        if let Some(found) = find(&mut n.value.children, id) {
            return Some(found);
        }
    }
    None
}

fn ids(nodes: &[S<raw::Node>], out: &mut Vec<String>) {
    for n in nodes {
        out.push(n.value.id.clone());
        ids(&n.value.children, out);
    }
}

/// Gives every node of `n` an id no other node has.
fn uniquify(n: &mut raw::Node, taken: &mut Vec<String>) {
    if taken.contains(&n.id) {
        n.id = super::fresh_id(&super::id_base(&n.name), |id| taken.iter().any(|t| t == id));
    }
    taken.push(n.id.clone());
    for c in &mut n.children {
        uniquify(&mut c.value, taken);
    }
}

/// `policy` with the deviation `document` folded in, as a document.
pub fn merge_deviation(policy: &WorkloadPolicy, document: &str) -> Result<raw::Doc, MergeError> {
    let dev: Value =
        serde_saphyr::from_str(document).map_err(|e| MergeError::Document(e.to_string()))?;
    let spec = &dev["spec"];
    let mut doc = policy.doc.clone();
    let mut taken = Vec::new();
    ids(&doc.spec.process_policy, &mut taken);
    for entry in spec["processPolicy"].as_array().into_iter().flatten() {
        let Some(anchor) = entry.get("policyNode") else {
            let mut root: raw::Node = part(entry)?;
            uniquify(&mut root, &mut taken);
            doc.spec.process_policy.push(unspanned(root));
            continue;
        };
        let id = anchor["id"].as_str().unwrap_or_default().to_owned();
        let mut children: Vec<raw::Node> = match anchor.get("children") {
            Some(c) => part(c)?,
            None => Vec::new(),
        };
        let sockets: Vec<S<raw::Port>> = match anchor.get("listeningSockets") {
            Some(l) => part(l)?,
            None => Vec::new(),
        };
        for c in &mut children {
            uniquify(c, &mut taken);
        }
        let node = find(&mut doc.spec.process_policy, &id).ok_or(MergeError::NoAnchor(id))?;
        node.children.extend(children.into_iter().map(unspanned));
        node.listening_sockets.extend(sockets);
    }
    let net = &spec["networkPolicy"];
    for (dir, list) in [
        ("ingress", &mut doc.spec.network_policy.ingress),
        ("egress", &mut doc.spec.network_policy.egress),
    ] {
        if let Some(rules) = net.get(dir) {
            let rules: Vec<raw::Rule> = part(rules)?;
            list.extend(rules.into_iter().map(unspanned));
        }
    }
    from_doc(&doc)?;
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::workload::parse;

    const POLICY: &str = "apiVersion: spyderbat/v1
kind: SpyderbatPolicy
metadata: {name: web, type: linux-service}
spec:
  serviceSelector: {cgroup: /web.service}
  mode: audit
  processPolicy:
  - {name: python3, exe: [/usr/bin/python3], id: python3_0, euser: [root]}
  networkPolicy: {ingress: [], egress: []}
  response: {default: [], actions: []}
";

    #[test]
    fn a_process_and_a_rule_fold_in() {
        let p = parse("p.yaml", POLICY).unwrap();
        let shell = "apiVersion: spyderbat/v1
kind: GuardianDeviation
metadata: {type: process, policy: web, checksum: abc}
spec:
  processPolicy:
  - policyNode:
      id: python3_0
      children: [{name: sh, exe: [/usr/bin/dash], id: python3_0, euser: [root]}]
";
        let doc = merge_deviation(&p, shell).unwrap();
        let merged = from_doc(&doc).unwrap();
        let sh = &merged.roots[0].children[0];
        assert_eq!(
            (sh.name.as_str(), sh.id.as_str()),
            ("sh", "sh_0"),
            "a clashing id is renumbered"
        );
        let egress = "apiVersion: spyderbat/v1
kind: GuardianDeviation
metadata: {type: egress, policy: web, checksum: def}
spec:
  networkPolicy:
    egress:
    - to: [{ipBlock: {cidr: 10.0.0.9/32}}]
      processes: [python3_0]
      ports: [{protocol: TCP, port: 6379}]
";
        let doc = merge_deviation(&merged, egress).unwrap();
        assert_eq!(from_doc(&doc).unwrap().egress.len(), 1);
        let lost = shell.replace(
            "id: python3_0\n      children",
            "id: java_0\n      children",
        );
        assert!(matches!(
            merge_deviation(&p, &lost),
            Err(MergeError::NoAnchor(_))
        ));
    }
}
