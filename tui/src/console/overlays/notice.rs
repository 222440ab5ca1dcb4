//! A trace that just became notable: a one-line box over the bottom right
//! of the body (`NOTABLE trace:3 score 60 reverse_shell on bash (4242) ·
//! y: Traces`).  Unlike the action result ([`super::toast`]) it takes no
//! key, since it comes unasked while the user may be typing; it goes by
//! itself after [`NOTICE_FOR`], or when the Traces screen is shown.
use std::time::{Duration, Instant};

use ratatui::{buffer::Buffer, layout::Rect};

use crate::console::{
    App,
    detect::HeldTrace,
    theme::Theme,
    ui::{Part, frame, full, put_line, widget_for_ref},
};

/// How long a notice stays.
pub const NOTICE_FOR: Duration = Duration::from_secs(10);

/// What the box says, and until when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub text: String,
    pub severity: perch_proto::v1::Severity,
    pub until: Instant,
}

impl Notice {
    /// The notice for trace `t`, shown from `now`.
    #[must_use]
    pub fn notable(t: &HeldTrace, now: Instant) -> Notice {
        Notice {
            text: format!(
                "{} score {}: {} under {} ({})",
                t.t.id,
                t.t.score,
                t.t.trigger_short_name,
                t.t.root_proc_name,
                t.root.map_or(0, |k| k.pid)
            ),
            severity: t.t.max_severity(),
            until: now + NOTICE_FOR,
        }
    }
}

pub struct NoticeBox<'a> {
    app: &'a App,
    theme: &'a Theme,
}

widget_for_ref!(NoticeBox);

impl<'a> NoticeBox<'a> {
    #[must_use]
    pub fn new(app: &'a App, theme: &'a Theme) -> NoticeBox<'a> {
        NoticeBox { app, theme }
    }
}

impl Part for NoticeBox<'_> {
    fn draw(&self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let Some(n) = self.app.notice() else {
            return;
        };
        let w = area.width.min(72);
        if w < 12 || area.height < 3 {
            return;
        }
        let rect = Rect {
            x: area.x + area.width - w,
            y: area.y + area.height - 3,
            width: w,
            height: 3,
        };
        let inner = frame(buf, rect, "Notable trace", t);
        let line = format!(" {}", n.text);
        put_line(
            buf,
            inner,
            0,
            0,
            &full(&line, inner.width, t.severity(n.severity)),
        );
    }
}
