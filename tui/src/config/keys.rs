//! `[keys]`: the keys of an action, replacing its defaults.  `[keys]`
//! itself is the process list and everywhere outside a prompt
//! (`quit = ["q", "F10"]`); `[keys.prompt]`, `[keys.sort-menu]`,
//! `[keys.detail]` and `[keys.help-screen]` are the other places.  A key that
//! would do two things in one place is an error, as is an unknown action
//! or key.
use std::{collections::BTreeMap, fmt, ops::Range};

use serde::{
    Deserialize, Deserializer,
    de::{MapAccess, SeqAccess, Visitor},
};
use toml::Spanned;

use super::{Mistake, in_file_order, mistake};
use crate::console::input::{KEY_SYNTAX, Key, Keymap, Msg, Section};

/// One key, or a list of them.
#[derive(Debug)]
pub(super) enum KeyList {
    One(String),
    Many(Vec<Spanned<String>>),
}

/// A value under `[keys]`: an action's keys, or a sub-table.
#[derive(Debug)]
pub(super) enum Value {
    Keys(KeyList),
    Table(BTreeMap<Spanned<String>, Spanned<KeyList>>),
}

struct ValueVisitor {
    tables: bool,
}

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.tables {
            "a key, a list of keys, or a table of actions"
        } else {
            "a key or a list of keys"
        })
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Keys(KeyList::One(v.to_owned())))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut keys = Vec::new();
        while let Some(k) = seq.next_element::<Spanned<String>>()? {
            keys.push(k);
        }
        Ok(Value::Keys(KeyList::Many(keys)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        if !self.tables {
            return Err(serde::de::Error::invalid_type(
                serde::de::Unexpected::Map,
                &self,
            ));
        }
        let mut table = BTreeMap::new();
        while let Some(k) = map.next_key::<Spanned<String>>()? {
            let v = map.next_value::<Spanned<KeyList>>()?;
            table.insert(k, v);
        }
        Ok(Value::Table(table))
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor { tables: true })
    }
}

impl<'de> Deserialize<'de> for KeyList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match d.deserialize_any(ValueVisitor { tables: false })? {
            Value::Keys(k) => Ok(k),
            Value::Table(_) => Err(serde::de::Error::custom("expected a key or a list of keys")),
        }
    }
}

/// Where each override came from, to name it when two keys clash.
struct Origin {
    entry: usize,
    name: String,
    span: Range<usize>,
}

pub(super) fn apply(
    keymap: &mut Keymap,
    table: &BTreeMap<Spanned<String>, Spanned<Value>>,
) -> Result<(), Mistake> {
    let mut origins = Vec::new();
    for (name, value) in in_file_order(table) {
        match value.get_ref() {
            Value::Keys(list) => {
                let o = rebind(keymap, Section::MAIN, name, list, value.span())?;
                origins.push(o);
            }
            Value::Table(actions) => {
                let section = Section::subtables()
                    .into_iter()
                    .find(|s| s.name() == name.get_ref().replace('_', "-"))
                    .ok_or_else(|| {
                        let names: Vec<&str> =
                            Section::subtables().iter().map(|s| s.name()).collect();
                        mistake(
                            name.span(),
                            format!(
                                "keys.{}: no such place (tables: keys.{})",
                                name.get_ref(),
                                names.join(", keys.")
                            ),
                        )
                    })?;
                for (action, list) in in_file_order(actions) {
                    let o = rebind(keymap, section, action, list.get_ref(), list.span())?;
                    origins.push(o);
                }
            }
        }
    }
    if let Some(c) = keymap.clash() {
        let of = |i: usize| origins.iter().rev().find(|o| o.entry == i);
        // The later override in the file is the one that made the clash.
        let (origin, other) = match (of(c.first), of(c.second)) {
            (Some(a), Some(b)) if a.span.start > b.span.start => (a, c.second),
            (_, Some(b)) => (b, c.first),
            (Some(a), None) => (a, c.second),
            // The default keys do not clash (a test checks), so an override
            // is always involved; say what we can if not.
            (None, None) => {
                return Err(mistake(
                    0..0,
                    format!("keys: \"{}\" does two things in {}", c.key, c.focus.name()),
                ));
            }
        };
        let other = keymap.entries()[other]
            .msg
            .name()
            .unwrap_or("another action");
        return Err(mistake(
            origin.span.clone(),
            format!(
                "{}: \"{}\" is also bound to {other} in {}",
                origin.name,
                c.key,
                c.focus.name()
            ),
        ));
    }
    Ok(())
}

/// Applies one action's keys; `span` is the value's, for a missing key.
fn rebind(
    keymap: &mut Keymap,
    section: Section,
    action: &Spanned<String>,
    list: &KeyList,
    span: Range<usize>,
) -> Result<Origin, Mistake> {
    let full = if section == Section::MAIN {
        format!("keys.{}", action.get_ref())
    } else {
        format!("keys.{}.{}", section.name(), action.get_ref())
    };
    let act = Msg::from_name(action.get_ref()).ok_or_else(|| {
        let hint = if section == Section::MAIN
            && Section::subtables()
                .iter()
                .any(|s| s.name() == action.get_ref())
        {
            format!(" (write it as a table: [keys.{}])", action.get_ref())
        } else {
            String::new()
        };
        mistake(
            action.span(),
            format!("{full}: no such action{hint}; actions: {}", names()),
        )
    })?;
    let spelled: Vec<(&str, Range<usize>)> = match list {
        KeyList::One(k) => vec![(k.as_str(), span.clone())],
        KeyList::Many(ks) => ks
            .iter()
            .map(|k| (k.get_ref().as_str(), k.span()))
            .collect(),
    };
    let mut keys = Vec::with_capacity(spelled.len());
    for (text, at) in spelled {
        let key = Key::parse(text)
            .ok_or_else(|| mistake(at, format!("{full}: {text:?} is not a key ({KEY_SYNTAX})")))?;
        keys.push(key);
    }
    let entry = keymap
        .rebind(section, act, &keys)
        .map_err(|e| mistake(span.clone(), format!("{full}: {e}")))?;
    Ok(Origin {
        entry,
        name: full,
        span,
    })
}

fn names() -> String {
    Msg::names().collect::<Vec<_>>().join(" ")
}
