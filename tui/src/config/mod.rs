//! The console's configuration file: an optional TOML file (`--config`,
//! `$PERCH_CONFIG`, else `$XDG_CONFIG_HOME/perch/config.toml`, else
//! `~/.config/perch/config.toml`) for the refresh interval, the exited
//! process retention, the theme, the columns and the keys.  It is read and
//! checked completely before the terminal is touched: any mistake is one
//! error naming the key and its line, and the console does not start.
//! `tui/config.example.toml` documents every key.
mod colors;
mod keys;

use std::{
    collections::BTreeMap,
    io,
    ops::{Range, RangeInclusive},
    path::{Path, PathBuf},
    time::Duration,
};

use serde::Deserialize;
use toml::Spanned;

use crate::console::{
    Config, Theme,
    columns::{Column, ColumnSet},
};

/// Allowed ranges.
pub mod limits {
    use std::ops::RangeInclusive;
    /// htop's delay goes down to 0.1 s; ten seconds is a slow link's worth.
    pub const REFRESH_MS: RangeInclusive<u64> = 100..=10_000;
    pub const EXITED_RETENTION_SECS: RangeInclusive<u64> = 0..=3_600;
    pub const PROCESS_MEMORY_MIB: RangeInclusive<u64> = 8..=4_096;
}

/// What the console runs with: the defaults, changed by the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The console's own settings (retention, colour, columns, keys).
    pub console: Config,
    /// How often collector data is redrawn (input is drawn at once).
    pub refresh: Duration,
    pub theme: Theme,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            console: Config::default(),
            refresh: Duration::from_secs(1),
            theme: Theme::new(true),
        }
    }
}

/// The parts of the environment the configuration depends on.
#[derive(Clone, Debug, Default)]
pub struct Env {
    /// `NO_COLOR` is set to something non-empty (<https://no-color.org>).
    pub no_color: bool,
    pub xdg_config_home: Option<PathBuf>,
    pub home: Option<PathBuf>,
}

impl Env {
    /// This process's environment.
    #[must_use]
    pub fn current() -> Env {
        let var = |name| std::env::var_os(name).filter(|v| !v.is_empty());
        Env {
            no_color: var("NO_COLOR").is_some(),
            xdg_config_home: var("XDG_CONFIG_HOME").map(PathBuf::from),
            home: var("HOME").map(PathBuf::from),
        }
    }

    /// Where the file is looked for when none is named.  A relative
    /// `XDG_CONFIG_HOME` is ignored, as the XDG specification says.
    #[must_use]
    pub fn default_path(&self) -> Option<PathBuf> {
        let base = match &self.xdg_config_home {
            Some(dir) if dir.is_absolute() => dir.clone(),
            _ => self.home.as_ref()?.join(".config"),
        };
        Some(base.join("perch").join("config.toml"))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("config {path} line {line}: {message}")]
    At {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("config {path}: {message}")]
    Parse { path: PathBuf, message: String },
}

/// The file's shape; unknown keys are errors (a typo must not pass silently).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    refresh_ms: Option<Spanned<u64>>,
    exited_retention_secs: Option<Spanned<u64>>,
    process_memory_mib: Option<Spanned<u64>>,
    theme: Option<Spanned<String>>,
    colors: Option<BTreeMap<Spanned<String>, Spanned<String>>>,
    columns: Option<Vec<Spanned<String>>>,
    keys: Option<BTreeMap<Spanned<String>, Spanned<keys::Value>>>,
}

/// A mistake at a place in the file, before the path is known.
struct Mistake {
    span: Range<usize>,
    message: String,
}

fn mistake(span: Range<usize>, message: String) -> Mistake {
    Mistake { span, message }
}

/// Loads the settings: the file named by `explicit` (which must exist), else
/// the default file when there is one, else the defaults.
pub fn load(explicit: Option<&Path>, env: &Env) -> Result<Settings, ConfigError> {
    let (path, required) = match explicit {
        Some(p) => (p.to_owned(), true),
        None => match env.default_path() {
            Some(p) => (p, false),
            None => return parse_text(Path::new(""), "", env.no_color),
        },
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => parse_text(&path, &text, env.no_color),
        Err(e) if !required && e.kind() == io::ErrorKind::NotFound => {
            parse_text(&path, "", env.no_color)
        }
        Err(source) => Err(ConfigError::Read { path, source }),
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).unwrap_or(text).matches('\n').count() + 1
}

