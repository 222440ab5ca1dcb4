//! The `/` search: fuzzy (skim's algorithm, from fuzzy-matcher) over each
//! row's lowercase haystack (command line, exe, user, container, pid).
//!
//! A keystroke must stay well under a frame at 100k processes, so:
//! membership is a byte-level subsequence test over the precomputed
//! haystack (exactly the set skim accepts, at a fraction of the cost of
//! scoring); when the query only grew, only the previous matches are
//! re-tested; and skim's scoring with positions runs only for the rows on
//! screen, to highlight them.
use fuzzy_matcher::{FuzzyMatcher as _, skim::SkimMatcherV2};

use super::model::{RowId, Store};

/// The current search and the rows it matches.
pub struct Search {
    /// As typed.
    pub query: String,
    /// Lowercase, what is matched.
    needle: String,
    /// Matching row ids, ascending.
    matches: Vec<RowId>,
    /// `matches` as a bitmap over the slab, for O(1) membership.
    is_match: Vec<bool>,
    /// The store generation `matches` was computed at.
    generation: u64,
    matcher: SkimMatcherV2,
}

impl Default for Search {
    fn default() -> Self {
        Search {
            query: String::new(),
            needle: String::new(),
            matches: Vec::new(),
            is_match: Vec::new(),
            generation: 0,
            // Haystack and needle are both lowercase already.
            matcher: SkimMatcherV2::default().respect_case(),
        }
    }
}

impl std::fmt::Debug for Search {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Search")
            .field("query", &self.query)
            .field("matches", &self.matches.len())
            .finish_non_exhaustive()
    }
}

/// True when `needle`'s chars appear in order in `hay` (both lowercase).
#[must_use]
pub fn is_subsequence(hay: &str, needle: &str) -> bool {
    if needle.is_ascii() {
        let mut rest = hay.as_bytes();
        for &b in needle.as_bytes() {
            match rest.iter().position(|&h| h == b) {
                Some(i) => rest = &rest[i + 1..],
                None => return false,
            }
        }
        true
    } else {
        let mut hay = hay.chars();
        needle.chars().all(|n| hay.any(|h| h == n))
    }
}

impl Search {
    #[must_use]
    pub fn is_active(&self) -> bool {
        !self.query.is_empty()
    }

    pub fn clear(&mut self) {
        self.query.clear();
        self.needle.clear();
        self.matches.clear();
        self.is_match.clear();
    }

