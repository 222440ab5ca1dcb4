//! Every style the console uses, in one place.  The monochrome theme (for
//! `NO_COLOR`) uses only bold, reverse, dim and underline, so every state
//! stays distinguishable without colour.
use ratatui::style::{Color, Modifier, Style};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Theme {
    pub text: Style,
    /// Labels in the header (`Tasks:`, `Mem`).
    pub label: Style,
    /// Values in the header.
    pub value: Style,
    pub bar_brackets: Style,
    pub cpu_user: Style,
    pub cpu_system: Style,
    pub cpu_iowait: Style,
    pub mem_used: Style,
    pub mem_cache: Style,
    pub swap_used: Style,
    /// Something needs attention (lost events, procfs fallback, reconnecting).
    pub warn: Style,
    pub good: Style,
    pub table_title: Style,
    /// The sort column's title.
    pub sort_title: Style,
    pub selected: Style,
    /// Exited processes (the whole row).
    pub exited: Style,
    pub kernel: Style,
    /// A userland thread's row (htop's `H`).
    pub thread: Style,
    pub tree: Style,
    /// Matched characters of a search.
    pub matched: Style,
    /// A container or pod name.
    pub container: Style,
    pub footer_key: Style,
    pub footer_label: Style,
    pub prompt: Style,
    pub error: Style,
    pub border: Style,
    pub overlay_title: Style,
    pub menu_cursor: Style,
    pub spark: Style,
    /// An action's result box, by result.
    pub toast_ok: Style,
    pub toast_partial: Style,
    pub toast_failed: Style,
    /// A dialog's input field, and the focused one.
    pub field: Style,
    pub field_focus: Style,
    /// A dialog's confirm button, and when focused.
    pub button: Style,
    pub button_focus: Style,
}

impl Theme {
    /// The coloured theme, or the monochrome one when `color` is false.
    #[must_use]
    pub fn new(color: bool) -> Theme {
        if color { Theme::color() } else { Theme::mono() }
    }

    /// Every style with its name in the configuration file's `[colors]`.
    pub fn named_mut(&mut self) -> [(&'static str, &mut Style); 36] {
        [
            ("text", &mut self.text),
            ("label", &mut self.label),
            ("value", &mut self.value),
            ("bar_brackets", &mut self.bar_brackets),
            ("cpu_user", &mut self.cpu_user),
            ("cpu_system", &mut self.cpu_system),
            ("cpu_iowait", &mut self.cpu_iowait),
            ("mem_used", &mut self.mem_used),
            ("mem_cache", &mut self.mem_cache),
            ("swap_used", &mut self.swap_used),
            ("warn", &mut self.warn),
            ("good", &mut self.good),
            ("table_title", &mut self.table_title),
            ("sort_title", &mut self.sort_title),
            ("selected", &mut self.selected),
            ("exited", &mut self.exited),
            ("kernel", &mut self.kernel),
            ("thread", &mut self.thread),
            ("tree", &mut self.tree),
            ("matched", &mut self.matched),
            ("container", &mut self.container),
            ("footer_key", &mut self.footer_key),
            ("footer_label", &mut self.footer_label),
            ("prompt", &mut self.prompt),
            ("error", &mut self.error),
            ("border", &mut self.border),
            ("overlay_title", &mut self.overlay_title),
            ("menu_cursor", &mut self.menu_cursor),
            ("spark", &mut self.spark),
            ("toast_ok", &mut self.toast_ok),
            ("toast_partial", &mut self.toast_partial),
            ("toast_failed", &mut self.toast_failed),
            ("field", &mut self.field),
            ("field_focus", &mut self.field_focus),
            ("button", &mut self.button),
            ("button_focus", &mut self.button_focus),
        ]
    }

    /// A flag's or trace's severity, from the styles above (so `[colors]`
    /// and `NO_COLOR` apply): critical as a warning, high as the red of
    /// system CPU, medium as the yellow of cache, low and info plain.
    #[must_use]
    pub fn severity(&self, sev: perch_proto::v1::Severity) -> Style {
        use perch_proto::v1::Severity;
        match sev {
            Severity::Critical => self.warn,
            Severity::High => self.cpu_system,
            Severity::Medium => self.mem_cache,
            _ => self.text,
        }
    }

    /// The style called `name` (see [`Theme::named_mut`]).
    pub fn style_mut(&mut self, name: &str) -> Option<&mut Style> {
        self.named_mut()
            .into_iter()
            .find(|(n, _)| *n == name)
            .map(|(_, s)| s)
    }

    /// The names of every style, in declaration order.
    #[must_use]
    pub fn names() -> Vec<&'static str> {
        Theme::mono().named_mut().map(|(n, _)| n).to_vec()
    }

    /// The same theme with every colour taken out (`NO_COLOR` wins over
    /// the configuration); bold, reverse, dim and underline stay.
    #[must_use]
    pub fn without_colour(mut self) -> Theme {
        for (_, s) in self.named_mut() {
            s.fg = None;
            s.bg = None;
            s.underline_color = None;
        }
        self
    }

