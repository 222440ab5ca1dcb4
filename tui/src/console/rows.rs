//! The rows the process table shows, derived from the store: the process
//! tree in depth-first order (or a flat sorted list), after hiding kernel
//! threads, filtering and collapsing; with thread rows on (htop's `H`),
//! each process's threads right under it.
//!
//! Built from scratch on every change: linear passes over flat arrays plus
//! one sort, which stays within a few milliseconds at 100k processes and
//! avoids keeping an incremental tree consistent with pid reuse, reparenting
//! and cycles in hostile data.
use std::collections::HashSet;

use super::{
    columns::Sort,
    filter::Filter,
    model::{FxBuild, HostId, LiveByPid, ProcessKey, RowId, Store, Usage},
    threads::Threads,
};

const NONE: u32 = u32::MAX;

/// One line of the process list.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub id: RowId,
    /// Tree depth (0 in the flat table).
    pub depth: u16,
    /// Last of its parent's visible children (for the tree guides).
    pub last: bool,
    /// Index in [`RowList::rows`] of the visible parent, if any.
    pub parent: Option<u32>,
    /// Has children, shown or collapsed.
    pub has_children: bool,
    pub collapsed: bool,
    /// Summed usage of the subtree, on collapsed nodes only.
    pub subtree: Option<Box<Usage>>,
    /// A thread of the process `id` (its tid), not the process itself.
    pub thread: Option<u32>,
}

#[derive(Clone, Debug, Default)]
pub struct RowList {
    pub rows: Vec<Row>,
}

/// What to show.
pub struct Options<'a> {
    pub tree: bool,
    pub sort: Sort,
    pub hide_kernel: bool,
    /// Exited rows only as the ancestors of shown ones (in the tree).
    pub hide_exited: bool,
    pub collapsed: &'a HashSet<ProcessKey, FxBuild>,
    pub filter: Option<&'a Filter>,
    /// Host names by [`HostId`], for `host:` filters.
    pub host_names: &'a [String],
    /// Shown even when the filter rejects it (the followed process).
    pub force: Option<RowId>,
    /// Thread rows under each shown process (htop's `H`), when on.
    pub threads: Option<&'a Threads>,
}

fn host_name(names: &[String], h: HostId) -> &str {
    names.get(usize::from(h.0)).map_or("", String::as_str)
}

impl RowList {
    #[must_use]
    pub fn build(store: &Store, opt: &Options<'_>) -> RowList {
        let n = store.capacity();
        // Per slab id: shown at all (kernel threads hidden), matches the filter.
        let mut present = vec![false; n];
        let mut matched = vec![false; n];
        for (id, p) in store.iter() {
            let i = id as usize;
            present[i] = !(opt.hide_kernel && p.kernel_thread);
            matched[i] = present[i]
                && !(opt.hide_exited && p.is_exited() && opt.force != Some(id))
                && (opt.force == Some(id)
                    || opt
                        .filter
                        .is_none_or(|f| f.matches(p, host_name(opt.host_names, p.key.host))));
        }
        let by_cmp = |a: &RowId, b: &RowId| match (store.get(*a), store.get(*b)) {
            (Some(pa), Some(pb)) => opt.sort.compare(pa, pb),
            _ => a.cmp(b),
        };
        if !opt.tree {
            let mut ids: Vec<RowId> = store
                .iter()
                .filter(|(id, _)| matched[*id as usize])
                .map(|(id, _)| id)
                .collect();
            ids.sort_unstable_by(by_cmp);
            let rows = ids
                .into_iter()
                .map(|id| Row {
                    id,
                    depth: 0,
                    last: false,
                    parent: None,
                    has_children: false,
                    collapsed: false,
                    subtree: None,
                    thread: None,
                })
                .collect();
            return RowList { rows }.with_threads(store, opt.threads, false);
        }
        Self::tree(store, opt, &present, &matched, by_cmp).with_threads(store, opt.threads, true)
    }

