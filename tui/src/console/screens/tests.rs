//! Moving between screens: Tab, Shift-Tab, each screen's letter, a click
//! on its tab; the tab bar; the list offset kept in the state at the
//! terminal's size, and clicks and pages measured with the same layout.
use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::{Terminal, backend::TestBackend};

use super::Screen;
use crate::console::{
    App, Config,
    app::tests::{H, app, key, proc},
    draw,
    input::{Focus, Keymap, Msg, Section, k, msg_for},
    overlays::{Overlay, OverlayKind},
};

const PROCESSES: Focus = Focus::Screen(Screen::Processes);
const LOG: Focus = Focus::Screen(Screen::ActionLog);

fn press(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn screen_text(app: &App, w: u16, h: u16) -> Vec<String> {
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("test backend");
    term.draw(|f| draw(f, app)).expect("draw");
    let buf = term.backend().buffer();
    (0..h)
        .map(|y| (0..w).map(|x| buf[(x, y)].symbol()).collect::<String>())
        .collect()
}

#[test]
fn tab_shift_tab_and_letters_move_between_screens() {
    let tab = press(KeyCode::Tab);
    let back = press(KeyCode::BackTab);
    let ch = |c| press(KeyCode::Char(c));
    assert_eq!(msg_for(tab, PROCESSES), Some(Msg::NextScreen));
    assert_eq!(msg_for(back, PROCESSES), Some(Msg::PrevScreen));
    assert_eq!(
        msg_for(ch('a'), PROCESSES),
        Some(Msg::Show(Screen::ActionLog))
    );
    assert_eq!(msg_for(ch('p'), LOG), Some(Msg::Show(Screen::Processes)));
    assert_eq!(msg_for(back, LOG), Some(Msg::PrevScreen));
    // Not in front of a screen: a prompt types them, overlays ignore them.
    assert_eq!(msg_for(ch('a'), Focus::Prompt), Some(Msg::Input('a')));
    let detail = Focus::Overlay(OverlayKind::Detail);
    assert_eq!(msg_for(ch('a'), detail), None);
    assert_eq!(msg_for(tab, detail), None);

    let mut app = app(Instant::now());
    assert_eq!(app.screen(), Screen::Processes);
    // Tab goes through every screen in tab order and wraps around;
    // Shift-Tab comes back the same way.
    for next in Screen::ALL.iter().cycle().skip(1).take(Screen::ALL.len()) {
        app.update(Msg::NextScreen);
        assert_eq!(app.screen(), *next);
    }
    app.update(Msg::PrevScreen);
    assert_eq!(
        app.screen(),
        *Screen::ALL.last().unwrap_or(&Screen::Processes)
    );
    app.update(Msg::Show(Screen::Processes));
    assert_eq!(app.screen(), Screen::Processes);
    app.update(Msg::Show(Screen::ActionLog));
    assert_eq!(app.screen(), Screen::ActionLog);
}

#[test]
fn the_tab_bar_names_the_screens_and_a_click_shows_one() {
    let mut app = app(Instant::now());
    app.resize(80, 24);
    let lines = screen_text(&app, 80, 24);
    let y = lines
        .iter()
        .position(|l| l.contains("p Processes") && l.contains("a Action log"))
        .expect("a tab bar");
    let x = lines[y].find("Action log").expect("its tab");
    let (x, y) = (u16::try_from(x).expect("x"), u16::try_from(y).expect("y"));
    assert_eq!(app.hit(x, y), Some(Msg::Show(Screen::ActionLog)));
    assert_eq!(app.hit(0, y), Some(Msg::Show(Screen::Processes)));
    let tabs = lines[usize::from(y)].clone();
    let end = u16::try_from(tabs.trim_end().chars().count()).expect("width");
    assert_eq!(
        app.hit(end.saturating_sub(1), y),
        Some(Msg::Show(Screen::Policies)),
        "the last tab: {tabs}"
    );
    if end < 80 {
        assert_eq!(app.hit(end + 1, y), None, "past the last tab");
    }
    app.update(Msg::Show(Screen::ActionLog));
    assert_eq!(app.screen(), Screen::ActionLog);
    // Not while an overlay has the keys.
    app.update(Msg::Help);
    assert_eq!(app.hit(x, y), None);
    // A rebound letter is the one the tab shows.
    let mut keys = Keymap::default();
    keys.rebind(Section::MAIN, Msg::Show(Screen::ActionLog), &[k('L')])
        .expect("rebind");
    let mut app = App::new(
        Config {
            keys,
            ..Config::default()
        },
        Instant::now(),
    );
    app.update(Msg::Show(Screen::ActionLog));
    let lines = screen_text(&app, 80, 24);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("p Processes  L Action log")),
        "{lines:#?}"
    );
}

