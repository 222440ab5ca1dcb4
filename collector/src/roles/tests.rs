//! Entries, the mapping, and identities (the real `SO_PEERCRED` path is
//! tested in `server::tests::peer` with a client running as another uid).
use std::sync::Arc;

use super::{Identity, Principal, Role, Roles, UnixPeer, identity::common_name};

fn unix(uid: u32, gid: u32, groups: &[u32]) -> Identity {
    Identity::unix(&UnixPeer {
        uid,
        gid,
        pid: Some(4242),
        groups: Arc::from(groups),
    })
}

#[test]
fn entries_parse() {
    assert_eq!(Principal::parse("uid:1000"), Ok(Principal::Uid(1000)));
    assert_eq!(Principal::parse("gid:0"), Ok(Principal::Gid(0)));
    assert_eq!(Principal::parse("user:root"), Ok(Principal::Uid(0)));
    assert_eq!(Principal::parse("user:nobody"), Ok(Principal::Uid(65534)));
    assert_eq!(Principal::parse("group:root"), Ok(Principal::Gid(0)));
    assert_eq!(
        Principal::parse("cert:alice ops"),
        Ok(Principal::Cert("alice ops".into()))
    );
    assert_eq!(Principal::Uid(7).to_string(), "uid:7");
}

#[test]
fn bad_entries_say_what_is_wrong() {
    let err = |e: &str| Principal::parse(e).unwrap_err();
    assert_eq!(
        err("bob"),
        "\"bob\" has no kind (entries are uid:N, gid:N, user:NAME, group:NAME or cert:CN)"
    );
    assert_eq!(
        err("usr:bob"),
        "unknown kind \"usr\" in \"usr:bob\" (entries are uid:N, gid:N, user:NAME, group:NAME or cert:CN)"
    );
    assert_eq!(
        err("uid:-1"),
        "bad uid \"-1\": expected a number in 0..=4294967294"
    );
    assert_eq!(
        err("uid:4294967295"),
        "bad uid \"4294967295\": expected a number in 0..=4294967294"
    );
    assert_eq!(
        err("gid:x"),
        "bad gid \"x\": expected a number in 0..=4294967294"
    );
    assert_eq!(
        err("user:no-such-user-perch"),
        "unknown user \"no-such-user-perch\""
    );
    assert_eq!(
        err("group:no-such-group-perch"),
        "unknown group \"no-such-group-perch\""
    );
    assert_eq!(err("cert:"), "cert: needs a common name");
}

#[test]
fn defaults_root_admin_everyone_else_viewer() {
    let roles = Roles::default();
    assert_eq!(roles.role_of(&unix(0, 0, &[])), Role::Admin);
    assert_eq!(roles.role_of(&unix(1000, 1000, &[27])), Role::Viewer);
    assert_eq!(roles.role_of(&unix(65534, 65534, &[])), Role::Viewer);
    assert_eq!(
        roles.role_of(&Identity::tls(None, Some("alice".into()))),
        Role::Viewer
    );
    assert_eq!(roles.role_of(&Identity::default()), Role::Viewer);
}

#[test]
fn entries_map_uids_groups_and_certs() {
    let roles = Roles {
        admin: vec![Principal::Gid(10), Principal::Cert("alice".into())],
        operator: vec![Principal::Uid(1000), Principal::Gid(500)],
    };
    assert_eq!(roles.role_of(&unix(1000, 1000, &[])), Role::Operator);
    // Primary and supplementary groups both count; admin wins over operator.
    assert_eq!(roles.role_of(&unix(1000, 10, &[])), Role::Admin);
    assert_eq!(roles.role_of(&unix(1001, 1001, &[4, 500])), Role::Operator);
    assert_eq!(roles.role_of(&unix(1001, 1001, &[500, 10])), Role::Admin);
    assert_eq!(roles.role_of(&unix(1001, 1001, &[4])), Role::Viewer);
    assert_eq!(
        roles.role_of(&Identity::tls(None, Some("alice".into()))),
        Role::Admin
    );
    // Names are exact: no case folding, no prefix match.
    assert_eq!(
        roles.role_of(&Identity::tls(None, Some("Alice".into()))),
        Role::Viewer
    );
    assert_eq!(roles.role_of(&Identity::tls(None, None)), Role::Viewer);
    // A certificate CN never matches a uid entry and vice versa.
    let by_uid = Roles {
        admin: vec![],
        operator: vec![Principal::Cert("1000".into())],
    };
    assert_eq!(by_uid.role_of(&unix(1000, 1000, &[])), Role::Viewer);
}

#[test]
fn identities_describe_themselves() {
    let root = unix(0, 0, &[]);
    assert_eq!(root.caller(), "uid 0 (root)");
    assert_eq!(root.origin, "unix pid 4242");
    assert_eq!(root.user.as_deref(), Some("root"));
    let addr = "10.0.0.7:50412".parse().ok();
    let alice = Identity::tls(addr, Some("alice".into()));
    assert_eq!(alice.caller(), "cert CN=alice");
    assert_eq!(alice.origin, "tls 10.0.0.7:50412 cn=alice");
    let anon = Identity::tls(addr, None);
    assert_eq!(anon.caller(), "tls 10.0.0.7:50412 (no client certificate)");
    let nameless = unix(3_999_999, 1, &[]);
    assert_eq!(nameless.caller(), "uid 3999999");
}

#[test]
fn garbage_is_not_a_certificate() {
    assert_eq!(common_name(b"not DER"), None);
    assert_eq!(common_name(&[]), None);
}