    /// Sets the query and recomputes the matches over `store` (generation
    /// `generation`): incrementally when the query only grew since the last
    /// computation at the same generation.
    pub fn set_query(&mut self, query: &str, store: &Store, generation: u64) {
        let needle: String = query
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_lowercase().next().unwrap_or(c))
            .collect();
        let narrowing = generation == self.generation
            && !self.needle.is_empty()
            && needle.starts_with(self.needle.as_str());
        query.clone_into(&mut self.query);
        self.needle = needle;
        self.generation = generation;
        if self.needle.is_empty() {
            self.matches.clear();
            self.is_match.clear();
            return;
        }
        if narrowing {
            let needle = self.needle.as_str();
            let is_match = &mut self.is_match;
            self.matches.retain(|&id| {
                let keep = store
                    .get(id)
                    .is_some_and(|p| is_subsequence(p.haystack(), needle));
                if !keep && let Some(m) = is_match.get_mut(id as usize) {
                    *m = false;
                }
                keep
            });
        } else {
            self.rescan(store);
        }
    }

    /// Recomputes from scratch (after the rows changed).
    pub fn refresh(&mut self, store: &Store, generation: u64) {
        self.generation = generation;
        if !self.needle.is_empty() {
            self.rescan(store);
        }
    }

    fn rescan(&mut self, store: &Store) {
        self.matches.clear();
        self.is_match.clear();
        self.is_match.resize(store.capacity(), false);
        for (id, p) in store.iter() {
            if is_subsequence(p.haystack(), &self.needle) {
                self.matches.push(id);
                if let Some(m) = self.is_match.get_mut(id as usize) {
                    *m = true;
                }
            }
        }
    }

    #[must_use]
    pub fn is_match(&self, id: RowId) -> bool {
        self.is_match.get(id as usize).copied().unwrap_or(false)
    }

    /// Whether `haystack` holds the query as one contiguous run: such rows
    /// are what a user typing a whole name means, and are preferred when
    /// the selection jumps (a long argv matches almost any subsequence).
    #[must_use]
    pub fn is_exact(&self, haystack: &str) -> bool {
        !self.needle.is_empty() && haystack.contains(self.needle.as_str())
    }

    #[must_use]
    pub fn match_count(&self) -> usize {
        self.matches.len()
    }

    /// Char positions of the match in `haystack` below `limit` (the command's
    /// length), for highlighting; skim picks the best alignment.
    #[must_use]
    pub fn positions(&self, haystack: &str, limit: usize) -> Vec<usize> {
        if self.needle.is_empty() {
            return Vec::new();
        }
        self.matcher
            .fuzzy_indices(haystack, &self.needle)
            .map(|(_, idx)| idx.into_iter().filter(|&i| i < limit).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use perch_proto::v1;

    use super::*;
    use crate::console::model::{HostId, Proc};

    fn store(cmds: &[&str]) -> Store {
        let mut s = Store::default();
        for (i, c) in cmds.iter().enumerate() {
            let p = v1::Process {
                key: Some(v1::ProcessKey {
                    pid: u32::try_from(i).unwrap() + 100,
                    start_time_ns: 0,
                }),
                user: "root".to_owned(),
                argv: c.split(' ').map(ToOwned::to_owned).collect(),
                ..v1::Process::default()
            };
            s.upsert(Proc::from_proto(HostId(0), &p));
        }
        s
    }

    #[test]
    fn subsequence() {
        assert!(is_subsequence("nginx: worker", "ngwk"));
        assert!(!is_subsequence("nginx", "xn"));
        assert!(is_subsequence("äbc", "äc"));
        assert!(!is_subsequence("abc", "ä"));
        assert!(is_subsequence("", ""));
    }

    #[test]
    fn narrows_and_widens() {
        let s = store(&["nginx -g daemon", "sshd -D", "Nginx worker", "bash"]);
        let mut search = Search::default();
        search.set_query("n", &s, 1);
        assert_eq!(search.match_count(), 2);
        search.set_query("NGX", &s, 1);
        assert_eq!(search.match_count(), 2);
        assert!(search.is_match(0) && search.is_match(2) && !search.is_match(1));
        // Backspace widens: a full rescan.
        search.set_query("sh", &s, 1);
        assert_eq!(search.match_count(), 2);
        // Pids are searchable.
        search.set_query("103", &s, 1);
        assert_eq!(search.match_count(), 1);
        assert!(search.is_match(3));
        search.clear();
        assert!(!search.is_active() && !search.is_match(3));
    }

    #[test]
    fn agrees_with_skim_and_highlights_the_command_only() {
        let s = store(&["nginx -g daemon", "sshd -D"]);
        let mut search = Search::default();
        for q in ["ngd", "d", "sd-", "xyz", "root", "ng d"] {
            search.set_query(q, &s, 2);
            for (id, p) in s.iter() {
                let skim = SkimMatcherV2::default()
                    .respect_case()
                    .fuzzy_match(p.haystack(), &search.needle)
                    .is_some();
                assert_eq!(search.is_match(id), skim, "{q} on {}", p.command);
            }
        }
        search.set_query("ngd", &s, 2);
        let p = s.get(0).unwrap();
        let pos = search.positions(p.haystack(), p.command.chars().count());
        assert_eq!(pos.len(), 3);
        search.set_query("root", &s, 2);
        assert!(
            search
                .positions(p.haystack(), p.command.chars().count())
                .is_empty()
        );
    }
}
