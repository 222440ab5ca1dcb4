//! What the sample pass reads into the model once a second: usage,
//! state letters, frozen cgroups, current working directories, deleted
//! executables — and which processes it should read (live, multi-threaded).
use std::collections::{HashMap, HashSet};

use super::{ExecFacts, ProcKey, ProcessInfo, ProcessModel, Usage};

impl ProcessModel {
    /// Applies resource samples to the live processes they name.
    pub fn apply_usage(&mut self, samples: &[(ProcKey, Usage, u32)]) {
        for (key, usage, threads) in samples {
            if let Some(p) = self.get_key_mut(key) {
                p.usage = *usage;
                p.threads = *threads;
                p.nice = usage.nice;
            }
        }
    }

    /// Applies sampled state letters; returns the keys whose state changed.
    pub fn set_states(&mut self, states: &[(ProcKey, u8)]) -> Vec<ProcKey> {
        let mut changed = Vec::new();
        for &(key, state) in states {
            if let Some(p) = self.get_key_mut(&key)
                && p.state != state
            {
                p.state = state;
                changed.push(p.key);
            }
        }
        changed
    }

    /// Marks live processes frozen whose cgroup path `frozen` says is;
    /// returns the keys whose flag changed.
    pub fn set_frozen(&mut self, frozen: impl Fn(&str) -> bool) -> Vec<ProcKey> {
        let mut changed = Vec::new();
        for p in self.live.values_mut() {
            let now = p.cgroup.as_deref().is_some_and(|cg| frozen(&cg.path));
            if p.frozen != now {
                p.frozen = now;
                changed.push(p.key);
            }
        }
        changed
    }

    /// The cgroup paths of live processes, each once.
    #[must_use]
    pub fn cgroup_paths(&self) -> Vec<String> {
        let paths: HashSet<&str> = self
            .live
            .values()
            .filter_map(|p| p.cgroup.as_deref().map(|cg| cg.path.as_str()))
            .collect();
        paths.into_iter().map(str::to_owned).collect()
    }

    /// The live processes whose cwd should be re-read, clearing the set.
    pub fn take_cwd_stale(&mut self) -> Vec<ProcKey> {
        let stale = std::mem::take(&mut self.cwd_stale);
        stale
            .into_iter()
            .filter_map(|pid| self.live.get(&pid).map(|p| p.key))
            .collect()
    }

    /// Records a re-read cwd; returns the updated process when it changed.
    pub fn set_cwd(&mut self, key: &ProcKey, cwd: String) -> Option<ProcessInfo> {
        let p = self.get_key_mut(key)?;
        if p.cwd == cwd {
            return None;
        }
        p.cwd = cwd;
        Some(p.clone())
    }

    /// Live processes whose executable was present when last seen,
    /// grouped by that file (device and inode): a link count belongs to
    /// the file, so one look answers for every process running it.  A
    /// process whose inode is unknown (0) is a group of its own.
    #[must_use]
    pub fn exe_present_groups(&self) -> Vec<Vec<ProcKey>> {
        let mut by_file: HashMap<(u32, u32, u64), Vec<ProcKey>> = HashMap::new();
        let mut groups = Vec::new();
        for p in self.live.values() {
            let Some(exe) = p.facts.as_deref().map(|f| &f.exe) else {
                continue;
            };
            if exe.path.is_empty() || exe.nlink == 0 {
                continue;
            }
            if exe.ino == 0 {
                groups.push(vec![p.key]);
            } else {
                by_file
                    .entry((exe.dev_major, exe.dev_minor, exe.ino))
                    .or_default()
                    .push(p.key);
            }
        }
        groups.extend(by_file.into_values());
        groups
    }

    /// Records that the executable of `key` is now deleted (link count 0);
    /// returns the updated process.
    pub fn set_exe_deleted(&mut self, key: &ProcKey) -> Option<ProcessInfo> {
        let p = self.get_key_mut(key)?;
        let mut facts = ExecFacts::clone(p.facts.as_deref()?);
        if facts.exe.nlink == 0 {
            return None;
        }
        facts.exe.nlink = 0;
        p.facts = Some(std::sync::Arc::new(facts));
        Some(p.clone())
    }

    #[must_use]
    pub fn live_keys(&self) -> Vec<ProcKey> {
        self.live.values().map(|p| p.key).collect()
    }

    /// Live processes with more than one thread at their last sample.
    #[must_use]
    pub fn multi_threaded_keys(&self) -> Vec<ProcKey> {
        self.live
            .values()
            .filter(|p| p.threads > 1)
            .map(|p| p.key)
            .collect()
    }
}