    /// Each expanded process row followed by its threads (one level deeper
    /// in the tree, before its child processes).
    fn with_threads(self, store: &Store, threads: Option<&Threads>, tree: bool) -> RowList {
        let Some(threads) = threads.filter(|t| !t.is_empty()) else {
            return self;
        };
        let mut rows = Vec::with_capacity(self.rows.len());
        let mut moved = vec![NONE; self.rows.len()];
        for (old, r) in self.rows.into_iter().enumerate() {
            let own = store.get(r.id).map_or(&[][..], |p| threads.of(&p.key));
            let at = u32::try_from(rows.len()).unwrap_or(NONE);
            moved[old] = at;
            let (id, depth, collapsed) = (r.id, r.depth, r.collapsed);
            rows.push(Row {
                parent: r.parent.map(|p| moved[p as usize]),
                has_children: r.has_children || (tree && !own.is_empty()),
                ..r
            });
            if collapsed {
                continue;
            }
            rows.extend(own.iter().map(|t| Row {
                id,
                depth: if tree { depth.saturating_add(1) } else { 0 },
                last: false,
                parent: tree.then_some(at),
                has_children: false,
                collapsed: false,
                subtree: None,
                thread: Some(t.tid),
            }));
        }
        if tree {
            for r in &mut rows {
                r.last = false;
            }
            mark_last_children(&mut rows);
        }
        RowList { rows }
    }

    fn tree(
        store: &Store,
        opt: &Options<'_>,
        present: &[bool],
        matched: &[bool],
        by_cmp: impl Fn(&RowId, &RowId) -> std::cmp::Ordering,
    ) -> RowList {
        let n = present.len();
        let Forest {
            parent,
            start,
            mut kids,
            mut roots,
        } = Forest::new(store, present);
        for i in 0..n {
            kids[start[i] as usize..start[i + 1] as usize].sort_unstable_by(&by_cmp);
        }
        roots.sort_unstable_by(&by_cmp);

        // Depth-first preorder of everything present: (id, depth).
        let mut order: Vec<(RowId, u16)> = Vec::with_capacity(store.len());
        let mut visited = vec![false; n];
        let mut stack: Vec<(RowId, u16)> = Vec::new();
        let mut dfs = |root: RowId, order: &mut Vec<(RowId, u16)>, visited: &mut Vec<bool>| {
            stack.push((root, 0));
            while let Some((id, depth)) = stack.pop() {
                let i = id as usize;
                if visited[i] {
                    continue;
                }
                visited[i] = true;
                order.push((id, depth));
                let ks = &kids[start[i] as usize..start[i + 1] as usize];
                stack.extend(ks.iter().rev().map(|&k| (k, depth.saturating_add(1))));
            }
        };
        for &r in &roots {
            dfs(r, &mut order, &mut visited);
        }
        // Rows on a parent cycle (only possible with inconsistent data) are
        // shown as roots rather than lost.
        for (id, _) in store.iter() {
            if present[id as usize] && !visited[id as usize] {
                dfs(id, &mut order, &mut visited);
            }
        }

        // Bottom-up (reverse preorder): kept = matches or has a kept
        // descendant; subtree sums where a node is collapsed.
        let mut kept = matched.to_vec();
        let mut has_kept_child = vec![false; n];
        let sums_needed = !opt.collapsed.is_empty();
        let mut sums: Vec<Usage> = if sums_needed {
            vec![Usage::default(); n]
        } else {
            Vec::new()
        };
        for &(id, _) in order.iter().rev() {
            let i = id as usize;
            if sums_needed && let Some(p) = store.get(id) {
                sums[i].add(&p.usage);
            }
            let p = parent[i];
            if p != NONE {
                let pi = p as usize;
                if kept[i] {
                    kept[pi] = true;
                    has_kept_child[pi] = true;
                }
                if sums_needed {
                    let s = sums[i];
                    sums[pi].add(&s);
                }
            }
        }

        // Emit, skipping unkept rows and collapsed subtrees.
        let mut rows: Vec<Row> = Vec::new();
        let mut pos = vec![NONE; n];
        let mut skip_deeper_than: Option<u16> = None;
        for &(id, depth) in &order {
            if let Some(d) = skip_deeper_than {
                if depth > d {
                    continue;
                }
                skip_deeper_than = None;
            }
            let i = id as usize;
            if !kept[i] {
                skip_deeper_than = Some(depth);
                continue;
            }
            let collapsed = has_kept_child[i]
                && !opt.collapsed.is_empty()
                && store
                    .get(id)
                    .is_some_and(|p| opt.collapsed.contains(&p.key));
            if collapsed {
                skip_deeper_than = Some(depth);
            }
            pos[i] = u32::try_from(rows.len()).unwrap_or(NONE);
            let vp = parent[i];
            rows.push(Row {
                id,
                depth,
                last: false,
                parent: (vp != NONE && pos[vp as usize] != NONE).then(|| pos[vp as usize]),
                has_children: has_kept_child[i],
                collapsed,
                subtree: collapsed.then(|| Box::new(sums[i])),
                thread: None,
            });
        }
        mark_last_children(&mut rows);
        RowList { rows }
    }

