//! From the document as written ([`raw`]) to the policy perchd runs:
//! every rule of the schema checked, the first mistake returned with its
//! field path (`spec.response.actions[0].agentReniceProcess.priority`)
//! and the line it was written on.
use std::collections::HashSet;

use super::{
    Disable, Kind, ProcNode, ResponseItem, WorkloadPolicy,
    net::{Cidr, NetRule, Peer, PortRange, Proto},
    raw::{self, S},
    select::{Expr, Op, SelKind, Selector},
};
use crate::policy::{PolicyError, err, trace::Mode};

/// Longest `content` / `description` of a flag, and `impact`.
pub(super) const MAX_CONTENT: usize = 350;
pub(super) const MAX_IMPACT: usize = 100;
/// At most this many `except` blocks per `ipBlock`.
const MAX_EXCEPT: usize = 10;

pub const SEVERITIES: &[&str] = &["critical", "high", "medium", "low", "info"];

pub(super) struct Ctx<'a> {
    file: &'a str,
}

impl Ctx<'_> {
    pub(super) fn fail<T>(&self, line: u64, field: &str, message: &str) -> Result<T, PolicyError> {
        Err(err(self.file, line, field, message))
    }
}

pub(super) fn line<T>(s: &S<T>) -> u64 {
    s.referenced.line()
}

pub fn compile(file: &str, doc: raw::Doc) -> Result<WorkloadPolicy, PolicyError> {
    let cx = Ctx { file };
    let name = doc.metadata.name.value.clone();
    super::super::trace::check_name(file, line(&doc.metadata.name), &name)?;
    let kind = match doc.metadata.kind.value.as_str() {
        "container" => Kind::Container,
        "linux-service" => Kind::Service,
        "machine" => Kind::Machine,
        other => {
            return cx.fail(
                line(&doc.metadata.kind),
                "metadata.type",
                &format!(
                    "{other:?} is not supported (allowed: container, linux-service, machine, trace)"
                ),
            );
        }
    };
    let spec = &doc.spec;
    let mode = match spec.mode.value.as_str() {
        "audit" => Mode::Audit,
        "enforce" => Mode::Enforce,
        other => {
            return cx.fail(
                line(&spec.mode),
                "spec.mode",
                &format!("must be audit or enforce (got {other:?})"),
            );
        }
    };
    let select = scope_selectors(&cx, kind, spec)?;
    let disable = disable(&cx, spec)?;
    let mut ids = HashSet::new();
    let mut roots = Vec::new();
    for (i, n) in spec.process_policy.iter().enumerate() {
        let path = format!("spec.processPolicy[{i}]");
        if n.value.euser.is_empty() {
            return cx.fail(
                line(n),
                &format!("{path}.euser"),
                "a root process needs euser (its children inherit it)",
            );
        }
        roots.push(node(&cx, n, &path, &[], &mut ids)?);
    }
    let ingress = rules(&cx, &spec.network_policy.ingress, "ingress", &ids)?;
    let egress = rules(&cx, &spec.network_policy.egress, "egress", &ids)?;
    let default = items(&cx, &spec.response.default, "spec.response.default", false)?;
    let actions = items(&cx, &spec.response.actions, "spec.response.actions", true)?;
    Ok(WorkloadPolicy {
        name,
        kind,
        mode,
        enabled: spec.enabled.unwrap_or(true),
        select,
        disable,
        roots,
        ingress,
        egress,
        default,
        actions,
        doc,
    })
}

