//! Workload policies in the console's state: each host's policies (from
//! `ListPolicies`, fetched when the Policies screen is shown and on `r`)
//! and the deviations the collectors published (`DeviationRaised`), the
//! latest sighting of each kept, newest first, bounded.
use std::collections::HashMap;

use perch_proto::v1::{Deviation, PolicySummary};

use super::model::HostId;

/// Deviations kept at most (the oldest go first).
pub const MAX_DEVIATIONS: usize = 2000;

#[derive(Debug, Default)]
pub struct PolicyStore {
    policies: Vec<(HostId, PolicySummary)>,
    /// Why a host's policies could not be listed.
    errors: HashMap<HostId, String>,
    /// Latest sighting of each deviation, oldest first.
    deviations: Vec<(HostId, Deviation)>,
    generation: u64,
}

/// One row of the policies table.
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyRow {
    pub host: HostId,
    pub summary: PolicySummary,
    /// Distinct deviations seen in the last hour, and their sightings.
    pub deviations: usize,
    pub sightings: u64,
    /// The newest response: "agentKillProcess: success".
    pub last_response: String,
}

impl PolicyStore {
    #[must_use]
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// A `ListPolicies` answer (or its error) for `host`.
    pub fn snapshot(&mut self, host: HostId, answer: Result<Vec<PolicySummary>, String>) {
        self.policies.retain(|(h, _)| *h != host);
        match answer {
            Ok(list) => {
                self.errors.remove(&host);
                self.policies.extend(list.into_iter().map(|p| (host, p)));
            }
            Err(e) => {
                self.errors.insert(host, e);
            }
        }
        self.generation += 1;
    }

    /// The store as of a past instant of these hosts: their policies as
    /// listed now (the store keeps no versions of them), with the
    /// deviations as they stood then.
    #[must_use]
    pub fn as_of(&self, hosts: Vec<(HostId, Vec<Deviation>)>) -> PolicyStore {
        let policies = self
            .policies
            .iter()
            .filter(|(h, _)| hosts.iter().any(|(host, _)| h == host))
            .cloned()
            .collect();
        // Each store sends each deviation once, oldest sighting first:
        // kept as they come (the newest MAX_DEVIATIONS of each host).
        let deviations = hosts
            .into_iter()
            .flat_map(|(host, ds)| {
                let skip = ds.len().saturating_sub(MAX_DEVIATIONS);
                ds.into_iter().skip(skip).map(move |d| (host, d))
            })
            .collect();
        PolicyStore {
            policies,
            deviations,
            ..PolicyStore::default()
        }
    }

    /// A deviation seen (again): replaces the previous sighting.
    pub fn apply(&mut self, host: HostId, d: Deviation) {
        self.deviations
            .retain(|(h, old)| !(*h == host && old.id == d.id));
        self.deviations.push((host, d));
        if self.deviations.len() > MAX_DEVIATIONS {
            let extra = self.deviations.len() - MAX_DEVIATIONS;
            self.deviations.drain(..extra);
        }
        self.generation += 1;
    }

    #[must_use]
    pub fn errors(&self) -> Vec<(HostId, &str)> {
        let mut v: Vec<_> = self.errors.iter().map(|(h, e)| (*h, e.as_str())).collect();
        v.sort_by_key(|(h, _)| *h);
        v
    }

    /// The policies by host and name, with their deviations since
    /// `since_ns(host)` (`CLOCK_BOOTTIME` of that host: hosts booted at
    /// different times; 0: all).
    #[must_use]
    pub fn rows(&self, since_ns: impl Fn(HostId) -> u64) -> Vec<PolicyRow> {
        let mut rows: Vec<PolicyRow> = self
            .policies
            .iter()
            .map(|(host, p)| {
                let mine = self.of(*host, &p.name);
                let since_ns = since_ns(*host);
                let recent: Vec<&Deviation> = mine
                    .iter()
                    .copied()
                    .filter(|d| d.last_ns >= since_ns)
                    .collect();
                let last_response = mine
                    .iter()
                    .rev()
                    .find_map(|d| d.responses.last())
                    .map_or_else(String::new, |r| {
                        format!("{}: {}", r.action, outcome_word(r.outcome))
                    });
                PolicyRow {
                    host: *host,
                    summary: p.clone(),
                    deviations: recent.len(),
                    sightings: recent.iter().map(|d| d.count).sum(),
                    last_response,
                }
            })
            .collect();
        rows.sort_by(|a, b| (a.host, &a.summary.name).cmp(&(b.host, &b.summary.name)));
        rows
    }

    /// The deviations of `policy` on `host`, newest first.
    #[must_use]
    pub fn of(&self, host: HostId, policy: &str) -> Vec<&Deviation> {
        self.deviations
            .iter()
            .rev()
            .filter(|(h, d)| *h == host && d.policy == policy)
            .map(|(_, d)| d)
            .collect()
    }
}

/// A response's outcome in words.
#[must_use]
pub fn outcome_word(outcome: i32) -> &'static str {
    use perch_proto::v1::ResponseOutcome as O;
    match O::try_from(outcome).unwrap_or(O::Unspecified) {
        O::Success => "success",
        O::Partial => "partial",
        O::NotSuccessful => "not successful",
        O::Audit => "audit (not initiated)",
        O::DryRun => "dry run",
        O::Refused => "refused",
        O::Unspecified => "-",
    }
}
