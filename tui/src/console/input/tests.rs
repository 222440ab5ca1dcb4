use crossterm::event::{KeyCode, KeyEventKind, KeyEventState, MouseEvent};

use super::*;

fn press(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn ch(c: char) -> KeyEvent {
    press(KeyCode::Char(c))
}

const MODES: [InputMode; 12] = InputMode::ALL;

#[test]
fn htop_and_vim_keys() {
    let n = &InputMode::Normal;
    assert_eq!(action_for(ch('j'), n), Some(Action::Down));
    assert_eq!(action_for(press(KeyCode::Down), n), Some(Action::Down));
    assert_eq!(action_for(ch('G'), n), Some(Action::End));
    assert_eq!(
        action_for(KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT), n),
        Some(Action::End)
    );
    assert_eq!(
        action_for(press(KeyCode::F(5)), n),
        Some(Action::ToggleTree)
    );
    assert_eq!(action_for(ch('t'), n), Some(Action::ToggleTree));
    assert_eq!(action_for(press(KeyCode::F(6)), n), Some(Action::SortMenu));
    assert_eq!(action_for(press(KeyCode::F(10)), n), Some(Action::Quit));
    assert_eq!(action_for(ch('\\'), n), Some(Action::Filter));
    assert_eq!(action_for(press(KeyCode::F(4)), n), Some(Action::Filter));
    assert_eq!(action_for(ch('*'), n), Some(Action::ToggleAll));
    assert_eq!(action_for(ch('x'), n), None);
}

#[test]
fn prompts_take_text() {
    for mode in [InputMode::Search, InputMode::Filter] {
        for c in ['q', 'j', '/', '\\', '!', '>', ':', 'é', ' '] {
            assert_eq!(action_for(ch(c), &mode), Some(Action::Input(c)), "{c}");
        }
        assert_eq!(action_for(press(KeyCode::Esc), &mode), Some(Action::Cancel));
        assert_eq!(
            action_for(press(KeyCode::Enter), &mode),
            Some(Action::Confirm)
        );
        assert_eq!(
            action_for(
                KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL),
                &mode
            ),
            Some(Action::Quit)
        );
        assert_eq!(action_for(press(KeyCode::F(10)), &mode), None);
    }
}

#[test]
fn the_dialog_takes_text_and_a_result_takes_any_key() {
    let d = &InputMode::Dialog;
    for c in ['q', 'k', '?', '/', ' ', 'é'] {
        assert_eq!(action_for(ch(c), d), Some(Action::Input(c)), "{c}");
    }
    assert_eq!(action_for(press(KeyCode::Tab), d), Some(Action::NextField));
    assert_eq!(
        action_for(press(KeyCode::BackTab), d),
        Some(Action::PrevField)
    );
    assert_eq!(action_for(press(KeyCode::Left), d), Some(Action::Decrease));
    assert_eq!(action_for(press(KeyCode::F(10)), d), None);
    let t = &InputMode::Toast;
    for key in [
        ch('q'),
        ch('x'),
        press(KeyCode::Enter),
        press(KeyCode::F(10)),
    ] {
        assert_eq!(action_for(key, t), Some(Action::Cancel), "{key:?}");
    }
    assert_eq!(
        action_for(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL), t),
        Some(Action::Quit)
    );
    let n = &InputMode::Normal;
    assert_eq!(action_for(press(KeyCode::Tab), n), Some(Action::SwitchView));
    let log = &InputMode::ActionLog;
    assert_eq!(
        action_for(press(KeyCode::Tab), log),
        Some(Action::SwitchView)
    );
    assert_eq!(action_for(ch('k'), log), Some(Action::Up));
    assert_eq!(action_for(ch('C'), log), Some(Action::Columns));
    assert_eq!(action_for(ch('\\'), log), Some(Action::Filter));
}

#[test]
fn help_closes_on_any_other_key_and_releases_are_ignored() {
    assert_eq!(action_for(ch('x'), &InputMode::Help), Some(Action::Cancel));
    assert_eq!(action_for(ch('j'), &InputMode::Help), Some(Action::Down));
    let mut release = ch('j');
    release.kind = KeyEventKind::Release;
    release.state = KeyEventState::NONE;
    assert_eq!(action_for(release, &InputMode::Normal), None);
}

#[test]
fn no_key_is_bound_twice_in_one_mode() {
    for mode in MODES {
        let mut seen: Vec<(Key, &str)> = Vec::new();
        for b in bindings().filter(|b| b.scope.applies(mode)) {
            for key in b.keys {
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
    for b in bindings() {
        assert!(!b.help.is_empty() && !b.label.is_empty(), "{b:?}");
        assert!(!b.keys.is_empty(), "{b:?}");
        // Every binding of the process list and its overlays can be changed
        // from the configuration file (the action log, menu and dialog keep
        // theirs: they are read from the help, not retrained).
        if matches!(
            b.scope,
            Scope::ActionLog
                | Scope::ActMenu
                | Scope::Dialog
                | Scope::Toast
                | Scope::Columns
                | Scope::Record
        ) {
            continue;
        }
        let name = b.action.name().expect("a name");
        assert_eq!(Action::from_name(name), Some(b.action));
    }
}

#[test]
fn a_keymap_clash_names_both_entries_and_the_mode() {
    let mut keys = Keymap::default();
    let q = Key {
        code: KeyCode::Char('q'),
        ctrl: false,
    };
    let i = keys
        .rebind(Section::Detail, Action::End, &[q])
        .expect("rebind");
    let c = keys.clash().expect("q quits everywhere");
    assert_eq!((c.key, c.second, c.mode), (q, i, InputMode::Detail));
    assert_eq!(keys.entries()[c.first].action, Action::Quit);
    assert_eq!(
        keys.rebind(Section::Help, Action::Search, &[q]),
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
        mouse_action(ev(MouseEventKind::ScrollDown), &app),
        Some(Action::Scroll(3))
    );
    assert_eq!(
        mouse_action(ev(MouseEventKind::ScrollUp), &app),
        Some(Action::Scroll(-3))
    );
    // Nothing drawn yet: a click hits nothing.
    assert_eq!(
        mouse_action(ev(MouseEventKind::Down(MouseButton::Left)), &app),
        None
    );
}