#[test]
fn clicks_on_the_table_sort_and_select() {
    let mut app = app(Instant::now());
    app.resize(100, 30);
    let lines = screen_text(&app, 100, 30);
    let title = lines
        .iter()
        .position(|l| l.contains("PID") && l.contains("COMMAND"))
        .expect("the titles");
    let user_x = lines[title].find("USER").expect("USER");
    let title_y = u16::try_from(title).expect("y");
    assert_eq!(
        app.hit(u16::try_from(user_x).expect("x"), title_y),
        Some(Msg::SortBy(crate::console::columns::Column::User))
    );
    // The third row holds pid 11 (tree order: 1, 10, 11).
    assert_eq!(app.hit(5, title_y + 3), Some(Msg::Select(key(11))));
    // The footer's key bar is clickable: F1 Help at its start.
    assert_eq!(app.hit(0, 29), Some(Msg::Help), "the footer's F1");
    assert_eq!(app.hit(5, 28), None, "the status line");
}

#[test]
fn pages_and_the_offset_follow_the_terminal_size() {
    let t0 = Instant::now();
    let mut app = app(t0);
    let many: Vec<_> = (100..160)
        .map(|pid| proc(pid, 1, &["job"], 0.0))
        .chain([proc(1, 0, &["init"], 0.0)])
        .collect();
    app.ingest_snapshot(H, many);
    app.tick(t0);
    // Before the loop says the size, a page is one row.
    app.update(Msg::PageDown);
    assert_eq!(app.cursor(), 1);
    app.resize(80, 24);
    // 80x24: the header 4 (no sample yet: CPU title, one average bar,
    // Mem, Swp), the tabs 1, the footer 2, the column titles 1.
    let rows = 24 - 4 - 1 - 2 - 1;
    app.update(Msg::PageDown);
    assert_eq!(app.cursor(), 1 + rows);
    assert_eq!(
        app.processes().offset_for(rows),
        2,
        "the cursor on the last row"
    );
    app.update(Msg::End);
    let last = app.rows().len() - 1;
    assert_eq!(app.processes().offset_for(rows), last + 1 - rows);
    // The widget draws what the state kept: the last row, selected.
    let lines = screen_text(&app, 80, 24);
    // The last body row, just above the footer's two lines.
    assert!(
        lines[21].contains("job") && lines[21].contains("159"),
        "{lines:#?}"
    );
    // Up to the top row shown: the offset stays; one more moves it.
    let top = last + 1 - rows;
    for _ in 0..rows - 1 {
        app.update(Msg::Up);
    }
    assert_eq!(app.cursor(), top);
    assert_eq!(app.processes().offset_for(rows), top);
    app.update(Msg::Up);
    assert_eq!(app.processes().offset_for(rows), top - 1);
}

#[test]
fn an_overlay_and_its_state_come_and_go_together() {
    let mut app = app(Instant::now());
    app.update(Msg::Select(key(21)));
    app.update(Msg::ActMenu);
    assert!(app.menu().is_some());
    // The help replaces the menu: no menu lingers behind it.
    app.update(Msg::Help);
    assert!(matches!(app.overlay(), Some(Overlay::Help(_))));
    assert!(app.menu().is_none());
    app.update(Msg::Cancel);
    assert!(app.overlay().is_none());
    assert_eq!(app.focus(), PROCESSES);
    // Enter in the menu swaps it for its dialog.
    app.update(Msg::ActMenu);
    app.update(Msg::Confirm);
    assert!(app.menu().is_none() && app.dialog().is_some());
    assert_eq!(app.focus(), Focus::Overlay(OverlayKind::Dialog));
}
