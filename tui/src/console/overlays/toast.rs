//! An action's result: a box over the bottom of the body that says what
//! happened (`SUCCESS Kill tree 4242 (nginx)`, the code, the detail).  It
//! is a layer of its own, not an overlay: it shows over whatever is open,
//! takes the next key (to go away) unless a dialog is being typed into,
//! and goes by itself after [`TOAST_FOR`].
use std::time::{Duration, Instant};

use crossterm::event::KeyCode;
use perch_proto::v1::ActionResult;
use ratatui::{buffer::Buffer, layout::Rect};

use crate::{
    act,
    console::{
        App,
        input::{Binding, Msg, PlaceInfo, bind, code, ctrl},
        theme::Theme,
        ui::{Part, frame, full, put_line, widget_for_ref},
    },
};

/// How long a result stays on screen without a key press.
pub const TOAST_FOR: Duration = Duration::from_secs(5);

pub static INFO: PlaceInfo = PlaceInfo {
    global: false,
    any_key: true,
    acts: true,
    ..PlaceInfo::new("an action's result", "Action result", None, KEYS)
};

static KEYS: &[Binding] = &[
    bind(&[ctrl('c')], "^C", Msg::Quit, "quit"),
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
        let w = area.width.min(76);
        let h = 5.min(area.height);
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
        put_line(
            buf,
            inner,
            0,
            2,
            &full(" any key dismisses", inner.width, t.label),
        );
    }
}
