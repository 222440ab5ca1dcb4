//! `spec.response`: the actions of a workload policy.  Each item holds
//! exactly one action; `default` items carry no selector, `actions` items
//! at least one; each action takes only its own arguments.
use super::{
    compile::{Ctx, MAX_CONTENT, MAX_IMPACT, SEVERITIES, line, selector},
    raw::{self, S},
    select::{SelKind, Selector},
};
use crate::policy::PolicyError;

/// What a response does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    RedFlag {
        severity: String,
        content: String,
        impact: String,
    },
    OpsFlag {
        severity: String,
        content: String,
        description: String,
    },
    Kill,
    KillGroup,
    KillTree,
    KillPod,
    Renice(i32),
}

impl Action {
    /// The action's key in the document.
    #[must_use]
    pub fn doc_name(&self) -> &'static str {
        match self {
            Self::RedFlag { .. } => "makeRedFlag",
            Self::OpsFlag { .. } => "makeOpsFlag",
            Self::Kill => "agentKillProcess",
            Self::KillGroup => "agentKillProcessGroup",
            Self::KillTree => "agentKillProcessTree",
            Self::KillPod => "agentKillPod",
            Self::Renice(_) => "agentReniceProcess",
        }
    }

    /// Whether it acts on processes (through the executor) rather than
    /// raising a flag.
    #[must_use]
    pub fn is_agent(&self) -> bool {
        !matches!(self, Self::RedFlag { .. } | Self::OpsFlag { .. })
    }
}

/// One item of `default` or `actions`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseItem {
    pub action: Action,
    /// All must hold for the deviation (empty for `default`).
    pub selectors: Vec<Selector>,
    pub enabled: bool,
}

/// Which arguments an action takes (besides `enabled` and selectors).
fn takes(action: &str) -> &'static [&'static str] {
    match action {
        "makeRedFlag" => &["severity", "content", "impact"],
        "makeOpsFlag" => &["severity", "content", "description"],
        "agentReniceProcess" => &["priority"],
        _ => &[],
    }
}

pub(super) fn item(
    cx: &Ctx<'_>,
    item: &S<raw::ActionItem>,
    path: &str,
    selected: bool,
) -> Result<ResponseItem, PolicyError> {
    let r = &item.value;
    let keys = [
        ("makeRedFlag", &r.make_red_flag),
        ("makeOpsFlag", &r.make_ops_flag),
        ("agentKillProcess", &r.agent_kill_process),
        ("agentKillProcessGroup", &r.agent_kill_process_group),
        ("agentKillProcessTree", &r.agent_kill_process_tree),
        ("agentKillPod", &r.agent_kill_pod),
        ("agentReniceProcess", &r.agent_renice_process),
    ];
    let given: Vec<_> = keys
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (*k, v)))
        .collect();
    let [(name, args)] = given.as_slice() else {
        let names: Vec<_> = given.iter().map(|(k, _)| *k).collect();
        let found = if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        };
        return cx.fail(
            line(item),
            path,
            &format!("each item holds exactly one action (found {found})"),
        );
    };
    let at = format!("{path}.{name}");
    foreign_args(cx, name, args, &at)?;
    let action = build(cx, name, args, &at, line(item))?;
    let selectors = item_selectors(cx, args, &at, selected)?;
    if selected && selectors.is_empty() {
        return cx.fail(
            line(item),
            &at,
            "an item of spec.response.actions needs a selector (containerSelector, \
             serviceSelector, machineSelector, namespaceSelector, podSelector or \
             processSelector); unselected actions go in spec.response.default",
        );
    }
    Ok(ResponseItem {
        action,
        selectors,
        enabled: args.enabled.unwrap_or(true),
    })
}

/// An argument of another action (`priority` on a kill) is a mistake.
fn foreign_args(
    cx: &Ctx<'_>,
    name: &str,
    args: &raw::ActionArgs,
    at: &str,
) -> Result<(), PolicyError> {
    let scalars = [
        ("severity", &args.severity),
        ("content", &args.content),
        ("impact", &args.impact),
        ("description", &args.description),
    ];
    for (field, v) in scalars {
        if let Some(v) = v
            && !takes(name).contains(&field)
        {
            return cx.fail(
                line(v),
                &format!("{at}.{field}"),
                &format!("{name} does not take {field}"),
            );
        }
    }
    if let Some(p) = &args.priority
        && name != "agentReniceProcess"
    {
        return cx.fail(
            line(p),
            &format!("{at}.priority"),
            &format!("{name} does not take priority"),
        );
    }
    Ok(())
}

