use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::{Color, Modifier, Style};

use super::*;
use crate::console::{
    Focus, Msg, Screen,
    columns::{self, Optional},
    input::Section,
    overlays::OverlayKind,
};

fn parse(text: &str) -> Result<Settings, ConfigError> {
    parse_text(Path::new("perch.toml"), text, false)
}

fn err(text: &str) -> String {
    parse(text).expect_err("a mistake").to_string()
}

fn ch(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

#[test]
fn an_empty_file_is_the_defaults() {
    let s = parse("").expect("valid");
    assert_eq!(s, Settings::default());
    assert_eq!(s.refresh, Duration::from_secs(1));
    assert_eq!(s.console.exited_retention, Duration::from_secs(30));
    assert_eq!(s.console.columns, ColumnSet::ALL);
    assert_eq!(s.theme, Theme::new(true));
}

#[test]
fn values_are_taken() {
    let s = parse("refresh_ms = 250\nexited_retention_secs = 0\n").expect("valid");
    assert_eq!(s.refresh, Duration::from_millis(250));
    assert_eq!(s.console.exited_retention, Duration::ZERO);
}

#[test]
fn out_of_range_names_key_line_and_range() {
    assert_eq!(
        err("theme = \"default\"\n\nrefresh_ms = 5\n"),
        "config perch.toml line 3: refresh_ms must be in 100..=10000 (got 5)"
    );
    assert_eq!(
        err("exited_retention_secs = 7200"),
        "config perch.toml line 1: exited_retention_secs must be in 0..=3600 (got 7200)"
    );
}

#[test]
fn unknown_keys_and_wrong_types_name_key_and_line() {
    let e = err("refresh_ms = 500\nrefesh_ms = 5\n");
    assert!(e.starts_with("config perch.toml line 2: "), "{e}");
    assert!(e.contains("refesh_ms"), "{e}");
    let e = err("\nrefresh_ms = \"fast\"\n");
    assert!(
        e.starts_with("config perch.toml line 2: refresh_ms: "),
        "{e}"
    );
    let e = err("refresh_ms = -1\n");
    assert!(
        e.starts_with("config perch.toml line 1: refresh_ms: "),
        "{e}"
    );
    let e = err("columns = \"PID\"\n");
    assert!(e.starts_with("config perch.toml line 1: columns: "), "{e}");
    let e = err("refresh_ms = \n");
    assert!(
        e.starts_with("config perch.toml line 1: refresh_ms: "),
        "{e}"
    );
    let e = err("# keys\n[keys]\n\nquit = 5\n");
    assert!(
        e.starts_with("config perch.toml line 4: keys.quit: "),
        "{e}"
    );
    let e = err("[keys.detail]\ndown = { a = 1 }\n");
    assert!(
        e.starts_with("config perch.toml line 2: keys.detail.down: "),
        "{e}"
    );
    let e = err("refresh_ms = 500\nrefresh_ms = 600\n");
    assert!(
        e.starts_with("config perch.toml line 2: refresh_ms: "),
        "{e}"
    );
    let e = err("[colors]\n[colors]\n");
    assert!(e.starts_with("config perch.toml line 2: colors: "), "{e}");
}

#[test]
fn theme_mono_and_no_color() {
    let mono = parse("theme = \"mono\"").expect("valid");
    assert_eq!(mono.theme, Theme::new(false));
    assert!(!mono.console.color);
    assert_eq!(
        err("\ntheme = \"dark\""),
        "config perch.toml line 2: theme must be \"default\" or \"mono\" (got \"dark\")"
    );
    // NO_COLOR wins over the theme and over colours from the file.
    let text = "[colors]\nselected = \"black on cyan underline\"\n";
    let s = parse_text(Path::new("p"), text, true).expect("valid");
    assert!(!s.console.color);
    assert_eq!(
        s.theme.selected,
        Style::new().add_modifier(Modifier::UNDERLINED)
    );
    assert_eq!(s.theme.warn, Theme::new(false).warn);
}

#[test]
fn colours_override_single_styles() {
    let s = parse(
        "[colors]\nselected = \"black on light-cyan bold\"\nexited = \"#808080\"\n\
         bar-brackets = \"default\"\ntree = \"\"\n",
    )
    .expect("valid");
    assert_eq!(
        s.theme.selected,
        Style::new()
            .fg(Color::Black)
            .bg(Color::LightCyan)
            .add_modifier(Modifier::BOLD)
    );
    assert_eq!(s.theme.exited, Style::new().fg(Color::Rgb(128, 128, 128)));
    assert_eq!(s.theme.bar_brackets, Style::new().fg(Color::Reset));
    assert_eq!(s.theme.tree, Style::new());
    assert_eq!(s.theme.label, Theme::new(true).label);
    // On the mono theme too.
    let s = parse("theme = \"mono\"\n[colors]\nspark = \"green\"\n").expect("valid");
    assert_eq!(s.theme.spark, Style::new().fg(Color::Green));
}

#[test]
fn bad_colours_name_key_and_line() {
    let e = err("[colors]\nselected = \"black\"\nsleceted = \"red\"\n");
    assert!(
        e.starts_with("config perch.toml line 3: colors.sleceted: no such style"),
        "{e}"
    );
    assert!(e.contains("selected"), "{e}");
    let e = err("[colors]\n\nwarn = \"blak on red\"\n");
    assert!(
        e.starts_with("config perch.toml line 3: colors.warn: \"blak on red\": \"blak\""),
        "{e}"
    );
    for bad in ["red on", "red on mauve", "red blue", "bold on red on blue"] {
        let e = err(&format!("[colors]\nwarn = \"{bad}\""));
        assert!(
            e.starts_with("config perch.toml line 2: colors.warn: "),
            "{e}"
        );
    }
}

#[test]
fn columns_narrow_the_table() {
    let s = parse("columns = [\"PID\", \"cpu\", \"MEM%\"]").expect("valid");
    let cols: Vec<_> = columns::fit(200, Optional::default(), s.console.columns)
        .into_iter()
        .map(|c| c.0.title())
        .collect();
    assert_eq!(cols, ["PID", "CPU%", "MEM%", "COMMAND"]);
    let e = err("columns = [\n  \"PID\",\n  \"CPU\",\n  \"FOO\",\n]\n");
    assert!(
        e.starts_with("config perch.toml line 4: columns: unknown column \"FOO\""),
        "{e}"
    );
}

#[test]
fn a_rebound_key_works_and_the_old_one_no_longer_does() {
    let s = parse("[keys]\nquit = [\"x\", \"F10\"]\nsearch = \"s\"\n").expect("valid");
    let keys = &s.console.keys;
    let n = Focus::Screen(Screen::Processes);
    assert_eq!(keys.msg_for(ch('x'), n), Some(Msg::Quit));
    assert_eq!(keys.msg_for(ch('q'), n), None);
    assert_eq!(keys.msg_for(ch('s'), n), Some(Msg::Search));
    assert_eq!(keys.msg_for(ch('/'), n), None);
    // Prompts are a place of their own: ctrl-c still quits there, and x is text.
    assert_eq!(keys.msg_for(ch('x'), Focus::Prompt), Some(Msg::Input('x')));
    // The help shows the keys in effect.
    let quit = keys
        .entries()
        .iter()
        .find(|e| e.msg == Msg::Quit)
        .expect("quit");
    assert_eq!(quit.label, "x F10");
}

#[test]
fn screen_keys_are_rebound_like_any_other() {
    let text = "[keys]\nshow-action-log = [\"L\"]\nnext-screen = [\"Tab\", \"F12\"]\n";
    let keys = parse(text).expect("valid").console.keys;
    let list = Focus::Screen(Screen::Processes);
    assert_eq!(
        keys.msg_for(ch('L'), list),
        Some(Msg::Show(Screen::ActionLog))
    );
    assert_eq!(keys.msg_for(ch('a'), list), None);
    let f12 = KeyEvent::new(KeyCode::F(12), KeyModifiers::NONE);
    assert_eq!(
        keys.msg_for(f12, Focus::Screen(Screen::ActionLog)),
        Some(Msg::NextScreen)
    );
    // A key the list already uses is refused, by name and line.
    assert_eq!(
        err("[keys]\nshow-processes = [\"j\"]\n"),
        "config perch.toml line 2: keys.show-processes: \"j\" is also bound to down in the process list"
    );
}

#[test]
fn sub_tables_rebind_other_places() {
    let text = "[keys.detail]\ndown = [\"n\", \"Down\"]\n[keys.prompt]\nconfirm = [\"Enter\", \"ctrl-j\"]\n";
    let keys = parse(text).expect("valid").console.keys;
    assert_eq!(
        keys.msg_for(ch('n'), Focus::Overlay(OverlayKind::Detail)),
        Some(Msg::Down)
    );
    assert_eq!(
        keys.msg_for(ch('j'), Focus::Overlay(OverlayKind::Detail)),
        None
    );
    // The list keeps its own j.
    assert_eq!(
        keys.msg_for(ch('j'), Focus::Screen(Screen::Processes)),
        Some(Msg::Down)
    );
    let ctrl_j = KeyEvent::new(KeyCode::Char('j'), KeyModifiers::CONTROL);
    assert_eq!(keys.msg_for(ctrl_j, Focus::Prompt), Some(Msg::Confirm));
}

#[test]
fn bad_keys_name_key_and_line() {
    let e = err("[keys]\nquit = [\"q\"]\nquitt = [\"x\"]\n");
    assert!(
        e.starts_with("config perch.toml line 3: keys.quitt: no such action"),
        "{e}"
    );
    let e = err("[keys]\nquit = [\n  \"q\",\n  \"hyper-x\",\n]\n");
    assert!(
        e.starts_with("config perch.toml line 4: keys.quit: \"hyper-x\" is not a key"),
        "{e}"
    );
    let e = err("[keys]\nquit = []\n");
    assert_eq!(
        e,
        "config perch.toml line 2: keys.quit: give at least one key"
    );
    let e = err("[keys.sort-menu]\nsearch = [\"/\"]\n");
    assert!(
        e.starts_with("config perch.toml line 2: keys.sort-menu.search: search has no keys here"),
        "{e}"
    );
    // An action and a place may not share a name (TOML would refuse both).
    for a in Msg::names() {
        assert!(
            Section::subtables().iter().all(|s| s.name() != a),
            "{a} is also a table"
        );
    }
    let e = err("[keys.prompt]\nconfirm = [\"x\"]\n");
    assert!(
        e.contains("line 2: keys.prompt.confirm: \"x\" would be text"),
        "{e}"
    );
    let e = err("[keys.pager]\ndown = [\"j\"]\n");
    assert!(
        e.starts_with("config perch.toml line 1: keys.pager: no such place"),
        "{e}"
    );
    let e = err("[keys]\ndetail = [\"j\"]\n");
    assert!(e.contains("[keys.detail]"), "{e}");
    let e = err("[keys]\nquit = 5\n");
    assert!(e.starts_with("config perch.toml line 2: "), "{e}");
}

#[test]
fn a_key_bound_twice_names_the_override_and_its_line() {
    // j already moves down in the list.
    assert_eq!(
        err("[keys]\nhelp = [\"F1\"]\nquit = [\"j\"]\n"),
        "config perch.toml line 3: keys.quit: \"j\" is also bound to down in the process list"
    );
    // Both overridden: the later one in the file is named.
    assert_eq!(
        err("[keys]\nsearch = [\"x\"]\nfilter = [\"x\"]\n"),
        "config perch.toml line 3: keys.filter: \"x\" is also bound to search in the process list"
    );
    // Across places that apply together: q quits everywhere but prompts.
    let e = err("[keys.detail]\nhome = [\"q\"]\n");
    assert_eq!(
        e,
        "config perch.toml line 2: keys.detail.home: \"q\" is also bound to quit in the detail view"
    );
    // Moving a key to another action is fine when its old action lets go.
    let s = parse("[keys]\nquit = [\"F10\"]\nsearch = [\"q\", \"/\"]\n").expect("valid");
    assert_eq!(
        s.console
            .keys
            .msg_for(ch('q'), Focus::Screen(Screen::Processes)),
        Some(Msg::Search)
    );
}

#[test]
fn the_default_file_is_optional_but_a_named_one_is_not() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = Env {
        no_color: false,
        xdg_config_home: Some(dir.path().to_owned()),
        home: None,
    };
    assert_eq!(
        env.default_path(),
        Some(dir.path().join("perch/config.toml"))
    );
    assert_eq!(load(None, &env).expect("defaults"), Settings::default());
    let missing = dir.path().join("nope.toml");
    let e = load(Some(&missing), &env).expect_err("missing").to_string();
    assert!(
        e.starts_with(&format!("config {}: ", missing.display())),
        "{e}"
    );
    std::fs::create_dir_all(dir.path().join("perch")).expect("mkdir");
    std::fs::write(dir.path().join("perch/config.toml"), "refresh_ms = 2000\n").expect("write");
    assert_eq!(
        load(None, &env).expect("valid").refresh,
        Duration::from_secs(2)
    );
    // A relative XDG_CONFIG_HOME is ignored in favour of ~/.config.
    let env = Env {
        no_color: false,
        xdg_config_home: Some("rel".into()),
        home: Some("/home/u".into()),
    };
    assert_eq!(
        env.default_path(),
        Some(PathBuf::from("/home/u/.config/perch/config.toml"))
    );
    assert_eq!(Env::default().default_path(), None);
}

