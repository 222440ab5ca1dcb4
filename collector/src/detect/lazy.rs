//! Lazily built CEL values.  A rule's condition reads a few fields of a
//! few variables, and most conditions fail on their first test, so
//! building every variable with every field for each exec cost more than
//! the rules themselves.  Here a variable is built when a condition first
//! names it and an object's field when a condition first reads it; both
//! are kept for the rest of the event, shared by every rule evaluated on
//! it.  Strings borrow the process model instead of being copied.
use std::{fmt, sync::OnceLock};

use cel::{
    ExecutionError,
    common::{
        traits::{Container, Indexer, Sizer},
        types::{self, CelInt, CelList, CelString, Type},
        value::{BuiltinRef, CowVal, Val},
    },
    context::VariableResolver,
};

/// A boxed CEL value that may borrow the model for `'a`.
pub type Boxed<'a> = Box<dyn Val + 'a>;

/// What an object's fields are computed from.  `FIELDS` lists every field
/// name (so `'f' in obj` and `size(obj)` answer without building any);
/// `field` computes one of them, `None` for a name not in `FIELDS`.
pub trait Fields<'a>: Copy + Send + Sync {
    const FIELDS: &'static [&'static str];
    fn field(self, name: &str) -> Option<Boxed<'a>>;
}

/// A CEL map-like object whose fields are computed on first read.
pub struct Object<'a, F: Fields<'a>> {
    from: F,
    cache: Box<[OnceLock<Boxed<'a>>]>,
}

impl<'a, F: Fields<'a>> Object<'a, F> {
    pub fn new(from: F) -> Self {
        Self {
            from,
            cache: F::FIELDS.iter().map(|_| OnceLock::new()).collect(),
        }
    }

    fn find(&self, key: &dyn Val) -> Result<Option<&Boxed<'a>>, ExecutionError> {
        let BuiltinRef::String(name) = key.as_builtin() else {
            return Err(ExecutionError::UnexpectedType {
                got: key.get_type().name().to_owned(),
                want: "string".to_owned(),
            });
        };
        let name = name.inner();
        let Some(i) = F::FIELDS.iter().position(|f| *f == name) else {
            return Ok(None);
        };
        let Some(slot) = self.cache.get(i) else {
            return Ok(None);
        };
        if let Some(v) = slot.get() {
            return Ok(Some(v));
        }
        // A field listed in FIELDS always builds; if it did not, the
        // condition sees a missing key rather than a panic.
        let Some(v) = self.from.field(name) else {
            return Ok(None);
        };
        Ok(Some(slot.get_or_init(|| v)))
    }
}

impl<'a, F: Fields<'a>> fmt::Debug for Object<'a, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Object")
            .field("fields", &F::FIELDS)
            .finish_non_exhaustive()
    }
}

impl<'a, F: Fields<'a>> Val for Object<'a, F> {
    fn get_type(&self) -> &Type {
        &types::MAP_TYPE
    }

    fn cel_type() -> &'static Type
    where
        Self: Sized,
    {
        &types::MAP_TYPE
    }

    fn as_container(&self) -> Option<&dyn Container> {
        Some(self)
    }

    fn as_indexer<'b, 'v>(&'b self) -> Option<&'b (dyn Indexer + 'v)>
    where
        Self: 'v,
    {
        Some(self)
    }

    fn as_sizer(&self) -> Option<&dyn Sizer> {
        Some(self)
    }

    fn clone_as_boxed<'v>(&self) -> Box<dyn Val + 'v>
    where
        Self: 'v,
    {
        Box::new(Self::new(self.from))
    }
}

impl<'a, F: Fields<'a>> Container for Object<'a, F> {
    fn contains(&self, key: &dyn Val) -> Result<bool, ExecutionError> {
        match key.as_builtin() {
            BuiltinRef::String(name) => Ok(F::FIELDS.contains(&name.inner())),
            _ => Err(ExecutionError::UnexpectedType {
                got: key.get_type().name().to_owned(),
                want: "string".to_owned(),
            }),
        }
    }
}

impl<'a, F: Fields<'a>> Indexer for Object<'a, F> {
    fn get<'b, 'v>(&'b self, key: &dyn Val) -> Result<CowVal<'b, 'v>, ExecutionError>
    where
        Self: 'v,
    {
        match self.find(key)? {
            Some(v) => Ok(CowVal::Borrowed(v.as_ref())),
            None => Err(no_such_key(key)),
        }
    }

    fn steal<'v>(self: Box<Self>, key: &dyn Val) -> Result<Box<dyn Val + 'v>, ExecutionError>
    where
        Self: 'v,
    {
        self.get(key).map(CowVal::into_owned)
    }
}

impl<'a, F: Fields<'a>> Sizer for Object<'a, F> {
    fn size(&self) -> CelInt {
        CelInt::from(i64::try_from(F::FIELDS.len()).unwrap_or(i64::MAX))
    }
}

fn no_such_key(key: &dyn Val) -> ExecutionError {
    let name = match key.as_builtin() {
        BuiltinRef::String(s) => s.inner().to_owned(),
        _ => key.get_type().name().to_owned(),
    };
    ExecutionError::NoSuchKey(std::sync::Arc::new(name))
}

/// A string value borrowing `v`.
pub fn str_val(v: &str) -> Boxed<'_> {
    Box::new(CelString::from(v))
}

/// A string value owning `v`.
pub fn string_val<'a>(v: String) -> Boxed<'a> {
    Box::new(CelString::from(v))
}

pub fn int_val<'a>(v: impl Into<i64>) -> Boxed<'a> {
    Box::new(CelInt::from(v.into()))
}

pub fn bool_val<'a>(v: bool) -> Boxed<'a> {
    Box::new(types::CelBool::from(v))
}

pub fn uint_val<'a>(v: u64) -> Boxed<'a> {
    Box::new(types::CelUInt::from(v))
}

/// A list of strings borrowing `items`.
pub fn str_list<'a>(items: impl Iterator<Item = &'a str>) -> Boxed<'a> {
    Box::new(CelList::from(items.map(str_val).collect::<Vec<_>>()))
}

/// A value built the eager way (for the rarely read, small variables).
pub fn from_value<'a>(v: cel::Value) -> Option<Boxed<'a>> {
    Box::<dyn Val>::try_from(v).ok().map(|b| b as Boxed<'a>)
}

/// The variables of one event: `names[i]` is built by `build` on first
/// lookup and kept for every later rule.
pub struct Vars<'a, S: Copy + Send + Sync> {
    names: &'static [&'static str],
    build: fn(S, &str) -> Option<Boxed<'a>>,
    from: S,
    slots: Box<[OnceLock<Option<Boxed<'a>>>]>,
}

impl<'a, S: Copy + Send + Sync> Vars<'a, S> {
    pub fn new(
        names: &'static [&'static str],
        build: fn(S, &str) -> Option<Boxed<'a>>,
        from: S,
    ) -> Self {
        Self {
            names,
            build,
            from,
            slots: names.iter().map(|_| OnceLock::new()).collect(),
        }
    }
}

impl<S: Copy + Send + Sync> VariableResolver for Vars<'_, S> {
    fn resolve<'b>(&'b self, variable: &str) -> Option<CowVal<'b, 'b>> {
        // Qualified names (`proc.name`) are tried whole first: a dot is
        // never one of ours, and is cheaper to reject than to search.
        if variable.contains('.') {
            return None;
        }
        let i = self.names.iter().position(|n| *n == variable)?;
        let slot = self.slots.get(i)?;
        let v = slot.get_or_init(|| (self.build)(self.from, variable));
        v.as_deref().map(CowVal::Borrowed)
    }
}
