//! The confirmation dialog's drawing.  The focused field carries a `▸` as
//! well as a style, so it shows without colour (and in text snapshots).
use perch_proto::v1::ActionKind;
use ratatui::{
    buffer::Buffer,
    layout::Rect,
    text::{Line, Span},
};

use super::{Dialog, Field};
use crate::{
    act,
    console::{
        App,
        editor::LineEditor,
        format,
        overlays::processes,
        theme::Theme,
        ui::{Part, centred, ellipsize, frame, full, put_line, widget_for_ref},
    },
};

/// Lines of the processes-hit list shown at once.
const MEMBERS_SHOWN: usize = 6;

pub struct ActionDialog<'a> {
    app: &'a App,
    dialog: &'a Dialog,
    theme: &'a Theme,
}

widget_for_ref!(ActionDialog);

impl<'a> ActionDialog<'a> {
    #[must_use]
    pub fn new(app: &'a App, dialog: &'a Dialog, theme: &'a Theme) -> ActionDialog<'a> {
        ActionDialog { app, dialog, theme }
    }

    /// A labelled line, with `▸` when `field` has the focus.
    fn row(
        &self,
        d: &Dialog,
        field: Option<Field>,
        label: &str,
        value: Vec<Span<'static>>,
    ) -> Line<'static> {
        let focused = field.is_some_and(|f| f == d.focus);
        let marker = if focused { "▸" } else { " " };
        let style = if focused {
            self.theme.prompt
        } else {
            self.theme.label
        };
        let mut spans = vec![Span::styled(format!("{marker}{label:<10}"), style)];
        spans.extend(value);
        Line::from(spans)
    }

    /// What will be hit, in words.
    fn hits(d: &Dialog) -> String {
        let n = d.count;
        match d.kind {
            ActionKind::Kill => "this process only".to_owned(),
            ActionKind::Renice => "every thread of this process".to_owned(),
            ActionKind::KillGroup => format!("its process group: {}", processes(n)),
            ActionKind::KillPod | ActionKind::FreezePod | ActionKind::ThawPod => {
                format!("pod {}: {} on this host", d.pod, processes(n))
            }
            _ if n <= 1 => "the process (no descendants)".to_owned(),
            _ => format!(
                "the process and {} descendant{}: {}",
                n - 1,
                if n == 2 { "" } else { "s" },
                processes(n)
            ),
        }
    }

