//! Selectors (`containerSelector`, `serviceSelector`, `machineSelector`,
//! `namespaceSelector`, `podSelector`, `processSelector`) with Spyderbat's
//! semantics: every field, label and expression must hold (AND); values
//! are globs; `In` on a missing key is false, `NotIn` on a missing key
//! true, `Exists` / `DoesNotExist` test presence.
use std::borrow::Cow;

use super::super::glob;

/// Which selector: decides the field names it takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SelKind {
    Container,
    Service,
    Machine,
    Namespace,
    Pod,
    Process,
}

impl SelKind {
    #[must_use]
    pub fn doc_name(self) -> &'static str {
        match self {
            Self::Container => "containerSelector",
            Self::Service => "serviceSelector",
            Self::Machine => "machineSelector",
            Self::Namespace => "namespaceSelector",
            Self::Pod => "podSelector",
            Self::Process => "processSelector",
        }
    }

    /// The `matchFields` keys (and shorthand fields) this selector takes.
    #[must_use]
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            Self::Container => &["image", "imageID", "containerName", "containerID"],
            Self::Service => &["cgroup", "name"],
            Self::Machine => &["hostname", "sourceName", "uid", "machineUID"],
            Self::Namespace | Self::Pod => &[],
            Self::Process => &["name", "exe", "euser"],
        }
    }

    /// Whether it takes `matchLabels` / `matchExpressions` (Kubernetes
    /// objects have labels; the others have fields).
    #[must_use]
    pub fn has_labels(self) -> bool {
        matches!(self, Self::Namespace | Self::Pod)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

impl Op {
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "In" => Self::In,
            "NotIn" => Self::NotIn,
            "Exists" => Self::Exists,
            "DoesNotExist" => Self::DoesNotExist,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expr {
    pub key: String,
    pub op: Op,
    pub values: Vec<String>,
}

impl Expr {
    fn holds(&self, value: Option<&str>) -> bool {
        let any = |v: &str| self.values.iter().any(|g| glob(g, v));
        match (self.op, value) {
            (Op::In, Some(v)) => any(v),
            (Op::NotIn, Some(v)) => !any(v),
            (Op::In | Op::Exists, None) | (Op::DoesNotExist, Some(_)) => false,
            (Op::NotIn | Op::DoesNotExist, None) | (Op::Exists, Some(_)) => true,
        }
    }
}

/// One selector, compiled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selector {
    pub kind: SelKind,
    /// Field (or label) and the globs one of which its value must match.
    pub equal: Vec<(String, Vec<String>)>,
    pub exprs: Vec<Expr>,
}

/// What a selector is asked about: the facts of a process and the
/// workload it runs in.
pub trait Subject {
    /// The value of `field` of the object `kind` selects (the container's
    /// image, the service's cgroup, the machine's hostname, a namespace or
    /// pod label), `None` when it has none.
    fn value(&self, kind: SelKind, field: &str) -> Option<Cow<'_, str>>;
}

impl Selector {
    #[must_use]
    pub fn matches(&self, s: &dyn Subject) -> bool {
        self.equal.iter().all(|(k, globs)| {
            s.value(self.kind, k)
                .is_some_and(|v| globs.iter().any(|g| glob(g, &v)))
        }) && self
            .exprs
            .iter()
            .all(|e| e.holds(s.value(self.kind, &e.key).as_deref()))
    }
}

/// Every selector holds (an empty list selects everything).
#[must_use]
pub fn all_match(selectors: &[Selector], s: &dyn Subject) -> bool {
    selectors.iter().all(|sel| sel.matches(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Facts(Vec<(&'static str, &'static str)>);
    impl Subject for Facts {
        fn value(&self, _: SelKind, field: &str) -> Option<Cow<'_, str>> {
            self.0
                .iter()
                .find(|(k, _)| *k == field)
                .map(|(_, v)| Cow::Borrowed(*v))
        }
    }

    fn expr(key: &str, op: Op, values: &[&str]) -> Selector {
        Selector {
            kind: SelKind::Pod,
            equal: vec![],
            exprs: vec![Expr {
                key: key.into(),
                op,
                values: values.iter().map(|v| (*v).to_owned()).collect(),
            }],
        }
    }

    #[test]
    fn missing_keys_follow_spyderbat() {
        let none = Facts(vec![]);
        let prod = Facts(vec![("env", "prod")]);
        assert!(!expr("env", Op::In, &["prod"]).matches(&none));
        assert!(expr("env", Op::In, &["pr*"]).matches(&prod));
        assert!(expr("env", Op::NotIn, &["prod"]).matches(&none));
        assert!(!expr("env", Op::NotIn, &["prod"]).matches(&prod));
        assert!(expr("env", Op::Exists, &[]).matches(&prod));
        assert!(!expr("env", Op::Exists, &[]).matches(&none));
        assert!(expr("env", Op::DoesNotExist, &[]).matches(&none));
        assert!(!expr("env", Op::DoesNotExist, &[]).matches(&prod));
    }

    #[test]
    fn fields_and_expressions_all_hold() {
        let s = Facts(vec![
            ("image", "docker.io/library/nginx:1.27"),
            ("env", "dev"),
        ]);
        let mut sel = expr("env", Op::In, &["dev"]);
        sel.equal = vec![("image".into(), vec!["docker.io/library/nginx:*".into()])];
        assert!(sel.matches(&s));
        sel.equal = vec![("image".into(), vec!["*redis*".into()])];
        assert!(!sel.matches(&s));
        sel.equal = vec![("containerName".into(), vec!["*".into()])];
        assert!(!sel.matches(&s), "a field the object lacks never matches");
    }
}
