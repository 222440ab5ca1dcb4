//! The action log view (the audit records, newest first, in the chosen
//! columns), its column chooser, and one record in full.
use std::fmt::Write as _;

use perch_proto::{
    names,
    v1::{ActionMode, ActionResult, AuditRecord, ProcessOutcome, Role},
};
use ratatui::{
    buffer::Buffer,
    layout::Rect,
    text::{Line, Span},
};

use super::{
    Part, ellipsize,
    overlays::{centred, frame},
    put, put_line,
};
use crate::{
    act,
    console::{
        App,
        audit::{LogColumn, columns},
        format,
        theme::Theme,
    },
    text::clean,
};

/// `not_successful` -> `not successful`.
fn result_text(r: ActionResult) -> String {
    act::result_title(r).to_ascii_lowercase()
}

fn actor(r: &AuditRecord) -> String {
    if r.actor_user.is_empty() {
        format!("uid {}", r.actor_uid)
    } else {
        clean(&r.actor_user).into_owned()
    }
}

fn when(app: &App, r: &AuditRecord) -> String {
    let secs = i64::try_from(r.time_unix_ns / perch_proto::NS_PER_SEC).unwrap_or(i64::MAX);
    format::date_time(secs, app.config().utc_offset_secs)
}

pub struct ActionLogView<'a> {
    app: &'a App,
    theme: &'a Theme,
}

impl<'a> ActionLogView<'a> {
    #[must_use]
    pub fn new(app: &'a App, theme: &'a Theme) -> ActionLogView<'a> {
        ActionLogView { app, theme }
    }

    fn cell(&self, col: LogColumn, r: &AuditRecord) -> String {
        match col {
            LogColumn::Type => {
                let dry = if r.mode() == ActionMode::DryRun {
                    " (dry)"
                } else {
                    ""
                };
                format!("{}{dry}", act::kind_name(r.action()))
            }
            LogColumn::Status => result_text(r.result()),
            LogColumn::Created => when(self.app, r),
            LogColumn::Code => clean(&r.code).into_owned(),
            LogColumn::Who => actor(r),
            LogColumn::Target => r.target.as_ref().map_or_else(String::new, |t| {
                let pid = t.key.map_or(0, |k| k.pid);
                format!("{pid} {}", clean(&t.exe))
            }),
            LogColumn::Reason => clean(&r.reason).into_owned(),
        }
    }

    /// Why the list is empty.
    fn empty_message(&self) -> String {
        let log = self.app.action_log();
        let errors: Vec<String> = log
            .hosts
            .iter()
            .enumerate()
            .filter_map(|(i, h)| {
                let name = self.app.hosts().get(i).map_or("", |h| h.name.as_str());
                h.error.as_ref().map(|e| format!("{name}: {e}"))
            })
            .collect();
        if !errors.is_empty() {
            format!("cannot read the audit log: {}", errors.join("; "))
        } else if log.loading() {
            "fetching the audit log…".to_owned()
        } else if log.total() > 0 {
            "no record matches the filter (Esc clears it)".to_owned()
        } else {
            "no actions recorded yet".to_owned()
        }
    }
}

impl Part for ActionLogView<'_> {
    fn draw(&self, area: Rect, buf: &mut Buffer) {
        let (app, t) = (self.app, self.theme);
        let log = app.action_log();
        let cols = columns::fit(area.width, &log.columns);
        buf.set_style(Rect { height: 1, ..area }, t.table_title);
        let mut x = 0u16;
        for &(col, w) in &cols {
            put(buf, area, x, 0, col.title(), w, t.table_title);
            x = x.saturating_add(w + 1);
        }
        if log.shown_len() == 0 {
            let msg = self.empty_message();
            put(buf, area, 1, 1, &msg, area.width.saturating_sub(1), t.label);
            return;
        }
        let body_h = usize::from(area.height.saturating_sub(1));
        let off = log.cursor.saturating_sub(body_h.saturating_sub(1));
        for (i, (_, r)) in log.shown().skip(off).take(body_h).enumerate() {
            let dy = u16::try_from(i + 1).unwrap_or(u16::MAX);
            let mut x = 0u16;
            for &(col, w) in &cols {
                let style = match (col, r.result()) {
                    (LogColumn::Status, ActionResult::Success) => t.good,
                    (LogColumn::Status, ActionResult::Partial) => t.prompt,
                    (LogColumn::Status, _) => t.error,
                    _ => t.text,
                };
                let text = ellipsize(&self.cell(col, r), usize::from(w));
                put(buf, area, x, dy, &text, w, style);
                x = x.saturating_add(w + 1);
            }
            if off + i == log.cursor && dy < area.height {
                buf.set_style(
                    Rect {
                        y: area.y + dy,
                        height: 1,
                        ..area
                    },
                    t.selected,
                );
            }
        }
    }
}

pub struct ColumnChooser<'a> {
    app: &'a App,
    theme: &'a Theme,
    cursor: usize,
}

impl<'a> ColumnChooser<'a> {
    #[must_use]
    pub fn new(app: &'a App, theme: &'a Theme, cursor: usize) -> ColumnChooser<'a> {
        ColumnChooser { app, theme, cursor }
    }
}

