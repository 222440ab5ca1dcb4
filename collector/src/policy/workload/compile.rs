//! From the document as written ([`raw`]) to the policy perchd runs:
//! every rule of the schema checked, the first mistake returned with its
//! field path (`spec.response.actions[0].agentReniceProcess.priority`)
//! and the line it was written on.
use std::collections::HashSet;

use super::{
    Disable, Kind, ProcNode, ResponseItem, WorkloadPolicy, compile_net,
    raw::{self, S},
    select::{Expr, Op, SelKind, Selector},
};
use crate::policy::{PolicyError, err, trace::Mode};

/// Longest `content` / `description` of a flag, and `impact`.
pub(super) const MAX_CONTENT: usize = 350;
pub(super) const MAX_IMPACT: usize = 100;

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
    let ingress = compile_net::rules(&cx, &spec.network_policy.ingress, "ingress", &ids)?;
    let egress = compile_net::rules(&cx, &spec.network_policy.egress, "egress", &ids)?;
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
            "matchLabels or matchExpressions".to_owned()
        } else {
            format!("fields ({})", kind.fields().join(", "))
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
        listening.push(compile_net::port(
            cx,
            p,
            &format!("{path}.listeningSockets[{i}]"),
        )?);
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
