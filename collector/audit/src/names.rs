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
