//! Which paths are watched: the rules of perchd.toml's `[watch]` section
//! (and their defaults), expanded into the table the kernel programs
//! consult, and the same check in user space for the paths the kernel
//! could not decide on (`.`/`..` components).
//!
//! A rule is one of:
//! - `/abs/prefix`: every path starting with these bytes (`/etc/cron`
//!   covers `/etc/crontab` and `/etc/cron.d/x`; end with `/` for a
//!   directory's contents only);
//! - `~/rel`: the same under every home directory, as `/etc/passwd` lists
//!   them when perchd starts (root's included; a user added later is
//!   covered after a restart);
//! - `*/name`: any path whose last component is exactly `name`, wherever
//!   it is (a cgroup's `release_agent` lives under any mount point).
//!
//! Three lists choose what is watched: `modify` (opened for writing,
//! renamed into or out of, unlinked, truncated, chmod'ed), `read` (opened
//! for reading: secrets) and `truncate` (truncation and unlinking only:
//! logs).
use std::{
    collections::{BTreeMap, HashMap},
    ops::Bound,
};

use perch_common::{
    PREFIX_MAX, WATCH_NAME_MAX,
    pathscan::{GATE_WORDS, dir_gate_bit, gate_set, name_gate_bit},
    watch,
};

/// One rule as configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rule {
    Prefix(String),
    /// Relative to each home directory (without the `~/`).
    Home(String),
    /// A last component.
    Name(String),
}

impl Rule {
    /// Parses and checks one entry; the error says what is wrong with it.
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.chars().any(char::is_control) {
            return Err(format!(
                "{s:?}: control characters are not allowed in a path"
            ));
        }
        if let Some(name) = s.strip_prefix("*/") {
            if name.is_empty() || name.contains('/') || name == "." || name == ".." {
                return Err(format!(
                    "{s:?}: */NAME takes one file name (no /, not . or ..)"
                ));
            }
            if name.len() >= WATCH_NAME_MAX {
                return Err(format!(
                    "{s:?}: a name is at most {} bytes",
                    WATCH_NAME_MAX - 1
                ));
            }
            return Ok(Self::Name(name.to_owned()));
        }
        let (rule, body) = if let Some(rel) = s.strip_prefix("~/") {
            (Self::Home(rel.to_owned()), rel)
        } else if let Some(rest) = s.strip_prefix('/') {
            (Self::Prefix(s.to_owned()), rest)
        } else {
            return Err(format!(
                "{s:?} must start with / (a path prefix), ~/ (under every home directory) \
                 or */ (a file name anywhere)"
            ));
        };
        if body.is_empty() && matches!(rule, Self::Home(_)) {
            return Err(format!("{s:?}: name something under the home directory"));
        }
        // Components as the kernel names them: no empty, `.` or `..` ones
        // (a trailing `/` is fine: a directory's contents).
        let inner = body.strip_suffix('/').unwrap_or(body);
        if !inner.is_empty()
            && inner
                .split('/')
                .any(|c| c.is_empty() || c == "." || c == "..")
        {
            return Err(format!(
                "{s:?}: no empty, . or .. components (the kernel compares canonical paths)"
            ));
        }
        if s.len() > PREFIX_MAX {
            return Err(format!("{s:?}: a prefix is at most {PREFIX_MAX} bytes"));
        }
        Ok(rule)
    }
}

/// The three lists of `[watch]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchConfig {
    pub modify: Vec<Rule>,
    pub read: Vec<Rule>,
    pub truncate: Vec<Rule>,
}

/// Persistence, privilege and container-escape paths (see
/// ../shared/notes/detections.md, sections 12, 14 to 16).
pub const DEFAULT_MODIFY: &[&str] = &[
    "/etc/cron",
    "/etc/anacrontab",
    "/var/spool/cron/",
    "/etc/systemd/",
    "/usr/lib/systemd/system/",
    "/lib/systemd/system/",
    "/etc/init.d/",
    "/etc/rc.local",
    "~/.config/systemd/user/",
    "/etc/sudoers",
    "/etc/ld.so.preload",
    "/etc/profile",
    "/etc/bash.bashrc",
    "/etc/environment",
    "~/.bashrc",
    "~/.bash_profile",
    "~/.bash_login",
    "~/.bash_logout",
    "~/.profile",
    "~/.zshrc",
    "~/.zprofile",
    "~/.ssh/authorized_keys",
    "/etc/passwd",
    "/etc/group",
    "/etc/shadow",
    "/etc/gshadow",
    "*/release_agent",
    "*/notify_on_release",
    "/proc/sys/kernel/core_pattern",
];
/// Secrets whose reading is reported.
pub const DEFAULT_READ: &[&str] = &["/etc/shadow", "/etc/gshadow", "/etc/sudoers", "~/.ssh/id_"];
/// Logs: their truncation and removal is reported, not every write.
pub const DEFAULT_TRUNCATE: &[&str] = &["/var/log/"];