/// The selectors of the policy's scope, the one its type requires first.
fn scope_selectors(
    cx: &Ctx<'_>,
    kind: Kind,
    spec: &raw::Spec,
) -> Result<Vec<Selector>, PolicyError> {
    if let Some(c) = &spec.cluster_selector {
        return cx.fail(
            line(c),
            "spec.clusterSelector",
            "cluster policies are not supported (allowed types: container, linux-service, machine)",
        );
    }
    let (required, allowed): (SelKind, &[SelKind]) = match kind {
        Kind::Container => (
            SelKind::Container,
            &[
                SelKind::Container,
                SelKind::Machine,
                SelKind::Namespace,
                SelKind::Pod,
            ],
        ),
        Kind::Service => (SelKind::Service, &[SelKind::Service, SelKind::Machine]),
        Kind::Machine => (SelKind::Machine, &[SelKind::Machine]),
    };
    let given = [
        (SelKind::Container, &spec.container_selector),
        (SelKind::Service, &spec.service_selector),
        (SelKind::Machine, &spec.machine_selector),
        (SelKind::Namespace, &spec.namespace_selector),
        (SelKind::Pod, &spec.pod_selector),
    ];
    let mut out = Vec::new();
    for (k, s) in given {
        let Some(s) = s else {
            if k == required {
                return cx.fail(
                    0,
                    &format!("spec.{}", k.doc_name()),
                    &format!("a {} policy needs one", kind.doc_name()),
                );
            }
            continue;
        };
        if !allowed.contains(&k) {
            return cx.fail(
                line(s),
                &format!("spec.{}", k.doc_name()),
                &format!("not allowed in a {} policy", kind.doc_name()),
            );
        }
        out.push(selector(cx, k, s, &format!("spec.{}", k.doc_name()))?);
    }
    Ok(out)
}

pub(super) fn selector(
    cx: &Ctx<'_>,
    kind: SelKind,
    s: &S<raw::Selector>,
    path: &str,
) -> Result<Selector, PolicyError> {
    let r = &s.value;
    let mut equal = Vec::new();
    let labels = kind.has_labels();
    if labels && !r.shorthand().is_empty() || !labels && !r.match_labels.is_empty() {
        let what = if labels {
            "matchLabels or matchExpressions"
        } else {
            format!("fields ({})", kind.fields().join(", ")).leak()
        };
        return cx.fail(
            line(s),
            path,
            &format!("a {} takes {what}", kind.doc_name()),
        );
    }
    let fields = r
        .match_fields
        .iter()
        .map(|(k, v)| (k.as_str(), v, "matchFields"));
    let short = r.shorthand().into_iter().map(|(k, v)| (k, v, ""));
    let label = r
        .match_labels
        .iter()
        .map(|(k, v)| (k.as_str(), v, "matchLabels"));
    for (key, v, group) in fields.chain(short).chain(label) {
        let at = if group.is_empty() {
            format!("{path}.{key}")
        } else {
            format!("{path}.{group}.{key}")
        };
        if group != "matchLabels" && !kind.fields().contains(&key) {
            return cx.fail(
                line(v),
                &at,
                &format!("unknown field (allowed: {})", kind.fields().join(", ")),
            );
        }
        let values = v.value.values();
        if values.is_empty() {
            return cx.fail(line(v), &at, "needs at least one value");
        }
        let key = if key == "machineUID" { "uid" } else { key };
        // Spyderbat writes service cgroups as `systemd:/system.slice/...`;
        // perchd knows the path in the cgroup2 tree.
        let values = if kind == SelKind::Service && key == "cgroup" {
            values
                .into_iter()
                .map(|v| {
                    v.strip_prefix("systemd:")
                        .map_or(v.clone(), ToOwned::to_owned)
                })
                .collect()
        } else {
            values
        };
        equal.push((key.to_owned(), values));
    }
    let exprs = expressions(cx, kind, r, path)?;
    if equal.is_empty() && exprs.is_empty() {
        return cx.fail(
            line(s),
            path,
            "an empty selector selects everything: give a field, a label or an expression",
        );
    }
    Ok(Selector { kind, equal, exprs })
}

