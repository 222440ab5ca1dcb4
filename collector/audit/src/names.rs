//! `perch.v1` enums in the log's lines, by name (`"action":"kill_tree"`):
//! `#[serde(with = "names")]` over `perch_proto::names`, the spelling
//! `--json`, the command line and the console use too.
use perch_proto::names::{Named, all, parse, short};
use serde::{Deserialize as _, Deserializer, Serializer, de::Error as _};

pub fn serialize<T: Named, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&short(*value))
}

pub fn deserialize<'de, T: Named, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
    let name = std::borrow::Cow::<'de, str>::deserialize(d)?;
    parse(&name).ok_or_else(|| {
        D::Error::custom(format!(
            "unknown value {name:?} (expected one of {})",
            all::<T>().join(", ")
        ))
    })
}

/// A record's signal: its name when `perch.v1.Signal` has one (`"term"`,
/// so older lines keep their bytes), else its number (`34`: a client may
/// send any signal number in `perch_proto::limits::SIGNAL_NUMBERS`).
pub mod signal {
    use perch_proto::{
        limits::signal_allowed,
        names::{parse, short},
        v1::Signal,
    };
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    /// True for a value a record may hold: unspecified, named, or a number
    /// a client may send.
    #[must_use]
    pub fn valid(raw: i32) -> bool {
        Signal::try_from(raw).is_ok() || signal_allowed(raw)
    }

    #[expect(
        clippy::trivially_copy_pass_by_ref,
        reason = "serde's `with` calls serialize(&field, serializer)"
    )]
    pub fn serialize<S: Serializer>(raw: &i32, s: S) -> Result<S::Ok, S::Error> {
        match Signal::try_from(*raw) {
            Ok(named) => s.serialize_str(&short(named)),
            Err(_) => s.serialize_i32(*raw),
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stored<'a> {
        Number(i32),
        #[serde(borrow)]
        Name(std::borrow::Cow<'a, str>),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
        let raw = match Stored::deserialize(d)? {
            Stored::Number(n) => n,
            Stored::Name(name) => parse::<Signal>(&name).map(i32::from).ok_or_else(|| {
                D::Error::custom(format!(
                    "unknown value {name:?} (expected one of {}, or a signal number)",
                    super::all::<Signal>().join(", ")
                ))
            })?,
        };
        if valid(raw) {
            Ok(raw)
        } else {
            Err(D::Error::custom(format!(
                "signal {raw} is not a signal number"
            )))
        }
    }
}