#[test]
fn the_example_file_is_valid_and_says_the_defaults() {
    let text = include_str!("../../config.example.toml");
    let s = parse(text).expect("example parses");
    assert_eq!(s.refresh, Duration::from_secs(1));
    // Uncommented, every line of it is valid too.
    let uncommented: String = text
        .lines()
        .map(|l| {
            l.strip_prefix("# ")
                .filter(|r| looks_like_toml(r))
                .unwrap_or(l)
        })
        .collect::<Vec<_>>()
        .join("\n");
    parse(&uncommented).unwrap_or_else(|e| panic!("{e}\n{uncommented}"));
}

/// A commented-out setting rather than prose: `key = value` or `[table]`.
fn looks_like_toml(line: &str) -> bool {
    line.starts_with('[')
        || line
            .split_once(" = ")
            .is_some_and(|(k, _)| !k.is_empty() && !k.contains(' '))
}

#[test]
fn process_memory_is_read_and_checked() {
    assert_eq!(Settings::default().console.process_memory_bytes, 32 << 20);
    let s = parse("process_memory_mib = 16\n").expect("valid");
    assert_eq!(s.console.process_memory_bytes, 16 << 20);
    assert_eq!(
        err("\nprocess_memory_mib = 1\n"),
        "config perch.toml line 2: process_memory_mib must be in 8..=4096 (got 1)"
    );
}