fn expressions(
    cx: &Ctx<'_>,
    kind: SelKind,
    r: &raw::Selector,
    path: &str,
) -> Result<Vec<Expr>, PolicyError> {
    let labels = kind.has_labels();
    let mut exprs = Vec::new();
    let groups = [
        (&r.match_expressions, "matchExpressions"),
        (&r.match_fields_expressions, "matchFieldsExpressions"),
    ];
    for (list, group) in groups {
        if group == "matchExpressions" && !labels && !list.is_empty() {
            return cx.fail(
                line(&list[0]),
                &format!("{path}.{group}"),
                &format!("a {} takes matchFieldsExpressions", kind.doc_name()),
            );
        }
        for (i, e) in list.iter().enumerate() {
            let at = format!("{path}.{group}[{i}]");
            let Some(op) = Op::parse(&e.value.operator) else {
                return cx.fail(
                    line(e),
                    &format!("{at}.operator"),
                    &format!(
                        "{:?}: must be In, NotIn, Exists or DoesNotExist",
                        e.value.operator
                    ),
                );
            };
            let wants = matches!(op, Op::In | Op::NotIn);
            if wants == e.value.values.is_empty() {
                let m = if wants {
                    "In and NotIn need values"
                } else {
                    "Exists and DoesNotExist take no values"
                };
                return cx.fail(line(e), &format!("{at}.values"), m);
            }
            if !labels && !kind.fields().contains(&e.value.key.as_str()) {
                return cx.fail(
                    line(e),
                    &format!("{at}.key"),
                    &format!("{:?} (allowed: {})", e.value.key, kind.fields().join(", ")),
                );
            }
            exprs.push(Expr {
                key: e.value.key.clone(),
                op,
                values: e.value.values.clone(),
            });
        }
    }
    Ok(exprs)
}

fn disable(cx: &Ctx<'_>, spec: &raw::Spec) -> Result<Disable, PolicyError> {
    let mut d = Disable::default();
    if let Some(p) = &spec.disable_processes {
        if p.value != "all" {
            return cx.fail(
                line(p),
                "spec.disableProcesses",
                &format!("must be all (got {:?})", p.value),
            );
        }
        d.processes = true;
    }
    let conns = [
        (&spec.disable_connections, "disableConnections", &mut d.all),
        (
            &spec.disable_private_connections,
            "disablePrivateConnections",
            &mut d.private,
        ),
        (
            &spec.disable_public_connections,
            "disablePublicConnections",
            &mut d.public,
        ),
    ];
    for (v, field, slot) in conns {
        let Some(v) = v else { continue };
        *slot = match v.value.as_str() {
            "all" => [true, true],
            "ingress" => [true, false],
            "egress" => [false, true],
            other => {
                return cx.fail(
                    line(v),
                    &format!("spec.{field}"),
                    &format!("must be all, ingress or egress (got {other:?})"),
                );
            }
        };
    }
    Ok(d)
}

fn node(
    cx: &Ctx<'_>,
    n: &S<raw::Node>,
    path: &str,
    inherited: &[String],
    ids: &mut HashSet<String>,
) -> Result<ProcNode, PolicyError> {
    let r = &n.value;
    let at = line(n);
    if r.name.is_empty() {
        return cx.fail(at, &format!("{path}.name"), "must not be empty");
    }
    if r.exe.is_empty() || r.exe.iter().any(String::is_empty) {
        return cx.fail(
            at,
            &format!("{path}.exe"),
            "needs at least one executable path (globs allowed)",
        );
    }
    if r.id.is_empty() || !ids.insert(r.id.clone()) {
        return cx.fail(
            at,
            &format!("{path}.id"),
            &format!("{:?}: ids must be non-empty and unique in the policy", r.id),
        );
    }
    let euser = if r.euser.is_empty() {
        inherited.to_vec()
    } else {
        r.euser.clone()
    };
    let mut listening = Vec::new();
    for (i, p) in r.listening_sockets.iter().enumerate() {
        listening.push(port(cx, p, &format!("{path}.listeningSockets[{i}]"))?);
    }
    let mut children = Vec::new();
    for (i, c) in r.children.iter().enumerate() {
        children.push(node(cx, c, &format!("{path}.children[{i}]"), &euser, ids)?);
    }
    Ok(ProcNode {
        id: r.id.clone(),
        name: r.name.clone(),
        exe: r.exe.clone(),
        euser,
        listening,
        children,
    })
}

fn port(cx: &Ctx<'_>, p: &S<raw::Port>, path: &str) -> Result<PortRange, PolicyError> {
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

fn rules(
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

fn items(
    cx: &Ctx<'_>,
    list: &[S<raw::ActionItem>],
    path: &str,
    selected: bool,
) -> Result<Vec<ResponseItem>, PolicyError> {
    let mut out = Vec::new();
    for (i, item) in list.iter().enumerate() {
        out.push(super::action::item(
            cx,
            item,
            &format!("{path}[{i}]"),
            selected,
        )?);
    }
    Ok(out)
}