/// Parses and checks a whole file; `path` is only for messages.
pub fn parse_text(path: &Path, text: &str, no_color: bool) -> Result<Settings, ConfigError> {
    let file: File = toml::from_str(text).map_err(|e| match e.span() {
        Some(s) => ConfigError::At {
            path: path.to_owned(),
            line: line_of(text, s.start),
            message: match key_at(text, s) {
                Some(key) if !e.message().contains(&key) => format!("{key}: {}", e.message()),
                _ => e.message().to_owned(),
            },
        },
        None => ConfigError::Parse {
            path: path.to_owned(),
            message: e.message().to_owned(),
        },
    })?;
    apply(&file, no_color).map_err(|m| ConfigError::At {
        path: path.to_owned(),
        line: line_of(text, m.span.start),
        message: m.message,
    })
}

/// The key a TOML error points at, with its table (`keys.quit`): toml's
/// messages say what is wrong ("invalid type: integer `5`") but not where
/// in words, and a line number alone is easy to misread.
fn key_at(text: &str, span: Range<usize>) -> Option<String> {
    let start = span.start.min(text.len());
    let line_start = text.get(..start)?.rfind('\n').map_or(0, |i| i + 1);
    let before = text.get(line_start..start)?;
    let is_header = before.trim_start().starts_with('[');
    let key = match before.split_once('=') {
        Some((k, _)) if !is_header => k.trim(),
        _ => text.get(span)?.trim().trim_matches(['[', ']']).trim(),
    };
    if key.is_empty() || key.len() > 64 || key.contains(['\n', '"', '=']) {
        return None;
    }
    let table = text
        .get(..line_start)?
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(|l| l.trim_matches(['[', ']']).trim());
    Some(match table {
        Some(t) if !is_header => format!("{t}.{key}"),
        _ => key.to_owned(),
    })
}

fn ranged(v: &Spanned<u64>, key: &str, range: &RangeInclusive<u64>) -> Result<u64, Mistake> {
    let got = *v.get_ref();
    if range.contains(&got) {
        Ok(got)
    } else {
        Err(mistake(
            v.span(),
            format!(
                "{key} must be in {}..={} (got {got})",
                range.start(),
                range.end()
            ),
        ))
    }
}

fn apply(file: &File, no_color: bool) -> Result<Settings, Mistake> {
    let mut s = Settings::default();
    if let Some(v) = &file.refresh_ms {
        s.refresh = Duration::from_millis(ranged(v, "refresh_ms", &limits::REFRESH_MS)?);
    }
    if let Some(v) = &file.exited_retention_secs {
        s.console.exited_retention = Duration::from_secs(ranged(
            v,
            "exited_retention_secs",
            &limits::EXITED_RETENTION_SECS,
        )?);
    }
    if let Some(v) = &file.process_memory_mib {
        let mib = ranged(v, "process_memory_mib", &limits::PROCESS_MEMORY_MIB)?;
        s.console.process_memory_bytes = usize::try_from(mib << 20).unwrap_or(usize::MAX);
    }
    let mono = match file
        .theme
        .as_ref()
        .map(|t| (t.get_ref().as_str(), t.span()))
    {
        None | Some(("default", _)) => false,
        Some(("mono", _)) => true,
        Some((other, span)) => {
            return Err(mistake(
                span,
                format!("theme must be \"default\" or \"mono\" (got {other:?})"),
            ));
        }
    };
    s.console.color = !mono && !no_color;
    s.theme = Theme::new(s.console.color);
    if let Some(colors) = &file.colors {
        colors::apply(&mut s.theme, colors)?;
    }
    if no_color {
        s.theme = s.theme.without_colour();
    }
    if let Some(cols) = &file.columns {
        s.console.columns = columns(cols)?;
    }
    if let Some(k) = &file.keys {
        keys::apply(&mut s.console.keys, k)?;
    }
    Ok(s)
}

fn columns(names: &[Spanned<String>]) -> Result<ColumnSet, Mistake> {
    let mut set = ColumnSet::NONE;
    for name in names {
        let col = Column::from_name(name.get_ref()).ok_or_else(|| {
            let known: Vec<&str> = Column::ALL.iter().map(|c| c.title()).collect();
            mistake(
                name.span(),
                format!(
                    "columns: unknown column {:?} (columns: {})",
                    name.get_ref(),
                    known.join(" ")
                ),
            )
        })?;
        set = set.with(col);
    }
    Ok(set)
}

/// Entries of a map in the order they appear in the file, so the first
/// mistake reported is the first one in the file.
fn in_file_order<V>(map: &BTreeMap<Spanned<String>, V>) -> Vec<(&Spanned<String>, &V)> {
    let mut v: Vec<_> = map.iter().collect();
    v.sort_by_key(|(k, _)| k.span().start);
    v
}

#[cfg(test)]
mod tests;
