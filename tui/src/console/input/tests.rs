//! Keys to messages: htop and vim keys, prompts, the dialog, the toast,
//! no key bound twice in one place, the mouse.
use crossterm::event::{KeyCode, KeyEventKind, KeyEventState, MouseEvent};

use super::*;
use crate::console::{overlays::OverlayKind, screens::Screen};

const PROCESSES: Focus = Focus::Screen(Screen::Processes);

fn press(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn ch(c: char) -> KeyEvent {
    press(KeyCode::Char(c))
}

#[test]
fn htop_and_vim_keys() {
    let n = PROCESSES;
    assert_eq!(msg_for(ch('j'), n), Some(Msg::Down));
    assert_eq!(msg_for(press(KeyCode::Down), n), Some(Msg::Down));
    assert_eq!(msg_for(ch('G'), n), Some(Msg::End));
    assert_eq!(
        msg_for(KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT), n),
        Some(Msg::End)
    );
    assert_eq!(msg_for(press(KeyCode::F(5)), n), Some(Msg::ToggleTree));
    assert_eq!(msg_for(ch('t'), n), Some(Msg::ToggleTree));
    assert_eq!(msg_for(press(KeyCode::F(6)), n), Some(Msg::SortMenu));
    assert_eq!(msg_for(press(KeyCode::F(10)), n), Some(Msg::Quit));
    assert_eq!(msg_for(ch('\\'), n), Some(Msg::Filter));
    assert_eq!(msg_for(press(KeyCode::F(4)), n), Some(Msg::Filter));
    assert_eq!(msg_for(ch('*'), n), Some(Msg::ToggleAll));
    assert_eq!(msg_for(ch('x'), n), None);
}

#[test]
fn prompts_take_text() {
    {
        let mode = Focus::Prompt;
        for c in ['q', 'j', '/', '\\', '!', '>', ':', 'é', ' '] {
            assert_eq!(msg_for(ch(c), mode), Some(Msg::Input(c)), "{c}");
        }
        assert_eq!(msg_for(press(KeyCode::Esc), mode), Some(Msg::Cancel));
        assert_eq!(msg_for(press(KeyCode::Enter), mode), Some(Msg::Confirm));
        assert_eq!(
            msg_for(
                KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL),
                mode
            ),
            Some(Msg::Quit)
        );
        assert_eq!(msg_for(press(KeyCode::F(10)), mode), None);
    }
}

#[test]
fn the_dialog_takes_text_and_a_result_takes_any_key() {
    let d = Focus::Overlay(OverlayKind::Dialog);
    for c in ['q', 'k', '?', '/', ' ', 'é'] {
        assert_eq!(msg_for(ch(c), d), Some(Msg::Input(c)), "{c}");
    }
    assert_eq!(msg_for(press(KeyCode::Tab), d), Some(Msg::NextField));
    assert_eq!(msg_for(press(KeyCode::BackTab), d), Some(Msg::PrevField));
    assert_eq!(msg_for(press(KeyCode::Left), d), Some(Msg::Decrease));
    assert_eq!(msg_for(press(KeyCode::F(10)), d), None);
    let t = Focus::Toast;
    for key in [
        ch('q'),
        ch('x'),
        press(KeyCode::Enter),
        press(KeyCode::F(10)),
    ] {
        assert_eq!(msg_for(key, t), Some(Msg::Cancel), "{key:?}");
    }
    assert_eq!(
        msg_for(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL), t),
        Some(Msg::Quit)
    );
    let n = PROCESSES;
    assert_eq!(msg_for(press(KeyCode::Tab), n), Some(Msg::NextScreen));
    let log = Focus::Screen(Screen::ActionLog);
    assert_eq!(msg_for(press(KeyCode::Tab), log), Some(Msg::NextScreen));
    assert_eq!(msg_for(ch('k'), log), Some(Msg::Up));
    assert_eq!(msg_for(ch('C'), log), Some(Msg::Columns));
    assert_eq!(msg_for(ch('\\'), log), Some(Msg::Filter));
}

#[test]
fn help_closes_on_any_other_key_and_releases_are_ignored() {
    assert_eq!(
        msg_for(ch('x'), Focus::Overlay(OverlayKind::Help)),
        Some(Msg::Cancel)
    );
    assert_eq!(
        msg_for(ch('j'), Focus::Overlay(OverlayKind::Help)),
        Some(Msg::Down)
    );
    let mut release = ch('j');
    release.kind = KeyEventKind::Release;
    release.state = KeyEventState::NONE;
    assert_eq!(msg_for(release, Focus::Screen(Screen::Processes)), None);
}

#[test]
fn no_key_is_bound_twice_in_one_mode() {
    let keymap = Keymap::default();
    for mode in Focus::all() {
        let mut seen: Vec<(Key, &str)> = Vec::new();
        for b in keymap.entries().iter().filter(|b| b.scope.applies(mode)) {
            for key in &b.keys {
                if let Some((_, other)) = seen.iter().find(|(k, _)| k == key) {
                    panic!(
                        "{key:?} bound to both {other:?} and {:?} in {mode:?}",
                        b.help
                    );
                }
                seen.push((*key, b.help));
            }
        }
    }
    // The keymap's own check agrees (the configuration relies on it).
    assert_eq!(Keymap::default().clash(), None);
}

#[test]
fn every_binding_has_help_and_a_label() {
    for b in Keymap::default().entries() {
        assert!(!b.help.is_empty() && !b.label.is_empty(), "{b:?}");
        assert!(!b.keys.is_empty(), "{b:?}");
        // Every binding of the process list and its overlays can be changed
        // from the configuration file (the action log, menu and dialog keep
        // theirs: they are read from the help, not retrained).
        if b.scope.section().is_none() {
            continue;
        }
        let name = b.msg.name().expect("a name");
        assert_eq!(Msg::from_name(name), Some(b.msg));
    }
}

#[test]
fn a_keymap_clash_names_both_entries_and_the_mode() {
    let mut keys = Keymap::default();
    let q = Key {
        code: KeyCode::Char('q'),
        ctrl: false,
    };
    let section = |kind| Section::of(Focus::Overlay(kind)).expect("rebindable");
    let (detail, help) = (section(OverlayKind::Detail), section(OverlayKind::Help));
    let i = keys.rebind(detail, Msg::End, &[q]).expect("rebind");
    let c = keys.clash().expect("q quits everywhere");
    assert_eq!(
        (c.key, c.second, c.focus),
        (q, i, Focus::Overlay(OverlayKind::Detail))
    );
    assert_eq!(keys.entries()[c.first].msg, Msg::Quit);
    assert_eq!(
        keys.rebind(help, Msg::Search, &[q]),
        Err(RebindError::NotHere("search"))
    );
}

#[test]
fn mouse_wheel_scrolls() {
    let app = super::super::App::new(super::super::Config::default(), std::time::Instant::now());
    let ev = |kind| MouseEvent {
        kind,
        column: 3,
        row: 3,
        modifiers: KeyModifiers::NONE,
    };
    assert_eq!(
        mouse_msg(ev(MouseEventKind::ScrollDown), &app),
        Some(Msg::Scroll(3))
    );
    assert_eq!(
        mouse_msg(ev(MouseEventKind::ScrollUp), &app),
        Some(Msg::Scroll(-3))
    );
    // Nothing drawn yet: a click hits nothing.
    assert_eq!(
        mouse_msg(ev(MouseEventKind::Down(MouseButton::Left)), &app),
        None
    );
}
