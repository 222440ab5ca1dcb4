//! Kernel struct layouts from BTF (`/sys/kernel/btf/vmlinux`): the offsets
//! the kernel programs need to read `task_struct` and friends.  Rust eBPF has
//! no CO-RE relocations, so perchd resolves them here and hands them to the
//! programs as a load-time global.
use btf_rs::{Btf, BtfType, Type};

use super::EbpfError;

pub struct KernelBtf {
    btf: Btf,
}

impl KernelBtf {
    pub fn load() -> Result<Self, EbpfError> {
        let path = "/sys/kernel/btf/vmlinux";
        let btf = Btf::from_file(path).map_err(|e| EbpfError::Btf(format!("{path}: {e}")))?;
        Ok(Self { btf })
    }

    /// Byte offset of `field` in `struct name`, looking through anonymous
    /// struct and union members (`mm_struct` keeps `arg_start` in one).
    pub fn offset(&self, name: &str, field: &str) -> Result<u32, EbpfError> {
        let bits = self.bit_offset(name, field)?;
        u32::try_from(bits / 8)
            .map_err(|_| EbpfError::Btf(format!("{name}.{field}: offset too large")))
    }

    /// Like [`offset`](Self::offset), `None` when the field does not exist
    /// (a kernel built without the option that adds it).
    pub fn offset_opt(&self, name: &str, field: &str) -> Result<Option<u32>, EbpfError> {
        match self.offset(name, field) {
            Ok(o) => Ok(Some(o)),
            Err(EbpfError::Btf(m)) if m.ends_with(&format!("has no field {field}")) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Offset of `field` in bits: for bitfields (`task_struct.in_execve`).
    pub fn bit_offset(&self, name: &str, field: &str) -> Result<u64, EbpfError> {
        let types = self
            .btf
            .resolve_types_by_name(name)
            .map_err(|e| EbpfError::Btf(format!("struct {name}: {e}")))?;
        types
            .into_iter()
            .find_map(|t| match t {
                Type::Struct(s) => self.find(&s, field, 0),
                _ => None,
            })
            .ok_or_else(|| EbpfError::Btf(format!("struct {name} has no field {field}")))
    }

    /// `sizeof(struct name)`.
    pub fn size(&self, name: &str) -> Result<u32, EbpfError> {
        let s = self.struct_named(name)?;
        u32::try_from(s.size()).map_err(|_| EbpfError::Btf(format!("struct {name}: too large")))
    }

    fn struct_named(&self, name: &str) -> Result<btf_rs::Struct, EbpfError> {
        let types = self
            .btf
            .resolve_types_by_name(name)
            .map_err(|e| EbpfError::Btf(format!("struct {name}: {e}")))?;
        types
            .into_iter()
            .find_map(|t| match t {
                Type::Struct(s) => Some(s),
                _ => None,
            })
            .ok_or_else(|| EbpfError::Btf(format!("struct {name}: not a struct")))
    }

    fn find(&self, s: &btf_rs::Struct, field: &str, base_bits: u64) -> Option<u64> {
        for m in &s.members {
            let bits = base_bits + u64::from(m.bit_offset());
            let mname = self.btf.resolve_name(m).unwrap_or_default();
            if mname == field {
                return Some(bits);
            }
            if mname.is_empty()
                && let Some(inner) = self.resolve_aggregate(m)
                && let Some(found) = self.find(&inner, field, bits)
            {
                return Some(found);
            }
        }
        None
    }

    /// The struct or union behind a member, through typedefs and qualifiers.
    fn resolve_aggregate(&self, m: &dyn BtfType) -> Option<btf_rs::Struct> {
        let mut t = self.btf.resolve_chained_type(m).ok()?;
        for _ in 0..8 {
            t = match t {
                Type::Struct(s) | Type::Union(s) => return Some(s),
                Type::Typedef(x) => self.btf.resolve_chained_type(&x).ok()?,
                Type::Const(x) => self.btf.resolve_chained_type(&x).ok()?,
                other => self.btf.resolve_chained_type(volatile(&other)?).ok()?,
            };
        }
        None
    }

    /// Value of an enumerator, e.g. `PIDTYPE_PGID` of `enum pid_type`.
    pub fn enum_value(&self, name: &str, member: &str) -> Result<u32, EbpfError> {
        let types = self
            .btf
            .resolve_types_by_name(name)
            .map_err(|e| EbpfError::Btf(format!("enum {name}: {e}")))?;
        for t in types {
            if let Type::Enum(e) = t {
                for m in &e.members {
                    if self.btf.resolve_name(m).is_ok_and(|n| n == member) {
                        return Ok(m.val());
                    }
                }
            }
        }
        Err(EbpfError::Btf(format!("enum {name} has no {member}")))
    }
}

/// `volatile T` resolves like a typedef; anything else ends the chain.
fn volatile(t: &Type) -> Option<&dyn BtfType> {
    match t {
        Type::Volatile(x) => Some(x),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_fields_in_anonymous_members_of_this_kernel() {
        let btf = KernelBtf::load().expect("this kernel has BTF");
        assert!(
            btf.offset("task_struct", "start_boottime")
                .expect("start_boottime")
                > 0
        );
        assert!(
            btf.offset("mm_struct", "arg_end").expect("arg_end")
                > btf.offset("mm_struct", "arg_start").expect("arg_start")
        );
        assert_eq!(btf.offset("upid", "nr").expect("nr"), 0);
        assert_eq!(btf.enum_value("pid_type", "PIDTYPE_PGID").expect("pgid"), 2);
        assert!(btf.offset("task_struct", "no_such_field").is_err());
    }
}