    fn color() -> Theme {
        let s = Style::new();
        Theme {
            text: s,
            label: s.fg(Color::Cyan),
            value: s.add_modifier(Modifier::BOLD),
            bar_brackets: s.add_modifier(Modifier::BOLD),
            cpu_user: s.fg(Color::Green),
            cpu_system: s.fg(Color::Red),
            cpu_iowait: s.fg(Color::Blue),
            mem_used: s.fg(Color::Green),
            mem_cache: s.fg(Color::Yellow),
            swap_used: s.fg(Color::Red),
            warn: s
                .fg(Color::White)
                .bg(Color::Red)
                .add_modifier(Modifier::BOLD),
            good: s.fg(Color::Green),
            table_title: s.fg(Color::Black).bg(Color::Green),
            sort_title: s
                .fg(Color::Black)
                .bg(Color::Cyan)
                .add_modifier(Modifier::BOLD),
            selected: s.fg(Color::Black).bg(Color::Cyan),
            exited: s.fg(Color::DarkGray),
            kernel: s.fg(Color::DarkGray),
            thread: s.fg(Color::Green),
            tree: s.fg(Color::Cyan),
            matched: s
                .fg(Color::Yellow)
                .add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            container: s.fg(Color::Magenta),
            footer_key: s.fg(Color::Black).bg(Color::Cyan),
            footer_label: s,
            prompt: s.fg(Color::Yellow).add_modifier(Modifier::BOLD),
            error: s.fg(Color::White).bg(Color::Red),
            border: s.fg(Color::Cyan),
            overlay_title: s.add_modifier(Modifier::BOLD),
            menu_cursor: s.fg(Color::Black).bg(Color::Cyan),
            spark: s.fg(Color::Green),
            toast_ok: s.fg(Color::Black).bg(Color::Green),
            toast_partial: s.fg(Color::Black).bg(Color::Yellow),
            toast_failed: s
                .fg(Color::White)
                .bg(Color::Red)
                .add_modifier(Modifier::BOLD),
            field: s.add_modifier(Modifier::UNDERLINED),
            field_focus: s
                .fg(Color::Cyan)
                .add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            button: s.add_modifier(Modifier::BOLD),
            button_focus: s
                .fg(Color::White)
                .bg(Color::Red)
                .add_modifier(Modifier::BOLD),
        }
    }

    fn mono() -> Theme {
        let s = Style::new();
        let bold = s.add_modifier(Modifier::BOLD);
        let rev = s.add_modifier(Modifier::REVERSED);
        let dim = s.add_modifier(Modifier::DIM);
        Theme {
            text: s,
            label: s,
            value: bold,
            bar_brackets: bold,
            cpu_user: s,
            cpu_system: bold,
            cpu_iowait: dim,
            mem_used: s,
            mem_cache: dim,
            swap_used: s,
            warn: rev.add_modifier(Modifier::BOLD),
            good: s,
            table_title: rev,
            sort_title: rev.add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            selected: rev,
            exited: dim,
            kernel: dim,
            thread: dim,
            tree: s,
            matched: bold.add_modifier(Modifier::UNDERLINED),
            container: s,
            footer_key: rev,
            footer_label: s,
            prompt: bold,
            error: rev.add_modifier(Modifier::BOLD),
            border: s,
            overlay_title: bold,
            menu_cursor: rev,
            spark: s,
            toast_ok: bold,
            toast_partial: bold.add_modifier(Modifier::UNDERLINED),
            toast_failed: rev.add_modifier(Modifier::BOLD),
            field: s.add_modifier(Modifier::UNDERLINED),
            field_focus: bold.add_modifier(Modifier::UNDERLINED),
            button: bold,
            button_focus: rev.add_modifier(Modifier::BOLD),
        }
    }
}

#[cfg(test)]
mod tests {
    use ratatui::style::Modifier;

    use super::*;

    #[test]
    fn monochrome_uses_no_colour() {
        let t = Theme::new(false);
        let styles = [
            t.text,
            t.label,
            t.value,
            t.bar_brackets,
            t.cpu_user,
            t.cpu_system,
            t.cpu_iowait,
            t.mem_used,
            t.mem_cache,
            t.swap_used,
            t.warn,
            t.good,
            t.table_title,
            t.sort_title,
            t.selected,
            t.exited,
            t.kernel,
            t.thread,
            t.tree,
            t.matched,
            t.container,
            t.footer_key,
            t.footer_label,
            t.prompt,
            t.error,
            t.border,
            t.overlay_title,
            t.menu_cursor,
            t.spark,
            t.toast_ok,
            t.toast_partial,
            t.toast_failed,
            t.field,
            t.field_focus,
            t.button,
            t.button_focus,
        ];
        for s in styles {
            assert_eq!((s.fg, s.bg), (None, None), "{s:?}");
        }
        assert!(t.selected.add_modifier.contains(Modifier::REVERSED));
        assert!(t.exited.add_modifier.contains(Modifier::DIM));
        // Results differ without colour: failed is reversed, success is not.
        assert!(t.toast_failed.add_modifier.contains(Modifier::REVERSED));
        assert_ne!(t.toast_ok, t.toast_partial);
        assert_ne!(t.toast_ok, t.toast_failed);
        assert_eq!(t.clone().without_colour(), t);
    }

    #[test]
    fn styles_by_name() {
        let names = Theme::names();
        assert_eq!(names.len(), 36);
        let mut t = Theme::new(true);
        for n in &names {
            assert!(t.style_mut(n).is_some(), "{n}");
        }
        assert!(t.style_mut("nope").is_none());
        *t.style_mut("selected").expect("selected") = Style::new().fg(Color::Red);
        assert_eq!(t.selected, Style::new().fg(Color::Red));
    }
}
