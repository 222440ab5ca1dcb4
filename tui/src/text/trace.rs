//! A Spydertrace's process tree: the root down to every flagged process
//! (with the ancestors between), each flag on its process.  `perch trace
//! ID` prints it as text ([`text`]); the console's trace view draws the
//! same rows ([`rows`]) with its colours.
use std::{
    collections::{BTreeMap, HashSet},
    fmt::Write as _,
};

use perch_proto::{
    names,
    v1::{Flag, ProcessKey, Severity, Trace},
};

use super::clean;

/// One flag on its process: severity and the label (`[high reverse_shell x3]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub severity: Severity,
    pub text: String,
}

/// One process of the tree, in drawing order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeRow {
    /// 0 for the root.
    pub depth: usize,
    pub pid: u32,
    /// Its key when a flag named it (the root's comes from the trace).
    pub key: Option<ProcessKey>,
    /// Cleaned of control characters.
    pub name: String,
    pub labels: Vec<Label>,
}

/// A severity's short name (`high`).
#[must_use]
pub fn sev(raw: i32) -> String {
    names::short_of::<Severity>(raw).unwrap_or_else(|| raw.to_string())
}

#[derive(Default)]
struct Node {
    name: String,
    key: Option<ProcessKey>,
    children: Vec<u32>,
    labels: Vec<Label>,
}

/// The trace's tree: every flagged process under the root, with the
/// ancestors between them, depth first in the order the flags came.
#[must_use]
pub fn rows<'a>(trace: &Trace, flags: impl IntoIterator<Item = &'a Flag>) -> Vec<TreeRow> {
    let root = trace.root.map_or(0, |k| k.pid);
    let mut nodes: BTreeMap<u32, Node> = BTreeMap::new();
    {
        let n = nodes.entry(root).or_default();
        n.name.clone_from(&trace.root_proc_name);
        n.key = trace.root;
    }
    for f in flags {
        let pid = f.process.map_or(0, |k| k.pid);
        // Root first, down to the flagged process.
        let mut path: Vec<(u32, &str, Option<ProcessKey>)> = Vec::new();
        for (k, name) in f.ancestor_keys.iter().zip(&f.ancestors) {
            path.push((k.pid, name, Some(*k)));
            if k.pid == root {
                break;
            }
        }
        path.reverse();
        path.push((pid, &f.name, f.process));
        let start = path.iter().position(|(p, ..)| *p == root).unwrap_or(0);
        let path = &path[start..];
        for w in path.windows(2) {
            let parent = nodes.entry(w[0].0).or_default();
            if !parent.children.contains(&w[1].0) {
                parent.children.push(w[1].0);
            }
        }
        for (pid, name, key) in path {
            let n = nodes.entry(*pid).or_default();
            (*name).clone_into(&mut n.name);
            if key.is_some() {
                n.key = *key;
            }
        }
        let repeats = if f.repeat_count > 1 {
            format!(" x{}", f.repeat_count)
        } else {
            String::new()
        };
        nodes.entry(pid).or_default().labels.push(Label {
            severity: f.severity(),
            text: format!("[{} {}{repeats}]", sev(f.severity), clean(&f.short_name)),
        });
    }
    let mut out = Vec::new();
    let mut stack = vec![(root, 0usize)];
    let mut seen = HashSet::new();
    while let Some((pid, depth)) = stack.pop() {
        if !seen.insert(pid) {
            continue;
        }
        let Some(n) = nodes.remove(&pid) else {
            continue;
        };
        for c in n.children.iter().rev() {
            stack.push((*c, depth + 1));
        }
        out.push(TreeRow {
            depth,
            pid,
            key: n.key,
            name: clean(&n.name).into_owned(),
            labels: n.labels,
        });
    }
    out
}

/// The branch before a row's name (`   └─ ` at depth 2).
#[must_use]
pub fn indent(depth: usize) -> String {
    if depth == 0 {
        String::new()
    } else {
        format!("{}└─ ", "   ".repeat(depth - 1))
    }
}

/// The tree as text, one process a line: `bash (4242) [high reverse_shell]`.
#[must_use]
pub fn text(rows: &[TreeRow]) -> String {
    let mut out = String::new();
    for r in rows {
        out.push_str(&indent(r.depth));
        let _ = write!(out, "{} ({})", r.name, r.pid);
        for l in &r.labels {
            out.push(' ');
            out.push_str(&l.text);
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use perch_proto::v1::{Flag, ProcessKey, Trace};

    use super::{rows, text};

    fn key(pid: u32) -> ProcessKey {
        ProcessKey {
            pid,
            start_time_ns: u64::from(pid) * 1000,
        }
    }

    #[test]
    fn flags_hang_on_their_processes_under_the_root() {
        let trace = Trace {
            root: Some(key(10)),
            root_proc_name: "sshd".into(),
            ..Trace::default()
        };
        let f = |pid: u32, name: &str, short: &str, sev: i32, anc: &[(u32, &str)]| Flag {
            process: Some(key(pid)),
            name: name.into(),
            short_name: short.into(),
            severity: sev,
            repeat_count: 1,
            ancestors: anc.iter().map(|a| a.1.to_owned()).collect(),
            ancestor_keys: anc.iter().map(|a| key(a.0)).collect(),
            ..Flag::default()
        };
        let flags = [
            f(
                30,
                "bash",
                "reverse_shell",
                4,
                &[(20, "python3"), (10, "sshd"), (1, "init")],
            ),
            f(
                31,
                "nc",
                "netcat_listen",
                3,
                &[(20, "python3"), (10, "sshd")],
            ),
        ];
        let r = rows(&trace, &flags);
        assert_eq!(
            text(&r),
            "sshd (10)\n└─ python3 (20)\n   └─ bash (30) [high reverse_shell]\n   └─ nc (31) [medium netcat_listen]\n"
        );
        assert_eq!(r[2].key, Some(key(30)));
        assert_eq!(r[0].key, Some(key(10)));
    }
}
