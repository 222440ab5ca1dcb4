//! Folding what ran into a workload policy: `perch policy learn` folds a
//! window of history into an empty policy of the scope asked, `merge`
//! folds it into an existing one, `diff` shows what a merge would change.
//! Processes are keyed by their chain in the scope (as perchd judges
//! them): a process a node already admits adds nothing, a new executable
//! or user is added to the node that admits the name, anything else is a
//! new subtree.  Listening sockets join their node; each connection no
//! rule covers adds a rule for its node, peer (/32 or /128) and port.
use std::collections::{BTreeMap, BTreeSet};

use perch_proto::v1::{ConnectionDirection, Process};
use perchd::policy::{
    PolicyError, glob,
    workload::{
        self, ProcNode, WorkloadPolicy,
        cover::{self, Found, Proc as _},
        net::{PortRange, Proto},
        raw::{self, unspanned},
    },
};

use super::recorded::{Recorded, Step};

/// A node being built.
#[derive(Clone, Debug, Default)]
struct Node {
    id: Option<String>,
    name: String,
    exe: Vec<String>,
    euser: Vec<String>,
    listening: Vec<PortRange>,
    children: Vec<Node>,
}

impl Node {
    fn of(n: &ProcNode) -> Self {
        Self {
            id: Some(n.id.clone()),
            name: n.name.clone(),
            exe: n.exe.clone(),
            euser: n.euser.clone(),
            listening: n.listening.clone(),
            children: n.children.iter().map(Self::of).collect(),
        }
    }
}

fn admits_any(globs: &[String], value: &str) -> bool {
    globs.iter().any(|g| glob(g, value))
}

/// Adds `chain` under `level`; the path of indices to its last node.
fn insert(level: &mut Vec<Node>, chain: &[&Process]) -> Vec<usize> {
    let mut path = Vec::new();
    let mut level = level;
    for p in chain {
        let (comm, exe, euser) = (p.comm(), p.exe(), p.euser());
        let i = if let Some(i) = level.iter().position(|n| glob(&n.name, comm)) {
            let n = &mut level[i];
            if !admits_any(&n.exe, exe)
                && !n
                    .exe
                    .iter()
                    .any(|g| !g.contains('/') && glob(g, exe.rsplit('/').next().unwrap_or(exe)))
            {
                n.exe.push(exe.to_owned());
            }
            if !admits_any(&n.euser, &euser) {
                n.euser.push(euser);
            }
            i
        } else {
            level.push(Node {
                name: comm.to_owned(),
                exe: vec![exe.to_owned()],
                euser: vec![euser],
                ..Node::default()
            });
            level.len() - 1
        };
        path.push(i);
        level = &mut level[i].children;
    }
    path
}

fn at<'a>(roots: &'a mut [Node], path: &[usize]) -> Option<&'a mut Node> {
    let (first, rest) = path.split_first()?;
    let mut n = roots.get_mut(*first)?;
    for i in rest {
        n = n.children.get_mut(*i)?;
    }
    Some(n)
}

/// Ids for new nodes (`<name>_<n>`, unique), and the raw nodes; `ids`
/// maps each node's path to its id.
fn to_raw(
    nodes: &[Node],
    parent_euser: Option<&[String]>,
    taken: &mut BTreeSet<String>,
    path: &mut Vec<usize>,
    ids: &mut BTreeMap<Vec<usize>, String>,
) -> Vec<raw::S<raw::Node>> {
    let mut out = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        path.push(i);
        let id = n.id.clone().unwrap_or_else(|| {
            workload::fresh_id(&workload::id_base(&n.name), |id| taken.contains(id))
        });
        taken.insert(id.clone());
        ids.insert(path.clone(), id.clone());
        let euser = if parent_euser == Some(n.euser.as_slice()) {
            Vec::new()
        } else {
            n.euser.clone()
        };
        let listening_sockets = n
            .listening
            .iter()
            .map(|r| {
                unspanned(raw::Port {
                    protocol: unspanned(r.proto.as_str().to_owned()),
                    port: unspanned(i64::from(r.port)),
                    end_port: (r.end != r.port).then(|| unspanned(i64::from(r.end))),
                })
            })
            .collect();
        let children = to_raw(&n.children, Some(&n.euser), taken, path, ids);
        out.push(unspanned(raw::Node {
            name: n.name.clone(),
            exe: n.exe.clone(),
            id,
            euser,
            listening_sockets,
            children,
        }));
        path.pop();
    }
    out
}

fn all_ids(nodes: &[Node], into: &mut BTreeSet<String>) {
    for n in nodes {
        into.extend(n.id.clone());
        all_ids(&n.children, into);
    }
}

/// A connection to fold: its owner, direction, peer, port.
struct Conn<'a> {
    owner: &'a Process,
    ingress: bool,
    peer: std::net::IpAddr,
    port: u16,
    proto: Proto,
}

