//! The Policies screen: every collector's workload and trace policies
//! (NAME, TYPE, MODE, ENABLED, DEVIATIONS in the last hour, LAST RESPONSE),
//! and, on Enter, the selected policy's deviations, newest first (KIND,
//! COUNT, LAST, the process's place in its tree, the responses); Enter on
//! a deviation shows its process, live or in history.  Policies are listed
//! when the screen is shown and on `r`; deviations arrive on the event
//! stream.
mod keys;
mod widget;

use ratatui::{buffer::Buffer, layout::Rect, text::Line};

use super::{Cx, ScreenInfo, ScreenState};
use crate::console::{
    App,
    app::Data,
    input::{Msg, PlaceInfo, k},
    list::ScrollList,
    model::ProcessKey,
    overlays::Overlay,
    policies::PolicyRow,
    theme::Theme,
    ui::Part as _,
};

static INFO: ScreenInfo = ScreenInfo {
    place: PlaceInfo::new("the policies screen", "Policies", None, keys::KEYS),
    title: "Policies",
    short: "Policies",
    show: "show-policies",
    // `p` is the processes': `w`, for workload.
    key: k('w'),
};

/// A deviation row: what the widget shows and where Enter goes.
#[derive(Clone, Debug, PartialEq)]
pub struct DevRow {
    /// Its id and `GuardianDeviation` document (for `m`).
    pub id: String,
    pub document: String,
    pub kind: &'static str,
    pub count: u64,
    /// Seconds since its latest sighting (host clock), if known.
    pub age_s: Option<u64>,
    pub summary: String,
    /// The process and its ancestors' names, root first: "python3 > sh".
    pub chain: String,
    pub responses: String,
    pub key: Option<ProcessKey>,
    /// Its latest sighting, Unix ns (to find an exited process in the
    /// history).
    pub at_unix_ns: Option<u64>,
}

#[derive(Debug, Default)]
pub struct Policies {
    pub(super) rows: Vec<PolicyRow>,
    pub(super) list: ScrollList,
    /// The deviations of the policy Enter opened, and their cursor.
    pub(super) open: Option<(Vec<DevRow>, ScrollList)>,
    seen: u64,
}

const HOUR_NS: u64 = 3600 * 1_000_000_000;

fn kind_word(kind: i32) -> &'static str {
    use perch_proto::v1::DeviationKind as K;
    match K::try_from(kind).unwrap_or(K::Unspecified) {
        K::Process => "process",
        K::Listening => "listening",
        K::Ingress => "ingress",
        K::Egress => "egress",
        K::Unspecified => "-",
    }
}

impl Policies {
    fn selected(&self) -> Option<&PolicyRow> {
        self.rows.get(self.list.cursor())
    }

