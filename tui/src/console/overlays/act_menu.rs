//! The action menu (`k` / F9, htop's kill key) on the selected process:
//! each action with how many processes it would hit, by the console's own
//! model; Enter opens its confirmation dialog.
use crossterm::event::KeyCode;
use perch_proto::v1::ActionKind;
use ratatui::{buffer::Buffer, layout::Rect};

use super::{Areas, Next, Overlay, OverlayState, dialog::Dialog, processes};
use crate::{
    act,
    console::{
        App,
        actions::{Hits, menu_kinds},
        editor::{Limit, LineEditor},
        input::{Binding, Msg, PlaceInfo, bind, code, ctrl, k},
        list::ScrollList,
        model::{Proc, ProcessKey, Store},
        theme::Theme,
        ui::{Part, centred, ellipsize, frame, full, put_line, widget_for_ref},
    },
};

static INFO: PlaceInfo = PlaceInfo {
    acts: true,
    ..PlaceInfo::new("the action menu", "Action menu (k F9)", None, KEYS)
};

static KEYS: &[Binding] = &[
    bind(
        &[k('j'), code(KeyCode::Down), ctrl('n')],
        "j Down ^N",
        Msg::Down,
        "next action",
    ),
    bind(
        &[k('k'), code(KeyCode::Up), ctrl('p')],
        "k Up ^P",
        Msg::Up,
        "previous action",
    ),
    bind(
        &[code(KeyCode::Enter)],
        "Enter",
        Msg::Confirm,
        "open its confirmation dialog",
    ),
];

/// One line of the action menu.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MenuItem {
    pub kind: ActionKind,
    /// Processes it would hit, by the console's own model.
    pub count: usize,
}

/// The menu on one process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Menu {
    pub target: ProcessKey,
    pub items: Vec<MenuItem>,
    pub list: ScrollList,
    /// The dialog's reason to start with (a flag or a trace says what it
    /// saw; the user may edit it).
    pub reason: Option<String>,
}

impl Menu {
    /// The menu for `p`, with the pod's actions when it runs in one.
    #[must_use]
    pub fn new(store: &Store, p: &Proc) -> Menu {
        let hits = Hits::of(store, &p.key);
        // Thaw only where something is frozen, freeze only where nothing is.
        let offered = |kind: &ActionKind| match kind {
            ActionKind::FreezeTree | ActionKind::FreezePod => !hits.any_frozen(store, *kind),
            ActionKind::ThawTree | ActionKind::ThawPod => hits.any_frozen(store, *kind),
            _ => true,
        };
        let items: Vec<MenuItem> = menu_kinds(!p.pod_uid.is_empty())
            .into_iter()
            .filter(offered)
            .map(|kind| MenuItem {
                kind,
                count: hits.count(kind),
            })
            .collect();
        Menu {
            target: p.key,
            list: ScrollList::new(items.len()),
            items,
            reason: None,
        }
    }
}

/// `reason` cut to what a request may carry, on a character boundary (a
/// flag's description can be long; the user sees the end and may edit).
fn clip(reason: &str) -> String {
    let mut end = reason.len().min(act::REASON_MAX_BYTES);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    reason[..end].to_owned()
}

impl OverlayState for Menu {
    fn info() -> &'static PlaceInfo {
        &INFO
    }

    fn update(&mut self, msg: Msg, app: &mut App) -> Next {
        match msg {
            Msg::Up | Msg::Down | Msg::Home | Msg::End => {
                self.list.apply(msg, 1);
                Next::Stay
            }
            Msg::Confirm => {
                let kind = self.items.get(self.list.cursor()).map(|i| i.kind);
                let mut dialog = kind.and_then(|kind| {
                    Dialog::open(kind, self.target, None, &app.data, &app.config)
                });
                if let (Some(d), Some(reason)) = (dialog.as_mut(), &self.reason) {
                    d.reason = LineEditor::with_text(
                        clip(reason),
                        Limit::Bytes(act::REASON_MAX_BYTES),
                    );
                }
                dialog.map_or(Next::Close, |d| Next::Open(Overlay::Dialog(d)))
            }
            Msg::Cancel | Msg::ActMenu => Next::Close,
            _ => Next::Stay,
        }
    }

    fn draw(&self, app: &App, theme: &Theme, areas: Areas, buf: &mut Buffer) {
        ActionMenu {
            app,
            menu: self,
            theme,
        }
        .render_into(areas.body, buf);
    }
}

pub struct ActionMenu<'a> {
    app: &'a App,
    menu: &'a Menu,
    theme: &'a Theme,
}

widget_for_ref!(ActionMenu);

impl ActionMenu<'_> {
    fn label(item: &MenuItem, nice: i32, pod: &str) -> String {
        let title = act::kind_title(item.kind);
        match item.kind {
            ActionKind::Kill => format!("{title}… (choose the signal)"),
            ActionKind::Renice => format!("{title}… (nice now {nice})     F7 F8"),
            ActionKind::KillPod | ActionKind::FreezePod | ActionKind::ThawPod => {
                format!("{title} {pod}… ({})", processes(item.count))
            }
            _ => format!("{title}… ({})", processes(item.count)),
        }
    }
}

impl Part for ActionMenu<'_> {
    fn draw(&self, area: Rect, buf: &mut Buffer) {
        let (menu, t) = (self.menu, self.theme);
        let p = self.app.store().by_key(&menu.target);
        let (nice, pod, name) = p.map_or((0, String::new(), String::new()), |p| {
            (
                p.nice,
                format!("{}/{}", p.pod_namespace, p.pod_name),
                p.comm.to_string(),
            )
        });
        let h = u16::try_from(menu.items.len() + 4).unwrap_or(u16::MAX);
        let rect = centred(area, 56, h);
        if rect.width < 3 || rect.height < 3 {
            return;
        }
        let title = format!("Act on {} {name}", menu.target.pid);
        let inner = frame(
            buf,
            rect,
            &ellipsize(&title, usize::from(rect.width) - 4),
            t,
        );
        for (i, item) in menu.items.iter().enumerate() {
            let selected = i == menu.list.cursor();
            let marker = if selected { "▸ " } else { "  " };
            let text = format!("{marker}{}", Self::label(item, nice, &pod));
            let style = if selected { t.menu_cursor } else { t.text };
            let dy = u16::try_from(i).unwrap_or(u16::MAX);
            put_line(buf, inner, 0, dy, &full(&text, inner.width, style));
        }
        let hint = "Enter opens the dialog · Esc closes";
        let dy = inner.height.saturating_sub(1);
        put_line(buf, inner, 0, dy, &full(hint, inner.width, t.label));
    }
}
