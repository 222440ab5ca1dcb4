//! Detection rules as data: the YAML format, its validation and how rule
//! files add to, override and disable the built-in set.
//!
//! A file holds `lists:` (named string lists, visible to conditions as
//! `lists.NAME`) and `rules:`.  A rule whose id is new must give every
//! required field; a rule whose id exists overrides only the fields it
//! gives (so `{id: x, enabled: false}` disables x).  Every error names the
//! file, the line, the rule and the field.
use std::{
    collections::BTreeMap,
    fmt,
    path::{Path, PathBuf},
    sync::Arc,
};

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::template::Template;

mod merge;
mod on;
use merge::{build, clone_rule};
pub use on::On;
use on::OnDoc;

/// `red`: a security concern; `ops`: an operations problem.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Red,
    Ops,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

/// Where a rule applies: containers only, the host only, or both.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    #[default]
    Any,
    Container,
    Host,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Mitre {
    pub technique: String,
    pub tactic: String,
    #[serde(default)]
    pub technique_name: String,
    #[serde(default)]
    pub tactic_name: String,
}

/// When a matched rule is excepted: every criterion given must hold (any
/// entry of a list may match).  `*` in an entry matches any run of
/// characters.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Exception {
    pub reason: String,
    /// The executable's path (`exe.path`, the file actually mapped).
    #[serde(default)]
    pub exe: Vec<String>,
    /// Ancestor names: `cargo` (any ancestor), or a chain nearest first,
    /// `sh/make` (an `sh` whose parent is `make`).
    #[serde(default)]
    pub ancestors: Vec<String>,
    /// The exact command line (argv joined by single spaces).
    #[serde(default)]
    pub cmdline: Vec<String>,
    /// Container ids (prefixes); `*`: any container.
    #[serde(default)]
    pub container: Vec<String>,
    /// Effective user names (or numeric uids).
    #[serde(default)]
    pub user: Vec<String>,
}

/// A rule ready to evaluate.
#[derive(Debug)]
pub struct Rule {
    pub id: String,
    pub short_name: String,
    pub kind: Kind,
    pub severity: Severity,
    pub class: Vec<String>,
    pub mitre: Vec<Mitre>,
    pub description: Template,
    pub impact: String,
    pub content: String,
    pub condition: String,
    pub program: Arc<cel::Program>,
    pub exceptions: Vec<Exception>,
    pub scope: Scope,
    /// The kinds of event it applies to (`exec` unless the file says).
    pub on: Vec<On>,
    pub enabled: bool,
    /// "builtin" or the file that defined or last changed it.
    pub source: String,
}

/// Every rule and list, in definition order.
#[derive(Debug, Default)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    pub lists: BTreeMap<String, Vec<String>>,
}

