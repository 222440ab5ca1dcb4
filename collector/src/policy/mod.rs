//! Policies as `SpyderbatPolicy` YAML documents (`apiVersion: spyderbat/v1`,
//! `kind: SpyderbatPolicy`), one per file in perchd's policies directory.
//! Types: `trace` (trace suppression, [`trace`]) and the workload types
//! `container`, `linux-service` and `machine` ([`workload`]); the
//! document is parsed in two steps, the envelope then the spec of its
//! type.
//! Unknown fields are errors naming the field and the line.
use std::{fmt, fmt::Write as _, path::Path};

use serde::Deserialize;

pub mod access;
pub mod registry;
pub mod trace;
pub mod workload;

pub use trace::TracePolicy;
pub use workload::WorkloadPolicy;

/// The directory perchd reads and writes policies in besides `--policies`.
pub const SYSTEM_DIR: &str = "/etc/perch/policies.d";

/// One problem in a policy file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PolicyError {
    pub file: String,
    pub line: u64,
    pub field: String,
    pub message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} line {}: {}: {}",
            self.file, self.line, self.field, self.message
        )
    }
}

/// A policy of any type.
#[derive(Debug, Clone, PartialEq)]
pub enum Policy {
    Trace(TracePolicy),
    Workload(Box<WorkloadPolicy>),
}

impl Policy {
    #[must_use]
    pub fn name(&self) -> &str {
        match self {
            Self::Trace(p) => &p.name,
            Self::Workload(p) => &p.name,
        }
    }

    /// The document as YAML, for a file the user can read and edit;
    /// `comment` goes in `#` lines at the top.
    #[must_use]
    pub fn to_yaml(&self, comment: &str) -> String {
        match self {
            Self::Trace(p) => p.to_yaml(comment),
            Self::Workload(p) => p.to_yaml(comment),
        }
    }
}

/// The envelope every `SpyderbatPolicy` shares; `spec` is read per type.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Envelope {
    api_version: String,
    kind: String,
    metadata: Metadata,
    #[serde(rename = "spec")]
    _spec: serde::de::IgnoredAny,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Metadata {
    #[serde(rename = "type")]
    kind: String,
}

/// Parses one policy document; `file` names it in errors.
pub fn parse(file: &str, text: &str) -> Result<Policy, PolicyError> {
    let env: Envelope = serde_saphyr::from_str(text).map_err(|e| yaml_error(file, text, &e))?;
    let at = |key: &str| line_of(text, key);
    if env.api_version != "spyderbat/v1" {
        return Err(err(
            file,
            at("apiVersion"),
            "apiVersion",
            "must be spyderbat/v1",
        ));
    }
    if env.kind != "SpyderbatPolicy" {
        return Err(err(file, at("kind"), "kind", "must be SpyderbatPolicy"));
    }
    match env.metadata.kind.as_str() {
        "trace" => trace::parse(file, text).map(Policy::Trace),
        "container" | "linux-service" | "machine" => {
            workload::parse(file, text).map(|p| Policy::Workload(Box::new(p)))
        }
        other => Err(err(
            file,
            at("type"),
            "metadata.type",
            &format!(
                "{other:?} is not supported (allowed: container, linux-service, machine, trace)"
            ),
        )),
    }
}

/// Parses the file at `path`.
pub fn load(path: &Path) -> Result<Policy, PolicyError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| err(&name, 0, "file", &e.to_string()))?;
    parse(&name, &text)
}

/// Every `*.yaml` policy of `dir` in name order: the good ones, and an
/// error for each file refused (the others still load).
#[must_use]
pub fn load_dir(dir: &Path) -> (Vec<(std::path::PathBuf, Policy)>, Vec<PolicyError>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (Vec::new(), Vec::new()),
        Err(e) => {
            return (
                Vec::new(),
                vec![err(
                    &dir.display().to_string(),
                    0,
                    "directory",
                    &e.to_string(),
                )],
            );
        }
    };
    let mut files: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    let (mut good, mut bad) = (Vec::new(), Vec::new());
    for f in files {
        match load(&f) {
            Ok(p) => good.push((f, p)),
            Err(e) => bad.push(e),
        }
    }
    (good, bad)
}

/// Writes `policy` as `<dir>/<name>.yaml` (atomically: a temporary file
/// renamed over it), creating `dir`; returns the path.
pub fn write(dir: &Path, policy: &Policy, comment: &str) -> std::io::Result<std::path::PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("{}.yaml", policy.name()));
    let tmp = dir.join(format!(".{}.yaml.tmp", policy.name()));
    std::fs::write(&tmp, policy.to_yaml(comment))?;
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

pub(crate) fn err(file: &str, line: u64, field: &str, message: &str) -> PolicyError {
    PolicyError {
        file: file.to_owned(),
        line,
        field: field.to_owned(),
        message: message.to_owned(),
    }
}

/// A serde error as a policy error: the field an unknown-field message
/// names (else the key written on the line), and the line.
pub(crate) fn yaml_error(file: &str, text: &str, e: &serde_saphyr::Error) -> PolicyError {
    let line = e.location().map_or(0, |l| l.line());
    let msg = e.to_string();
    let first = msg
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let message = match first.split_once(": ") {
        Some((pos, m)) if pos.starts_with("line ") => m.to_owned(),
        _ => first.to_owned(),
    };
    let field = if msg.contains("unknown field")
        && let Some(f) = msg.split('`').nth(1)
    {
        f.to_owned()
    } else {
        usize::try_from(line)
            .ok()
            .and_then(|l| text.lines().nth(l.checked_sub(1)?))
            .and_then(|l| l.trim_start().trim_start_matches("- ").split_once(':'))
            .map_or_else(|| "document".to_owned(), |(k, _)| k.trim().to_owned())
    };
    PolicyError {
        file: file.to_owned(),
        line,
        field,
        message,
    }
}

/// The first line (1-based) whose key is `key`, 0 if none.
pub(crate) fn line_of(text: &str, key: &str) -> u64 {
    text.lines()
        .position(|l| {
            l.trim_start()
                .trim_start_matches("- ")
                .strip_prefix(key)
                .is_some_and(|r| r.trim_start().starts_with(':'))
        })
        .map_or(0, |i| u64::try_from(i + 1).unwrap_or(0))
}

/// `*` matches any run of characters, `?` one; the rest is literal.
/// Policies run it on every exec against every selector: ASCII (the usual
/// case) is matched on the bytes in place, without copying.
#[must_use]
pub fn glob(pattern: &str, value: &str) -> bool {
    if pattern.is_ascii() && value.is_ascii() {
        return glob_in(pattern.as_bytes(), value.as_bytes());
    }
    let (p, v): (Vec<char>, Vec<char>) = (pattern.chars().collect(), value.chars().collect());
    glob_in(&p, &v)
}

fn glob_in<T: Copy + PartialEq + From<u8>>(p: &[T], v: &[T]) -> bool {
    let (star_c, any_c) = (T::from(b'*'), T::from(b'?'));
    let (mut pi, mut vi) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while vi < v.len() {
        match p.get(pi) {
            Some(c) if *c == star_c => {
                star = Some(pi);
                mark = vi;
                pi += 1;
            }
            Some(c) if *c == any_c || *c == v[vi] => {
                pi += 1;
                vi += 1;
            }
            _ => match star {
                Some(s) => {
                    pi = s + 1;
                    mark += 1;
                    vi = mark;
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == star_c)
}

/// A YAML double-quoted scalar (round-trips any string).
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests;