fn conns(rec: &Recorded) -> Vec<Conn<'_>> {
    let mut out = Vec::new();
    let mut push = |c: &perch_proto::v1::Connection, ingress: bool| {
        let (Some(owner), Ok(peer)) = (c.process.and_then(|k| rec.get(&k)), c.remote_ip.parse())
        else {
            return;
        };
        let port = if ingress { c.local_port } else { c.remote_port };
        let Ok(port) = u16::try_from(port) else {
            return;
        };
        let proto = if c.proto == i32::from(perch_proto::v1::NetProtocol::Udp) {
            Proto::Udp
        } else {
            Proto::Tcp
        };
        out.push(Conn {
            owner,
            ingress,
            peer,
            port,
            proto,
        });
    };
    for s in &rec.steps {
        match s {
            Step::Connect(c) => push(c, false),
            Step::Accept(c) => push(c, true),
            _ => {}
        }
    }
    for c in &rec.connections {
        match ConnectionDirection::try_from(c.direction) {
            Ok(ConnectionDirection::Inbound) => push(c, true),
            Ok(ConnectionDirection::Outbound) => push(c, false),
            _ => {}
        }
    }
    out
}

/// The connections `policy` does not cover yet, grouped by direction,
/// node, protocol and port, each with its peers.
type Rules = BTreeMap<(bool, Option<String>, Proto, u16), BTreeSet<String>>;

fn uncovered(
    policy: &WorkloadPolicy,
    rec: &Recorded,
    path_of: &dyn Fn(&Process) -> Option<Vec<usize>>,
    ids: &BTreeMap<Vec<usize>, String>,
) -> Rules {
    let host = rec.host.as_str();
    let mut rules = Rules::new();
    for c in conns(rec) {
        let chain = cover::chain(policy, c.owner, || rec.ancestors(c.owner), host);
        if matches!(cover::found(policy, chain.as_deref()), Found::Outside) {
            continue;
        }
        let id = path_of(c.owner).and_then(|path| ids.get(&path).cloned());
        let list = if c.ingress {
            &policy.ingress
        } else {
            &policy.egress
        };
        let ip = c.peer.to_canonical();
        if list
            .iter()
            .any(|r| r.covers(id.as_deref(), ip, None, c.proto, c.port))
        {
            continue;
        }
        let bits = if ip.is_ipv4() { 32 } else { 128 };
        rules
            .entry((c.ingress, id, c.proto, c.port))
            .or_default()
            .insert(format!("{ip}/{bits}"));
    }
    rules
}

/// `policy` with what `rec` saw folded in, as a document.
pub fn fold(policy: &WorkloadPolicy, rec: &Recorded) -> Result<raw::Doc, PolicyError> {
    let host = rec.host.as_str();
    let mut roots: Vec<Node> = policy.roots.iter().map(Node::of).collect();
    let execs = rec.steps.iter().filter_map(|s| match s {
        Step::Exec(p) => Some(&**p),
        _ => None,
    });
    let mut paths: BTreeMap<(u32, u64), Vec<usize>> = BTreeMap::new();
    for p in execs.chain(rec.processes()) {
        if let Some(chain) = cover::chain(policy, p, || rec.ancestors(p), host) {
            let k = p.key();
            paths.insert((k.pid, k.start_time_ns), insert(&mut roots, &chain));
        }
    }
    let path_of = |p: &Process| {
        let k = p.key();
        paths.get(&(k.pid, k.start_time_ns)).cloned()
    };
    let sockets = rec.steps.iter().filter_map(|s| match s {
        Step::Listen(l) => Some(l),
        _ => None,
    });
    for l in sockets.chain(&rec.listening) {
        let Some(p) = l.process.and_then(|k| rec.get(&k)) else {
            continue;
        };
        let (Some(path), Ok(port)) = (path_of(p), u16::try_from(l.local_port)) else {
            continue;
        };
        let proto = if l.proto == i32::from(perch_proto::v1::NetProtocol::Udp) {
            Proto::Udp
        } else {
            Proto::Tcp
        };
        if let Some(n) = at(&mut roots, &path)
            && !n.listening.iter().any(|r| r.covers(proto, port))
        {
            n.listening.push(PortRange {
                proto,
                port,
                end: port,
            });
        }
    }
    let mut taken = BTreeSet::new();
    all_ids(&roots, &mut taken);
    let mut ids = BTreeMap::new();
    let nodes = to_raw(&roots, None, &mut taken, &mut Vec::new(), &mut ids);
    let rules = uncovered(policy, rec, &path_of, &ids);
    let mut doc = policy.doc.clone();
    doc.spec.process_policy = nodes;
    for ((ingress, id, proto, port), peers) in rules {
        let peers: Vec<_> = peers
            .into_iter()
            .map(|cidr| {
                unspanned(raw::Peer {
                    ip_block: Some(raw::IpBlock {
                        cidr: unspanned(cidr),
                        except: Vec::new(),
                    }),
                    dns_selector: None,
                })
            })
            .collect();
        let rule = raw::Rule {
            from: ingress.then(|| peers.clone()),
            to: (!ingress).then_some(peers),
            processes: id.into_iter().collect(),
            ports: vec![unspanned(raw::Port {
                protocol: unspanned(proto.as_str().to_owned()),
                port: unspanned(i64::from(port)),
                end_port: None,
            })],
        };
        let list = if ingress {
            &mut doc.spec.network_policy.ingress
        } else {
            &mut doc.spec.network_policy.egress
        };
        list.push(unspanned(rule));
    }
    perchd::policy::workload::from_doc(&doc).map(|_| doc)
}