    /// The signal field (a name, or the number typed), and its error.
    fn signal_rows(&self, d: &Dialog) -> Vec<Line<'static>> {
        let t = self.theme;
        let name = if d.number.is_empty() {
            act::signal_name(d.signal).to_owned()
        } else {
            let typed = d.number.text();
            let n = typed.parse::<i32>().unwrap_or(0);
            format!("{typed} ({})", format::signal_name(n))
        };
        let v = vec![
            Span::styled(format!("◀ {name} ▶"), t.text),
            Span::styled(
                "  ←→ KILL INT HUP QUIT ABRT STOP CONT USR1 USR2 · or type 1..64",
                t.label,
            ),
        ];
        let mut out = vec![self.row(d, Some(Field::Signal), "Signal", v)];
        if let Err(e) = d.signal_number() {
            out.push(self.row(d, None, "", vec![Span::styled(e.to_string(), t.error)]));
        }
        out
    }

    /// The processes it hits, one line each (pid, user, command; `#` marks
    /// root), at most [`MEMBERS_SHOWN`] scrolled by PgUp/PgDn.
    fn members(&self, d: &Dialog, width: usize) -> Vec<Line<'static>> {
        let t = self.theme;
        if d.members.len() <= 1 {
            return Vec::new();
        }
        let off = d.members_list.offset_for(MEMBERS_SHOWN);
        let mut out: Vec<Line<'static>> = d
            .members
            .iter()
            .skip(off)
            .take(MEMBERS_SHOWN)
            .map(|m| {
                let mark = if m.root { '#' } else { ' ' };
                let text = format!("  {mark}{:>7} {:<9} {}", m.pid, m.user, m.command);
                let style = if m.root { t.warn } else { t.text };
                Line::styled(ellipsize(&text, width), style)
            })
            .collect();
        let n = d.members.len();
        let root = if d.members.iter().any(|m| m.root) {
            "; # runs as root"
        } else {
            ""
        };
        let note = if n > MEMBERS_SHOWN {
            format!(
                "  {}-{} of {n} (PgUp/PgDn){root}",
                off + 1,
                (off + MEMBERS_SHOWN).min(n)
            )
        } else {
            format!("  by the console's view; perchd resolves its own{root}")
        };
        out.push(Line::styled(note, t.label));
        out
    }

    /// `[text_    ]`, the cursor kept in view when the text is longer.
    fn field(&self, text: &LineEditor, focused: bool, width: usize) -> Vec<Span<'static>> {
        let room = width.saturating_sub(3).max(1);
        let style = if focused {
            self.theme.field_focus
        } else {
            self.theme.field
        };
        let cursor = style.add_modifier(ratatui::style::Modifier::REVERSED);
        let mut spans = vec![Span::styled("[", style)];
        let inner = text.spans(room, focused, style, cursor);
        let used: usize = inner.iter().map(|s| s.content.chars().count()).sum();
        spans.extend(inner);
        spans.push(Span::styled(
            format!("{}]", " ".repeat(room.saturating_sub(used))),
            style,
        ));
        spans
    }

    fn lines(&self, d: &Dialog, width: u16) -> Vec<Line<'static>> {
        let (app, t) = (self.app, self.theme);
        let field_w = usize::from(width.saturating_sub(12));
        let started = app.unix_secs(d.target.host, d.start_time_ns).map_or_else(
            || format!("{} s after boot", d.start_time_ns / perch_proto::NS_PER_SEC),
            |s| format::date_time(s, app.config().utc_offset_secs),
        );
        let text = |s: String| vec![Span::styled(s, t.text)];
        let mut out = vec![
            self.row(
                d,
                None,
                "Target",
                text(format!("{} {}", d.target.pid, d.exe)),
            ),
            self.row(d, None, "Command", text(d.command.to_string())),
            self.row(
                d,
                None,
                "User",
                text(format!("{} · started {started}", d.user)),
            ),
            self.row(d, None, "Hits", vec![Span::styled(Self::hits(d), t.value)]),
        ];
        out.extend(self.members(d, usize::from(width)));
        out.push(Line::raw(""));
        for &f in d.fields() {
            let focused = f == d.focus;
            match f {
                Field::Signal => out.extend(self.signal_rows(d)),
                Field::Priority => {
                    let mut v = self.field(&d.priority, focused, 8);
                    v.push(Span::styled(
                        format!(
                            " nice now {}; {} (most CPU) .. {} (least)",
                            d.nice_now,
                            act::PRIORITY_RANGE.start(),
                            act::PRIORITY_RANGE.end()
                        ),
                        t.label,
                    ));
                    out.push(self.row(d, Some(f), "Priority", v));
                    if let Some(e) = d.priority_error() {
                        out.push(self.row(d, None, "", vec![Span::styled(e.to_string(), t.error)]));
                    }
                }
                Field::Reason => {
                    out.push(self.row(
                        d,
                        Some(f),
                        "Reason",
                        self.field(&d.reason, focused, field_w),
                    ));
                    let note = match &d.reason_error {
                        Some(e) => Span::styled(e.to_string(), t.error),
                        None => Span::styled("required: why (it goes into the audit log)", t.label),
                    };
                    out.push(self.row(d, None, "", vec![note]));
                }
                Field::DryRun => {
                    let mark = if d.dry_run { "[x]" } else { "[ ]" };
                    let style = if focused { t.field_focus } else { t.text };
                    out.push(self.row(
                        d,
                        Some(f),
                        "Dry run",
                        vec![
                            Span::styled(mark.to_owned(), style),
                            Span::styled(" report what would be hit; touch nothing", t.label),
                        ],
                    ));
                }
                Field::Confirm => {
                    out.push(Line::raw(""));
                    let label = d.confirm_label();
                    let (text, style) = if focused {
                        (format!("▸ [ {label} ] ◂"), t.button_focus)
                    } else {
                        (format!("  [ {label} ]  "), t.button)
                    };
                    let pad = usize::from(width).saturating_sub(text.chars().count()) / 2;
                    out.push(Line::from(vec![
                        Span::raw(" ".repeat(pad)),
                        Span::styled(text, style),
                    ]));
                }
            }
        }
        out
    }
}

impl Part for ActionDialog<'_> {
    fn draw(&self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let d = self.dialog;
        let inner_w = area.width.min(76).saturating_sub(2);
        let lines = self.lines(d, inner_w);
        let h = u16::try_from(lines.len() + 3).unwrap_or(u16::MAX);
        let rect = centred(area, inner_w + 2, h);
        if rect.width < 3 || rect.height < 3 {
            return;
        }
        let dry = if d.dry_run { " (dry run)" } else { "" };
        let inner = frame(buf, rect, &format!("{}{dry}", act::kind_title(d.kind)), t);
        // Keep the button in view on a short terminal: drop lines above it.
        let room = usize::from(inner.height.saturating_sub(1));
        let skip = lines.len().saturating_sub(room);
        for (i, line) in lines.iter().skip(skip).enumerate() {
            put_line(buf, inner, 0, u16::try_from(i).unwrap_or(u16::MAX), line);
        }
        let hint = "Tab next field · ←→ signal/priority · Space toggles dry run · Esc cancels";
        let dy = inner.height.saturating_sub(1);
        put_line(buf, inner, 0, dy, &full(hint, inner.width, t.label));
    }
}