    /// Index of the row showing process `id` (not one of its threads).
    #[must_use]
    pub fn position(&self, id: RowId) -> Option<usize> {
        self.rows
            .iter()
            .position(|r| r.id == id && r.thread.is_none())
    }

    /// Index of the row showing thread `tid` of process `id`.
    #[must_use]
    pub fn thread_position(&self, id: RowId, tid: u32) -> Option<usize> {
        self.rows
            .iter()
            .position(|r| r.id == id && r.thread == Some(tid))
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// Parent links and children lists (CSR: `kids[start[i]..start[i + 1]]`)
/// of the present rows.
struct Forest {
    parent: Vec<u32>,
    start: Vec<u32>,
    kids: Vec<RowId>,
    roots: Vec<RowId>,
}

impl Forest {
    fn new(store: &Store, present: &[bool]) -> Forest {
        let n = present.len();
        // Parent links, resolving unknown parent start times by live pid only
        // when some row needs it (eBPF and /proc rows usually carry it).
        let need_pid_map = store
            .iter()
            .any(|(_, p)| p.parent_start_ns == 0 && p.ppid != 0);
        let live = if need_pid_map {
            store.live_by_pid()
        } else {
            LiveByPid::default()
        };
        let mut parent = vec![NONE; n];
        let mut kids_count = vec![0u32; n + 1];
        for (id, p) in store.iter() {
            if !present[id as usize] {
                continue;
            }
            if let Some(pid) = store.parent_of(p, &live)
                && present[pid as usize]
                && pid != id
            {
                parent[id as usize] = pid;
                kids_count[pid as usize] += 1;
            }
        }
        // Children lists as one array (CSR): kids[start[i]..start[i+1]].
        let mut start = vec![0u32; n + 1];
        for i in 0..n {
            start[i + 1] = start[i] + kids_count[i];
        }
        let mut fill = start.clone();
        let mut kids = vec![0 as RowId; start[n] as usize];
        let mut roots = Vec::new();
        for (id, _) in store.iter() {
            let i = id as usize;
            if !present[i] {
                continue;
            }
            match parent[i] {
                NONE => roots.push(id),
                p => {
                    kids[fill[p as usize] as usize] = id;
                    fill[p as usize] += 1;
                }
            }
        }
        Forest {
            parent,
            start,
            kids,
            roots,
        }
    }
}

/// Sets `last` on the last visible child of each parent (roots count as
/// children of one invisible parent).
fn mark_last_children(rows: &mut [Row]) {
    let mut seen = vec![false; rows.len() + 1];
    let no_parent = rows.len();
    for r in rows.iter_mut().rev() {
        let slot = r.parent.map_or(no_parent, |p| p as usize);
        if let Some(s) = seen.get_mut(slot)
            && !*s
        {
            *s = true;
            r.last = true;
        }
    }
}

#[cfg(test)]
mod tests;