/// One problem in a rule file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct RuleError {
    pub file: String,
    pub line: u64,
    /// The rule's id when known.
    pub rule: Option<String>,
    pub field: String,
    pub message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} line {}: ", self.file, self.line)?;
        if let Some(r) = &self.rule {
            write!(f, "rule {r}: ")?;
        }
        write!(f, "{}: {}", self.field, self.message)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDoc {
    #[serde(default)]
    lists: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    rules: Vec<RuleDoc>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleDoc {
    id: Spanned<String>,
    enabled: Option<bool>,
    short_name: Option<Spanned<String>>,
    kind: Option<Kind>,
    severity: Option<Severity>,
    class: Option<Vec<String>>,
    mitre: Option<Vec<Mitre>>,
    description: Option<Spanned<String>>,
    impact: Option<String>,
    content: Option<String>,
    condition: Option<Spanned<String>>,
    exceptions: Option<Vec<Exception>>,
    scope: Option<Scope>,
    on: Option<Spanned<OnDoc>>,
}

/// The built-in rules, compiled into perchd.
pub const BUILTIN: &[(&str, &str)] = &[(
    "builtin:default.yaml",
    include_str!("../../rules/default.yaml"),
)];

/// The directory perchd reads rule files from besides `--rules`.
pub const SYSTEM_DIR: &str = "/etc/perch/rules.d";

/// Longest condition accepted (bytes): conditions run on every exec.
pub const MAX_CONDITION: usize = 4096;

impl RuleSet {
    /// The built-in rules alone.
    pub fn builtin() -> Result<Self, Vec<RuleError>> {
        let mut set = Self::default();
        for (name, text) in BUILTIN {
            set.add_str(name, text)?;
        }
        Ok(set)
    }

    /// The built-in rules, then every `*.yaml` file of each directory (in
    /// name order); a directory that does not exist is skipped.
    pub fn load(dirs: &[PathBuf]) -> Result<Self, Vec<RuleError>> {
        let mut set = Self::builtin()?;
        for dir in dirs {
            for file in yaml_files(dir)? {
                set.add_file(&file)?;
            }
        }
        Ok(set)
    }

    pub fn add_file(&mut self, path: &Path) -> Result<(), Vec<RuleError>> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            vec![RuleError {
                file: name.clone(),
                line: 0,
                rule: None,
                field: "file".into(),
                message: e.to_string(),
            }]
        })?;
        self.add_str(&name, &text)
    }

    /// Adds (or applies as overrides) the rules of one file's text; on
    /// error the set is unchanged and every problem found is returned.
    pub fn add_str(&mut self, file: &str, text: &str) -> Result<(), Vec<RuleError>> {
        let doc: FileDoc = serde_saphyr::from_str(text).map_err(|e| {
            let line = e.location().map_or(0, |l| l.line());
            vec![RuleError {
                file: file.to_owned(),
                line,
                rule: rule_at(text, line),
                field: field_of(&e.to_string(), text, line),
                message: message_of(&e.to_string()),
            }]
        })?;
        let mut errors = Vec::new();
        let mut lists = self.lists.clone();
        for (name, items) in doc.lists {
            if !is_ident(&name) {
                errors.push(err(
                    file,
                    0,
                    None,
                    "lists",
                    format!("{name:?} is not a name (letters, digits, _)"),
                ));
            }
            lists.insert(name, items);
        }
        let mut staged: Vec<Rule> = Vec::new();
        for r in doc.rules {
            let existing = self.rules.iter().position(|x| x.id == r.id.value);
            let staged_at = staged.iter().position(|x| x.id == r.id.value);
            let base = staged_at
                .map(|i| staged.remove(i))
                .or_else(|| existing.map(|i| clone_rule(&self.rules[i])));
            match build(file, r, base) {
                Ok(rule) => staged.push(rule),
                Err(e) => errors.extend(e),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        self.lists = lists;
        for rule in staged {
            match self.rules.iter_mut().find(|x| x.id == rule.id) {
                Some(slot) => *slot = rule,
                None => self.rules.push(rule),
            }
        }
        Ok(())
    }
}

fn yaml_files(dir: &Path) -> Result<Vec<PathBuf>, Vec<RuleError>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(vec![err(
                &dir.display().to_string(),
                0,
                None,
                "directory",
                e.to_string(),
            )]);
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    Ok(files)
}

fn err(file: &str, line: u64, rule: Option<&str>, field: &str, message: String) -> RuleError {
    RuleError {
        file: file.to_owned(),
        line,
        rule: rule.map(str::to_owned),
        field: field.to_owned(),
        message,
    }
}

fn is_ident(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn first_line(s: &str) -> String {
    s.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(s)
        .trim()
        .to_owned()
}

/// The field a serde message names in backticks (unknown field), else
/// the key written on the error's line, else "rule".
fn field_of(msg: &str, text: &str, line: u64) -> String {
    if msg.contains("unknown field")
        && let Some(f) = msg.split('`').nth(1)
    {
        return f.to_owned();
    }
    let at = usize::try_from(line)
        .ok()
        .and_then(|l| text.lines().nth(l.checked_sub(1)?));
    at.and_then(|l| l.trim_start().trim_start_matches("- ").split_once(':'))
        .map(|(k, _)| k.trim())
        .filter(|k| is_ident(k))
        .map_or_else(|| "rule".to_owned(), str::to_owned)
}

/// The serde message without its "error: line L column C:" preamble.
fn message_of(msg: &str) -> String {
    let first = first_line(msg);
    let rest = first.strip_prefix("error: ").unwrap_or(&first);
    match rest.split_once(": ") {
        Some((pos, m)) if pos.starts_with("line ") => m.to_owned(),
        _ => rest.to_owned(),
    }
}

/// The id of the rule whose text holds `line`: the last `id:` at or above it.
fn rule_at(text: &str, line: u64) -> Option<String> {
    let upto = usize::try_from(line).unwrap_or(usize::MAX);
    text.lines()
        .take(upto)
        .filter_map(|l| {
            let t = l.trim_start().trim_start_matches("- ").trim_start();
            t.strip_prefix("id:")
                .map(|v| v.trim().trim_matches(['"', '\'']).to_owned())
        })
        .last()
        .filter(|s| !s.is_empty())
}
