//! `m` on a deviation (Policies screen): the policy with the deviation
//! folded in, shown as the lines it adds and removes; Enter applies it
//! through perchd's Policies service (validated, stored, audited as a
//! `policy_change`), Esc leaves the policy as it is.
use crossterm::event::KeyCode;
use ratatui::{buffer::Buffer, layout::Rect, text::Line};

use super::{Areas, Next, OverlayState};
use crate::console::{
    App,
    actions::Request,
    input::{Binding, Msg, PlaceInfo, SCROLL_DOWN, SCROLL_UP, bind, code},
    list::ScrollList,
    model::HostId,
    theme::Theme,
    ui::{Part, frame, full, put_line, widget_for_ref},
};

static INFO: PlaceInfo = PlaceInfo::new(
    "adding a deviation to its policy",
    "Add to policy (m on a deviation)",
    None,
    KEYS,
);

static KEYS: &[Binding] = &[
    bind(
        &[code(KeyCode::Enter)],
        "Enter",
        Msg::Confirm,
        "apply the policy with the deviation added (audited)",
    ),
    SCROLL_DOWN,
    SCROLL_UP,
];

/// The merge to confirm.
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyMerge {
    pub host: HostId,
    pub policy: String,
    pub deviation: String,
    /// The whole new document, as it will be applied.
    pub yaml: String,
    /// `+ line` / `- line`.
    pub diff: Vec<String>,
    pub scroll: ScrollList,
}

impl PolicyMerge {
    #[must_use]
    pub fn new(host: HostId, policy: &str, deviation: &str, old: &str, yaml: String) -> Self {
        let (o, n): (Vec<&str>, Vec<&str>) = (old.lines().collect(), yaml.lines().collect());
        let mut diff: Vec<String> = o
            .iter()
            .filter(|l| !n.contains(l))
            .map(|l| format!("- {l}"))
            .collect();
        diff.extend(n.iter().filter(|l| !o.contains(l)).map(|l| format!("+ {l}")));
        let scroll = ScrollList::new(diff.len().max(1));
        PolicyMerge {
            host,
            policy: policy.to_owned(),
            deviation: deviation.to_owned(),
            yaml,
            diff,
            scroll,
        }
    }
}

impl OverlayState for PolicyMerge {
    fn info() -> &'static PlaceInfo {
        &INFO
    }

    fn update(&mut self, msg: Msg, app: &mut App) -> Next {
        match msg {
            Msg::Up | Msg::Down => {
                self.scroll.apply(msg, 1);
                Next::Stay
            }
            Msg::Confirm => {
                app.data.queue(
                    self.host,
                    Request::ApplyPolicy {
                        yaml: self.yaml.clone(),
                        reason: format!("console: add deviation {} to the policy", self.deviation),
                    },
                );
                app.view.flash = Some(format!("applying policy {} ...", self.policy));
                Next::Close
            }
            _ => Next::Close,
        }
    }

    fn draw(&self, _app: &App, theme: &Theme, areas: Areas, buf: &mut Buffer) {
        MergeView { m: self, theme }.render_into(areas.body, buf);
    }
}

struct MergeView<'a> {
    m: &'a PolicyMerge,
    theme: &'a Theme,
}

widget_for_ref!(MergeView);

impl Part for MergeView<'_> {
    fn draw(&self, area: Rect, buf: &mut Buffer) {
        let (m, t) = (self.m, self.theme);
        let w = area.width.min(100);
        let h = area.height.min(u16::try_from(m.diff.len() + 4).unwrap_or(u16::MAX)).max(5);
        let rect = Rect {
            x: area.x + (area.width - w) / 2,
            y: area.y + (area.height - h) / 2,
            width: w,
            height: h,
        };
        let title = format!("Add {} to policy {}?", m.deviation, m.policy);
        let inner = frame(buf, rect, &title, t);
        let rows = usize::from(inner.height.saturating_sub(1));
        for (i, l) in m.diff.iter().skip(m.scroll.cursor()).take(rows).enumerate() {
            let style = if l.starts_with('+') { t.good } else { t.warn };
            put_line(buf, inner, 0, u16::try_from(i).unwrap_or(0), &full(l, inner.width, style));
        }
        let keys = Line::raw(" Enter: apply (audited)   Esc: cancel");
        put_line(buf, inner, 0, inner.height.saturating_sub(1), &keys);
    }
}