fn build(
    cx: &Ctx<'_>,
    name: &str,
    args: &raw::ActionArgs,
    at: &str,
    item_line: u64,
) -> Result<Action, PolicyError> {
    let text = |v: &Option<S<String>>, field: &str, max: usize| -> Result<String, PolicyError> {
        match v {
            Some(s) if s.value.chars().count() > max => cx.fail(
                line(s),
                &format!("{at}.{field}"),
                &format!("at most {max} characters (got {})", s.value.chars().count()),
            ),
            Some(s) => Ok(s.value.clone()),
            None => Ok(String::new()),
        }
    };
    let severity = || -> Result<String, PolicyError> {
        match &args.severity {
            Some(s) if !SEVERITIES.contains(&s.value.as_str()) => cx.fail(
                line(s),
                &format!("{at}.severity"),
                &format!(
                    "must be one of {} (got {:?})",
                    SEVERITIES.join(", "),
                    s.value
                ),
            ),
            Some(s) => Ok(s.value.clone()),
            None => Ok("high".to_owned()),
        }
    };
    Ok(match name {
        "makeRedFlag" => Action::RedFlag {
            severity: severity()?,
            content: text(&args.content, "content", MAX_CONTENT)?,
            impact: text(&args.impact, "impact", MAX_IMPACT)?,
        },
        "makeOpsFlag" => Action::OpsFlag {
            severity: severity()?,
            content: text(&args.content, "content", MAX_CONTENT)?,
            description: text(&args.description, "description", MAX_CONTENT)?,
        },
        "agentKillProcess" => Action::Kill,
        "agentKillProcessGroup" => Action::KillGroup,
        "agentKillProcessTree" => Action::KillTree,
        "agentKillPod" => Action::KillPod,
        _ => Action::Renice(priority(cx, args.priority.as_ref(), at, item_line)?),
    })
}

fn item_selectors(
    cx: &Ctx<'_>,
    args: &raw::ActionArgs,
    at: &str,
    selected: bool,
) -> Result<Vec<Selector>, PolicyError> {
    if let Some(c) = &args.cluster_selector {
        return cx.fail(
            line(c),
            &format!("{at}.clusterSelector"),
            "cluster selectors are not supported",
        );
    }
    let sels = [
        (SelKind::Container, &args.container_selector),
        (SelKind::Service, &args.service_selector),
        (SelKind::Machine, &args.machine_selector),
        (SelKind::Namespace, &args.namespace_selector),
        (SelKind::Pod, &args.pod_selector),
        (SelKind::Process, &args.process_selector),
    ];
    let mut out = Vec::new();
    for (kind, s) in sels {
        let Some(s) = s else { continue };
        let field = format!("{at}.{}", kind.doc_name());
        if !selected {
            return cx.fail(
                line(s),
                &field,
                "default actions take no selector (put the item in spec.response.actions)",
            );
        }
        out.push(selector(cx, kind, s, &field)?);
    }
    Ok(out)
}

/// The nice value, written as a number or a string as Spyderbat does.
fn priority(
    cx: &Ctx<'_>,
    p: Option<&S<raw::Scalar>>,
    at: &str,
    item_line: u64,
) -> Result<i32, PolicyError> {
    let field = format!("{at}.priority");
    let Some(p) = p else {
        return cx.fail(
            item_line,
            &field,
            "agentReniceProcess needs a priority in -20..19",
        );
    };
    let (n, shown) = match &p.value {
        raw::Scalar::Int(n) => (Some(*n), n.to_string()),
        raw::Scalar::Text(s) => (s.trim().parse::<i64>().ok(), format!("{s:?}")),
    };
    match n
        .and_then(|n| i32::try_from(n).ok())
        .filter(|n| (-20..=19).contains(n))
    {
        Some(n) => Ok(n),
        None => cx.fail(
            line(p),
            &field,
            &format!("must be in -20..19 (got {shown})"),
        ),
    }
}

/// The responses for a deviation of `subject`: every enabled `actions`
/// item whose selectors hold, and each `default` item of a type no
/// selected item has (Spyderbat's rule: defaults run when no action of the
/// same type was taken).
#[must_use]
pub fn responses_for(
    policy: &super::WorkloadPolicy,
    subject: &dyn super::select::Subject,
) -> Vec<ResponseItem> {
    let chosen: Vec<ResponseItem> = policy
        .actions
        .iter()
        .filter(|r| super::select::all_match(&r.selectors, subject))
        .cloned()
        .collect();
    let defaults: Vec<ResponseItem> = policy
        .default
        .iter()
        .filter(|d| {
            !chosen
                .iter()
                .any(|c| c.action.doc_name() == d.action.doc_name())
        })
        .cloned()
        .collect();
    chosen
        .into_iter()
        .chain(defaults)
        .filter(|r| r.enabled)
        .collect()
}
