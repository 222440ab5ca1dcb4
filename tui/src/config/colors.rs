//! `[colors]`: a style per name of [`Theme`]'s fields, written as words:
//! a foreground colour, `on` and a background colour, and modifiers, as in
//! `selected = "black on light-cyan bold"`.  A style given replaces the
//! theme's style of that name entirely.
use std::{collections::BTreeMap, str::FromStr as _};

use ratatui::style::{Color, Modifier, Style};
use toml::Spanned;

use super::{Mistake, in_file_order, mistake};
use crate::console::Theme;

const MODIFIERS: &[(&str, Modifier)] = &[
    ("bold", Modifier::BOLD),
    ("dim", Modifier::DIM),
    ("italic", Modifier::ITALIC),
    ("underline", Modifier::UNDERLINED),
    ("underlined", Modifier::UNDERLINED),
    ("reverse", Modifier::REVERSED),
    ("reversed", Modifier::REVERSED),
    ("blink", Modifier::SLOW_BLINK),
    ("crossed-out", Modifier::CROSSED_OUT),
];

const COLOUR_SYNTAX: &str = "a name like red, light-blue or dark-gray, default, #rrggbb, or 0..255";

pub(super) fn apply(
    theme: &mut Theme,
    colors: &BTreeMap<Spanned<String>, Spanned<String>>,
) -> Result<(), Mistake> {
    for (name, spec) in in_file_order(colors) {
        let key = name.get_ref().replace('-', "_");
        let Some(slot) = theme.style_mut(&key) else {
            return Err(mistake(
                name.span(),
                format!(
                    "colors.{}: no such style (styles: {})",
                    name.get_ref(),
                    Theme::names().join(", ")
                ),
            ));
        };
        *slot = parse_style(spec.get_ref()).map_err(|e| {
            mistake(
                spec.span(),
                format!("colors.{}: {:?}: {e}", name.get_ref(), spec.get_ref()),
            )
        })?;
    }
    Ok(())
}

/// Parses `"[fg] [on bg] [modifiers]"` in any order; `""` is plain text.
pub fn parse_style(spec: &str) -> Result<Style, String> {
    let mut style = Style::new();
    let mut words = spec.split_whitespace();
    while let Some(word) = words.next() {
        let lower = word.to_ascii_lowercase();
        if lower == "on" {
            let bg = words.next().ok_or("\"on\" needs a colour after it")?;
            if style.bg.is_some() {
                return Err("two background colours".to_owned());
            }
            let bg =
                colour(bg).ok_or_else(|| format!("unknown colour {bg:?} ({COLOUR_SYNTAX})"))?;
            style = style.bg(bg);
        } else if let Some((_, m)) = MODIFIERS.iter().find(|(n, _)| *n == lower) {
            style = style.add_modifier(*m);
        } else {
            let fg = colour(word).ok_or_else(|| {
                let modifiers: Vec<&str> = MODIFIERS.iter().map(|m| m.0).collect();
                format!(
                    "{word:?} is neither a colour ({COLOUR_SYNTAX}) nor a modifier ({})",
                    modifiers.join(" ")
                )
            })?;
            if style.fg.is_some() {
                return Err("two foreground colours (put \"on\" before a background)".to_owned());
            }
            style = style.fg(fg);
        }
    }
    Ok(style)
}

fn colour(word: &str) -> Option<Color> {
    if word.eq_ignore_ascii_case("default") {
        return Some(Color::Reset);
    }
    Color::from_str(word).ok()
}
