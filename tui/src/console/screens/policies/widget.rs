//! Drawing the Policies screen: the policies table, and under it the
//! opened policy's deviations.
use ratatui::{
    buffer::Buffer,
    layout::Rect,
    style::Style,
    text::{Line, Span},
};

use super::Policies;
use crate::console::{app::Data, theme::Theme, ui::Part};

pub(super) struct PoliciesView<'a> {
    pub screen: &'a Policies,
    pub data: &'a Data,
    pub theme: &'a Theme,
}

fn put(buf: &mut Buffer, area: Rect, y: u16, text: &str, style: Style) {
    if y < area.y + area.height {
        buf.set_stringn(area.x, y, text, usize::from(area.width), style);
        if let Some(w) = area.width.checked_sub(u16::try_from(unicode_width::UnicodeWidthStr::width(text)).unwrap_or(u16::MAX)) {
            let pad = " ".repeat(usize::from(w));
            let x = area.x + area.width - w;
            buf.set_string(x, y, pad, style);
        }
    }
}

fn cell(s: &str, width: usize) -> String {
    let mut out: String = s.chars().take(width).collect();
    let n = out.chars().count();
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(n) + 1));
    out
}

impl Part for PoliciesView<'_> {
    fn draw(&self, area: Rect, buf: &mut Buffer) {
        let (s, t) = (self.screen, self.theme);
        let mut y = area.y;
        let header = format!(
            "{}{}{}{}{}{}",
            cell("NAME", 28),
            cell("TYPE", 13),
            cell("MODE", 8),
            cell("ENABLED", 7),
            cell("DEV/1h", 8),
            "LAST RESPONSE"
        );
        put(buf, area, y, &header, t.table_title);
        y += 1;
        if s.rows.is_empty() {
            let errors = self.data.policies().errors();
            let text = errors.first().map_or_else(
                || "no policies: perch policy learn ... -o FILE, then perch policy apply -f FILE".to_owned(),
                |(_, e)| format!("policies could not be listed: {e}"),
            );
            put(buf, area, y, &text, t.text);
            return;
        }
        let room = if s.open.is_some() {
            s.rows.len().min(8)
        } else {
            usize::from(area.height.saturating_sub(1))
        };
        let offset = s.list.offset_for(room);
        for (i, r) in s.rows.iter().enumerate().skip(offset).take(room) {
            let p = &r.summary;
            let mode = if p.dry_run {
                "dry run".to_owned()
            } else {
                perch_proto::v1::PolicyMode::try_from(p.mode)
                    .map_or("-", |m| if m == perch_proto::v1::PolicyMode::Enforce { "enforce" } else { "audit" })
                    .to_owned()
            };
            let line = format!(
                "{}{}{}{}{}{}",
                cell(&crate::text::clean(&p.name), 28),
                cell(&p.r#type, 13),
                cell(&mode, 8),
                cell(if p.enabled { "yes" } else { "no" }, 7),
                cell(&format!("{} ({}x)", r.deviations, r.sightings), 8),
                r.last_response
            );
            let style = if i == s.list.cursor() && s.open.is_none() { t.selected } else { t.text };
            put(buf, area, y, &line, style);
            y += 1;
        }
        let Some((rows, list)) = &s.open else { return };
        y += 1;
        let name = s.rows.get(s.list.cursor()).map_or("", |r| r.summary.name.as_str());
        put(buf, area, y, &format!("Deviations of {name} (newest first; Enter: the process, Esc: back)"), t.table_title);
        y += 1;
        let head = format!("{}{}{}{}", cell("KIND", 9), cell("COUNT", 6), cell("LAST", 7), "PROCESS / SUMMARY / RESPONSES");
        put(buf, area, y, &head, t.table_title);
        y += 1;
        let room = usize::from((area.y + area.height).saturating_sub(y)) / 2;
        let offset = list.offset_for(room.max(1));
        for (i, d) in rows.iter().enumerate().skip(offset).take(room) {
            let age = d.age_s.map_or_else(|| "-".to_owned(), |a| format!("{a}s"));
            let style = if i == list.cursor() { t.selected } else { t.text };
            let first = format!("{}{}{}{}", cell(d.kind, 9), cell(&d.count.to_string(), 6), cell(&age, 7), d.chain);
            put(buf, area, y, &first, style);
            y += 1;
            let second = format!("{}{}{}", " ".repeat(24), d.summary, if d.responses.is_empty() { String::new() } else { format!("; {}", d.responses) });
            put(buf, area, y, &second, t.label);
            y += 1;
        }
    }
}

pub(super) fn status_line(s: &Policies, data: &Data, theme: &Theme) -> Line<'static> {
    let enforcing = s
        .rows
        .iter()
        .filter(|r| r.summary.enabled && !r.summary.dry_run && r.summary.mode == i32::from(perch_proto::v1::PolicyMode::Enforce))
        .count();
    let dry = s.rows.iter().filter(|r| r.summary.dry_run).count();
    let devs: usize = s.rows.iter().map(|r| r.deviations).sum();
    let _ = data;
    Line::from(vec![
        Span::styled(format!(" {} policies", s.rows.len()), theme.value),
        Span::styled(format!(", {enforcing} enforcing, {dry} dry run; {devs} deviations in the last hour"), theme.label),
    ])
}