    fn deviations(&self, data: &Data) -> Vec<DevRow> {
        let Some(row) = self.selected() else {
            return Vec::new();
        };
        let now = data.host_now_ns(row.host);
        let name_of = |k: &perch_proto::v1::ProcessKey| {
            data.store()
                .by_key(&ProcessKey::new(row.host, k.pid, k.start_time_ns))
                .map_or_else(|| format!("pid {}", k.pid), |p| p.comm.to_string())
        };
        data.policies()
            .of(row.host, &row.summary.name)
            .into_iter()
            .map(|d| {
                let mut chain: Vec<String> = d.ancestor_keys.iter().rev().map(name_of).collect();
                chain.extend(d.process.as_ref().map(name_of));
                DevRow {
                    id: d.id.clone(),
                    document: d.document.clone(),
                    kind: kind_word(d.kind),
                    count: d.count,
                    age_s: now.map(|n| n.saturating_sub(d.last_ns) / 1_000_000_000),
                    summary: crate::text::clean(&d.summary).into_owned(),
                    chain: chain.join(" > "),
                    responses: d
                        .responses
                        .iter()
                        .map(|r| {
                            format!(
                                "{} {}",
                                r.action,
                                crate::console::policies::outcome_word(r.outcome)
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(", "),
                    key: d
                        .process
                        .map(|k| ProcessKey::new(row.host, k.pid, k.start_time_ns)),
                    at_unix_ns: data.unix_ns(row.host, d.last_ns),
                }
            })
            .collect()
    }
}

/// The policy of `row` with `dev` folded in, to confirm.
#[cfg(feature = "embedded")]
fn add_to_policy(
    row: &PolicyRow,
    dev: &DevRow,
) -> Result<crate::console::overlays::policy_merge::PolicyMerge, String> {
    use perchd::policy::{Policy, parse, workload};
    let name = &row.summary.name;
    let policy = match parse(name, &row.summary.yaml) {
        Ok(Policy::Workload(w)) => w,
        Ok(Policy::Trace(_)) => return Err(format!("{name} is a trace policy")),
        Err(e) => return Err(format!("{name} does not read: {e}")),
    };
    let doc = workload::merge::merge_deviation(&policy, &dev.document)
        .map_err(|e| format!("cannot add {}: {e}", dev.id))?;
    let merged = workload::from_doc(&doc).map_err(|e| e.to_string())?;
    Ok(crate::console::overlays::policy_merge::PolicyMerge::new(
        row.host,
        name,
        &dev.id,
        &policy.to_yaml(""),
        merged.to_yaml(""),
    ))
}

#[cfg(not(feature = "embedded"))]
fn add_to_policy(
    _: &PolicyRow,
    _: &DevRow,
) -> Result<crate::console::overlays::policy_merge::PolicyMerge, String> {
    Err("this perch was built without perchd's policy code: use perch policy merge".to_owned())
}

impl ScreenState for Policies {
    fn info() -> &'static ScreenInfo {
        &INFO
    }

    fn enter(&mut self, cx: &mut Cx<'_>) {
        cx.data.fetch_policies();
    }

    fn update(&mut self, msg: Msg, cx: &mut Cx<'_>) {
        let page = cx.page;
        if let Some((rows, list)) = &mut self.open {
            match msg {
                Msg::Cancel => self.open = None,
                Msg::Confirm => match rows.get(list.cursor()).map(|r| (r.key, r.at_unix_ns)) {
                    Some((Some(key), _)) if cx.data.store().by_key(&key).is_some() => {
                        *cx.jump = Some(key);
                    }
                    // Gone from what is shown: as it was at the sighting.
                    Some((Some(key), Some(at))) => *cx.jump_at = Some((at, key)),
                    Some((Some(key), None)) => {
                        *cx.flash = Some(format!("pid {} has exited", key.pid));
                    }
                    Some((None, _)) => *cx.flash = Some("its process is not known".to_owned()),
                    None => {}
                },
                Msg::Refresh => cx.data.fetch_policies(),
                Msg::AddToPolicy => {
                    let dev = rows.get(list.cursor()).cloned();
                    let row = self.rows.get(self.list.cursor());
                    if let (Some(dev), Some(row)) = (dev, row) {
                        match add_to_policy(row, &dev) {
                            Ok(m) => *cx.overlay = Some(Overlay::PolicyMerge(m)),
                            Err(why) => *cx.flash = Some(why),
                        }
                    }
                }
                m => {
                    list.apply(m, page);
                }
            }
            return;
        }
        match msg {
            Msg::Confirm if self.selected().is_some() => {
                let rows = self.deviations(cx.data);
                if rows.is_empty() {
                    *cx.flash = Some("no deviation seen for this policy".to_owned());
                } else {
                    let list = ScrollList::new(rows.len());
                    self.open = Some((rows, list));
                }
            }
            Msg::Refresh => cx.data.fetch_policies(),
            m => {
                self.list.apply(m, page);
            }
        }
    }

    fn refresh(&mut self, data: &Data, _front: Option<&Overlay>) {
        let generation = data.policies().generation();
        if generation == self.seen && !self.rows.is_empty() {
            return;
        }
        self.seen = generation;
        // Each host's last hour by its own clock (while travelling: the
        // hour before the instant shown).
        self.rows = data
            .policies()
            .rows(|h| data.host_now_ns(h).map_or(0, |n| n.saturating_sub(HOUR_NS)));
        self.list.set_len(self.rows.len());
        if self.open.is_some() {
            let rows = self.deviations(data);
            let cursor = self.open.as_ref().map_or(0, |(_, l)| l.cursor());
            let list = ScrollList::at(rows.len(), cursor.min(rows.len().saturating_sub(1)));
            self.open = Some((rows, list));
        }
    }

    fn data_replaced(&mut self) {
        self.seen = u64::MAX;
    }

    fn fit(&mut self, rows: usize) {
        match &mut self.open {
            Some((_, list)) => list.fit(rows.saturating_sub(self.rows.len().min(8) + 3), false),
            None => self.list.fit(rows, false),
        }
    }

    fn draw(&self, app: &App, theme: &Theme, area: Rect, buf: &mut Buffer) {
        widget::PoliciesView {
            screen: self,
            data: app.data(),
            theme,
        }
        .render_into(area, buf);
    }

    fn status_line(&self, app: &App, theme: &Theme) -> Line<'static> {
        widget::status_line(self, app.data(), theme)
    }
}
