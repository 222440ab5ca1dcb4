//! An action's result: a box over the bottom of the body that says what
//! happened (`SUCCESS Kill process 4242 (sleep)`, then `TERM delivered to
//! 4242 sleep: still running after 2 s`), the processes perchd listed (a
//! dry run's resolution, what still runs), and — when a signal left
//! something running — `k` to send KILL (the dialog opens pre-filled, so
//! the reason is still confirmed).  It is a layer of its own, not an
//! overlay: it shows over whatever is open, takes the next key (to go
//! away) unless a dialog is being typed into, and goes by itself after
//! [`TOAST_FOR`] ([`ESCALATE_FOR`] when it offers KILL).
use std::time::{Duration, Instant};

use crossterm::event::KeyCode;
use perch_proto::v1::ActionResult;
use ratatui::{buffer::Buffer, layout::Rect};

use crate::{
    act,
    console::{
        App,
        input::{Binding, Msg, PlaceInfo, bind, code, ctrl, k},
        theme::Theme,
        ui::{Part, frame, full, put_line, widget_for_ref},
    },
};

/// How long a result stays on screen without a key press.
pub const TOAST_FOR: Duration = Duration::from_secs(5);
/// How long a result that offers KILL stays.
pub const ESCALATE_FOR: Duration = Duration::from_secs(30);

/// Lines of the processes list a toast shows at most.
const LIST_MAX: usize = 8;

pub static INFO: PlaceInfo = PlaceInfo {
    global: false,
    any_key: true,
    acts: true,
    ..PlaceInfo::new("an action's result", "Action result", None, KEYS)
};

static KEYS: &[Binding] = &[
    bind(&[ctrl('c')], "^C", Msg::Quit, "quit"),
    bind(
        &[k('k'), code(KeyCode::F(9))],
        "k F9",
        Msg::Escalate,
        "still running: send KILL (the dialog opens with the same reason)",
    ),
    bind(
        &[code(KeyCode::Esc)],
        "Esc",
        Msg::Cancel,
        "dismiss (so does any other key)",
    ),
];

/// The transient box that reports an action's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Toast {
    /// `Kill tree 4242 (nginx)`, with `(dry run)` when it was one.
    pub title: String,
    pub result: ActionResult,
    pub code: String,
    /// What was done, or why not.
    pub detail: String,
    /// The processes perchd listed: a dry run's, or what still runs.
    pub list: Vec<String>,
    /// The KILL to offer (`k`): the request that left something running,
    /// with its signal turned to KILL.
    pub escalate: Option<perch_proto::v1::ActRequest>,
    /// Gone after this (or at the next key).
    pub until: Instant,
}

pub struct ResultToast<'a> {
    app: &'a App,
    theme: &'a Theme,
}

widget_for_ref!(ResultToast);

impl<'a> ResultToast<'a> {
    #[must_use]
    pub fn new(app: &'a App, theme: &'a Theme) -> ResultToast<'a> {
        ResultToast { app, theme }
    }
}

impl Part for ResultToast<'_> {
    fn draw(&self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let Some(toast) = self.app.toast() else {
            return;
        };
        let w = area.width.min(96);
        let shown = toast.list.len().min(LIST_MAX);
        let more = toast.list.len() - shown;
        let extra = u16::try_from(shown + usize::from(more > 0)).unwrap_or(0);
        let h = (5 + extra).min(area.height);
        if w < 3 || h < 3 {
            return;
        }
        let rect = Rect {
            x: area.x + (area.width - w) / 2,
            y: area.y + area.height - h,
            width: w,
            height: h,
        };
        let style = match toast.result {
            ActionResult::Success => t.toast_ok,
            ActionResult::Partial => t.toast_partial,
            _ => t.toast_failed,
        };
        let inner = frame(buf, rect, "Action result", t);
        let head = format!(" {}  {}", act::result_title(toast.result), toast.title);
        put_line(buf, inner, 0, 0, &full(&head, inner.width, style));
        let detail = match (toast.code.is_empty(), toast.detail.is_empty()) {
            (false, false) => format!(" {} — {}", toast.code, toast.detail),
            (false, true) => format!(" {}", toast.code),
            _ => format!(" {}", toast.detail),
        };
        put_line(buf, inner, 0, 1, &full(&detail, inner.width, t.text));
        let mut y = 2u16;
        for line in toast.list.iter().take(LIST_MAX) {
            put_line(buf, inner, 0, y, &full(line, inner.width, t.text));
            y += 1;
        }
        if more > 0 {
            let text = format!(" … and {more} more (the action log's record lists them all)");
            put_line(buf, inner, 0, y, &full(&text, inner.width, t.label));
            y += 1;
        }
        let hint = if toast.escalate.is_some() {
            " k: KILL it (the dialog opens, same reason) · any other key dismisses"
        } else {
            " any key dismisses"
        };
        let style = if toast.escalate.is_some() {
            t.warn
        } else {
            t.label
        };
        put_line(buf, inner, 0, y, &full(hint, inner.width, style));
    }
}