impl Part for ColumnChooser<'_> {
    fn draw(&self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let shown = &self.app.action_log().columns;
        let h = u16::try_from(LogColumn::ALL.len() + 3).unwrap_or(u16::MAX);
        let rect = centred(area, 52, h);
        if rect.width < 3 || rect.height < 3 {
            return;
        }
        let inner = frame(buf, rect, "Columns (Space shows or hides)", t);
        let w = usize::from(inner.width);
        for (i, col) in LogColumn::ALL.iter().enumerate() {
            let mark = if shown[i] { "[x]" } else { "[ ]" };
            let cur = if i == self.cursor { "▸" } else { " " };
            let text = format!("{cur}{mark} {:<8} {}", col.title(), col.describe());
            let style = if i == self.cursor {
                t.menu_cursor
            } else {
                t.text
            };
            let line = Line::styled(format!("{:<w$}", ellipsize(&text, w)), style);
            put_line(buf, inner, 0, u16::try_from(i).unwrap_or(u16::MAX), &line);
        }
        let dy = inner.height.saturating_sub(1);
        put_line(buf, inner, 0, dy, &Line::styled("Esc closes", t.label));
    }
}

pub struct RecordView<'a> {
    app: &'a App,
    theme: &'a Theme,
    scroll: usize,
}

impl<'a> RecordView<'a> {
    #[must_use]
    pub fn new(app: &'a App, theme: &'a Theme, scroll: usize) -> RecordView<'a> {
        RecordView { app, theme, scroll }
    }

    fn kv(&self, k: &str, v: String) -> Line<'static> {
        Line::from(vec![
            Span::styled(format!("{k:<10}"), self.theme.label),
            Span::styled(v, self.theme.text),
        ])
    }

    fn lines(&self, host: &str, r: &AuditRecord) -> Vec<Line<'static>> {
        let role = match r.actor_role() {
            Role::Unspecified => "role unknown".to_owned(),
            known => names::short(known),
        };
        let mode = if r.mode() == ActionMode::DryRun {
            "dry run"
        } else {
            "live"
        };
        let mut how = format!("{} ({mode})", act::kind_name(r.action()));
        let sig = act::signal_name(r.signal());
        if !sig.is_empty() {
            let _ = write!(how, ", signal {sig}");
        }
        if let Some(p) = r.priority {
            let _ = write!(how, ", priority {p}");
        }
        let mut result = format!("{} {}", act::result_title(r.result()), clean(&r.code));
        if !r.detail.is_empty() {
            let _ = write!(result, " — {}", clean(&r.detail));
        }
        let tg = r.target.clone().unwrap_or_default();
        let key = tg.key.unwrap_or_default();
        let mut out = vec![
            self.kv("Record", format!("{} (line {})", clean(&r.id), r.line)),
            self.kv("Time", when(self.app, r)),
            self.kv(
                "Host",
                if host.is_empty() {
                    clean(&r.host).into_owned()
                } else {
                    host.to_owned()
                },
            ),
            self.kv(
                "Actor",
                format!("{} (uid {}, {role})", actor(r), r.actor_uid),
            ),
            self.kv("Origin", clean(&r.origin).into_owned()),
            self.kv("Action", how),
            self.kv(
                "Target",
                format!(
                    "{} {} (start {}, {})",
                    key.pid,
                    clean(&tg.exe),
                    key.start_time_ns,
                    clean(&tg.user)
                ),
            ),
            self.kv(
                "Argv",
                tg.argv
                    .iter()
                    .map(|a| clean(a).into_owned())
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            self.kv("Cgroup", clean(&tg.cgroup_path).into_owned()),
        ];
        if !tg.pod_uid.is_empty() {
            out.push(self.kv(
                "Pod",
                format!(
                    "{}/{} ({})",
                    clean(&tg.pod_namespace),
                    clean(&tg.pod_name),
                    clean(&tg.pod_uid)
                ),
            ));
        }
        out.extend([
            self.kv("Reason", clean(&r.reason).into_owned()),
            self.kv("Result", result),
            Line::styled(
                format!("Processes ({})", r.processes.len()),
                self.theme.label,
            ),
        ]);
        for p in &r.processes {
            let outcome = match p.outcome() {
                ProcessOutcome::WouldAct => "would act",
                ProcessOutcome::Done => "done",
                ProcessOutcome::Gone => "gone",
                ProcessOutcome::Failed => "failed",
                ProcessOutcome::Unspecified => "?",
            };
            let pid = p.key.map_or(0, |k| k.pid);
            out.push(Line::raw(format!(
                "  {pid:>7} {:<9} {} {}",
                outcome,
                clean(&p.exe),
                clean(&p.detail)
            )));
        }
        out.push(self.kv("Prev hash", clean(&r.prev_hash).into_owned()));
        out.push(self.kv("Hash", clean(&r.hash).into_owned()));
        out
    }
}

impl Part for RecordView<'_> {
    fn draw(&self, area: Rect, buf: &mut Buffer) {
        let Some((host, r)) = self.app.action_log().selected() else {
            return;
        };
        let inner = frame(buf, area, "Audit record (Esc closes)", self.theme);
        let lines = self.lines(self.app.host_name(host), r);
        let h = usize::from(inner.height);
        let scroll = self.scroll.min(lines.len().saturating_sub(h));
        for (i, line) in lines.iter().skip(scroll).take(h).enumerate() {
            put_line(buf, inner, 0, u16::try_from(i).unwrap_or(u16::MAX), line);
        }
    }
}