impl Default for WatchConfig {
    fn default() -> Self {
        let rules = |list: &[&str]| {
            list.iter()
                .filter_map(|s| Rule::parse(s).ok())
                .collect::<Vec<_>>()
        };
        Self {
            modify: rules(DEFAULT_MODIFY),
            read: rules(DEFAULT_READ),
            truncate: rules(DEFAULT_TRUNCATE),
        }
    }
}

/// The rules expanded for this host: prefixes (each with the bits of
/// every shorter prefix of it, so the longest match tells all) and names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WatchSet {
    prefixes: BTreeMap<String, u32>,
    names: HashMap<String, u32>,
}

impl WatchSet {
    /// Expands `config` with these home directories.
    #[must_use]
    pub fn new(config: &WatchConfig, homes: &[String]) -> Self {
        let mut raw: BTreeMap<String, u32> = BTreeMap::new();
        let mut names: HashMap<String, u32> = HashMap::new();
        for (list, bits) in [
            (&config.modify, watch::MODIFY),
            (&config.read, watch::READ),
            (&config.truncate, watch::TRUNCATE | watch::UNLINK),
        ] {
            for rule in list {
                match rule {
                    Rule::Prefix(p) => *raw.entry(p.clone()).or_default() |= bits,
                    Rule::Name(n) => *names.entry(n.clone()).or_default() |= bits,
                    Rule::Home(rel) => {
                        for home in homes {
                            let p = format!("{}/{rel}", home.trim_end_matches('/'));
                            if p.len() <= PREFIX_MAX {
                                *raw.entry(p).or_default() |= bits;
                            } else {
                                tracing::warn!(
                                    "watch: {p} is longer than {PREFIX_MAX} bytes, left out"
                                );
                            }
                        }
                    }
                }
            }
        }
        let prefixes = raw
            .keys()
            .map(|p| {
                let bits = raw
                    .iter()
                    .filter(|(q, _)| p.starts_with(q.as_str()))
                    .fold(0, |acc, (_, b)| acc | b);
                (p.clone(), bits)
            })
            .collect();
        Self { prefixes, names }
    }

    /// Prefixes and their bits, for the kernel's LPM trie.
    pub fn prefixes(&self) -> impl Iterator<Item = (&str, u32)> {
        self.prefixes.iter().map(|(p, b)| (p.as_str(), *b))
    }

    /// Names and their bits, for the kernel's name map.
    pub fn names(&self) -> impl Iterator<Item = (&str, u32)> {
        self.names.iter().map(|(n, b)| (n.as_str(), *b))
    }

    /// Whether any rule watches reads (the kernel skips read-only opens
    /// otherwise).
    #[must_use]
    pub fn has_reads(&self) -> bool {
        self.prefixes
            .values()
            .chain(self.names.values())
            .any(|b| b & watch::READ != 0)
    }

    /// The open filter's gates: the bits of the prefixes' first
    /// components (all of them when a prefix ends inside its first
    /// component, as `/et` would) and of the names.
    #[must_use]
    pub fn gates(&self) -> ([u64; GATE_WORDS], [u64; GATE_WORDS]) {
        let mut dirs = [0; GATE_WORDS];
        for p in self.prefixes.keys() {
            match dir_gate_bit(p.as_bytes()) {
                Some(bit) => gate_set(&mut dirs, bit),
                None => dirs = [u64::MAX; GATE_WORDS],
            }
        }
        let mut names = [0; GATE_WORDS];
        for n in self.names.keys() {
            gate_set(&mut names, name_gate_bit(n.as_bytes()));
        }
        (dirs, names)
    }

    /// The bits `path` (absolute, canonical) is watched for: as the kernel
    /// computes them.
    #[must_use]
    pub fn mask(&self, path: &str) -> u32 {
        let prefix = self
            .prefixes
            .range::<str, _>((Bound::Unbounded, Bound::Included(path)))
            .rev()
            .find(|(p, _)| path.starts_with(p.as_str()))
            .map_or(0, |(_, b)| *b);
        let name = path.rsplit('/').next().unwrap_or_default();
        prefix | self.names.get(name).copied().unwrap_or(0)
    }
}

/// `path` with `.` and empty components dropped and `..` applied (as the
/// kernel would, were there no symlinks); stays absolute.
#[must_use]
pub fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Home directories from `passwd` (its text): absolute, not `/`, and a
/// directory here.
#[must_use]
pub fn homes_in(passwd: &str, exists: impl Fn(&str) -> bool) -> Vec<String> {
    let mut homes: Vec<String> = passwd
        .lines()
        .filter_map(|l| l.split(':').nth(5))
        .map(|h| h.trim_end_matches('/').to_owned())
        .filter(|h| h.starts_with('/') && h.len() > 1 && exists(h))
        .collect();
    homes.sort();
    homes.dedup();
    homes
}

/// This host's home directories (`/etc/passwd`); none if it is unreadable.
#[must_use]
pub fn system_homes() -> Vec<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_else(|e| {
        tracing::warn!("watch: /etc/passwd: {e}; ~/ rules cover no home directory");
        String::new()
    });
    homes_in(&passwd, |h| std::path::Path::new(h).is_dir())
}

#[cfg(test)]
#[path = "watch_tests.rs"]
mod tests;
