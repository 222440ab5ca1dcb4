//! One action, one entry: a live action is two lines (its intent, then its
//! result, which repeats everything the intent says and names it by id),
//! and listings show the result alone.  An intent without a result is
//! shown with what is known of it: in progress (its writer is acting on
//! it now) or outcome unknown (the writer stopped before recording it).
use std::collections::{HashMap, HashSet, VecDeque};

use perch_proto::v1::{AuditRecord, AuditStage, IntentState};

use super::scan::Entry;

/// Pairs records read newest first (results come before their intents).
#[derive(Debug, Default)]
pub struct NewestFirst {
    /// Intents whose result has been seen.
    answered: HashSet<String>,
}

impl NewestFirst {
    /// Whether `r` is listed; an unanswered intent gets its
    /// `intent_state` from `in_progress`.
    pub fn keep(&mut self, r: &mut AuditRecord, in_progress: impl Fn(&str) -> bool) -> bool {
        match r.stage() {
            AuditStage::Result => {
                if !r.intent_id.is_empty() {
                    self.answered.insert(r.intent_id.clone());
                }
                true
            }
            AuditStage::Intent => {
                if self.answered.remove(&r.id) {
                    return false;
                }
                r.set_intent_state(if in_progress(&r.id) {
                    IntentState::InProgress
                } else {
                    IntentState::OutcomeUnknown
                });
                true
            }
            AuditStage::Unspecified => true,
        }
    }
}

/// Pairs records read oldest first, keeping the last `limit` entries that
/// pass a filter: an intent is dropped again when its result arrives.
/// Intents left at the end have no result in the log; a reader of the
/// file alone cannot tell a running action from a crashed one, so they
/// are marked outcome unknown.
#[derive(Debug)]
pub struct OldestFirst {
    limit: usize,
    /// Kept entries; `None` where an intent was dropped for its result.
    kept: VecDeque<Option<Entry>>,
    /// Index in `kept` of `kept[0]` since the start (entries are dropped
    /// from the front when over the limit).
    base: u64,
    shown: usize,
    /// Kept intents by id, with their index since the start.
    intents: HashMap<String, u64>,
}

impl OldestFirst {
    #[must_use]
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            kept: VecDeque::new(),
            base: 0,
            shown: 0,
            intents: HashMap::new(),
        }
    }

    /// The next entry of the log, and whether it passes the caller's filter.
    pub fn push(&mut self, entry: Entry, wanted: bool) {
        if entry.record.stage() == AuditStage::Result
            && let Some(at) = self.intents.remove(&entry.record.intent_id)
            && let Some(slot) = at
                .checked_sub(self.base)
                .and_then(|i| usize::try_from(i).ok())
                .and_then(|i| self.kept.get_mut(i))
            && slot.take().is_some()
        {
            self.shown -= 1;
        }
        if !wanted {
            return;
        }
        if entry.record.stage() == AuditStage::Intent {
            let at = self.base + self.kept.len() as u64;
            self.intents.insert(entry.record.id.clone(), at);
        }
        self.kept.push_back(Some(entry));
        self.shown += 1;
        while self.shown > self.limit {
            if let Some(Some(old)) = self.kept.pop_front() {
                self.shown -= 1;
                self.intents.remove(&old.record.id);
            }
            self.base += 1;
        }
    }

    /// The kept entries, oldest first.
    #[must_use]
    pub fn finish(self) -> Vec<Entry> {
        self.kept
            .into_iter()
            .flatten()
            .map(|mut e| {
                if e.record.stage() == AuditStage::Intent {
                    e.record.set_intent_state(IntentState::OutcomeUnknown);
                }
                e
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, stage: AuditStage, intent_id: &str) -> Entry {
        let mut record = AuditRecord {
            id: id.to_owned(),
            intent_id: intent_id.to_owned(),
            ..AuditRecord::default()
        };
        record.set_stage(stage);
        Entry {
            record,
            raw: String::new(),
            offset: 0,
        }
    }

    fn ids(entries: &[Entry]) -> Vec<&str> {
        entries.iter().map(|e| e.record.id.as_str()).collect()
    }

    #[test]
    fn oldest_first_shows_each_action_once() {
        let log = [
            entry("a", AuditStage::Unspecified, ""),
            entry("i1", AuditStage::Intent, ""),
            entry("i2", AuditStage::Intent, ""),
            entry("r2", AuditStage::Result, "i2"),
            entry("r1", AuditStage::Result, "i1"),
            entry("i3", AuditStage::Intent, ""),
        ];
        let mut all = OldestFirst::new(usize::MAX);
        for e in log.clone() {
            all.push(e, true);
        }
        let all = all.finish();
        assert_eq!(ids(&all), ["a", "r2", "r1", "i3"]);
        assert_eq!(all[3].record.intent_state(), IntentState::OutcomeUnknown);
        assert_eq!(all[1].record.intent_state(), IntentState::Unspecified);

        // The last two actions: the dropped intents do not count.
        let mut two = OldestFirst::new(2);
        for e in log.clone() {
            two.push(e, true);
        }
        assert_eq!(ids(&two.finish()), ["r1", "i3"]);
        // A result whose intent was filtered out, or cut by the limit.
        let mut one = OldestFirst::new(1);
        for e in log {
            let wanted = e.record.id != "i1";
            one.push(e, wanted);
        }
        assert_eq!(ids(&one.finish()), ["i3"]);
    }

    #[test]
    fn newest_first_folds_intents_into_their_results() {
        let mut pair = NewestFirst::default();
        let mut kept = Vec::new();
        for mut e in [
            entry("i3", AuditStage::Intent, ""),
            entry("r1", AuditStage::Result, "i1"),
            entry("i2", AuditStage::Intent, ""),
            entry("i1", AuditStage::Intent, ""),
        ] {
            if pair.keep(&mut e.record, |id| id == "i3") {
                kept.push(e);
            }
        }
        assert_eq!(ids(&kept), ["i3", "r1", "i2"]);
        assert_eq!(kept[0].record.intent_state(), IntentState::InProgress);
        assert_eq!(kept[2].record.intent_state(), IntentState::OutcomeUnknown);
    }
}
