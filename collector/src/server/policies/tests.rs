//! Request validation of the Policies service.
use super::*;

const DOC: &str = "apiVersion: spyderbat/v1\nkind: SpyderbatPolicy\nmetadata:\n  name: p1\n  type: trace\nspec:\n  traceSelector:\n    triggerClass: [proc/exec/tmp]\n  mode: audit\n";

fn apply(yaml: &str, reason: &str) -> String {
    check_apply(&ApplyPolicyRequest {
        yaml: yaml.to_owned(),
        dry_run: false,
        reason: reason.to_owned(),
    })
    .err()
    .map(|e| e.0)
    .unwrap_or_default()
}

#[test]
fn a_good_document_is_an_apply_with_its_dry_run_flag() {
    let got = check_apply(&ApplyPolicyRequest {
        yaml: DOC.to_owned(),
        dry_run: true,
        reason: String::new(),
    });
    match got {
        Ok(PolicyChange::Apply { policy, dry_run }) => {
            assert_eq!((policy.name(), dry_run), ("p1", true));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_bad_apply_field_is_named() {
    assert!(apply("", "").starts_with("yaml: required"));
    assert!(apply("  \n", "").starts_with("yaml: required"));
    let big = format!("{DOC}#{}\n", "x".repeat(MAX_YAML_BYTES));
    assert_eq!(
        apply(&big, ""),
        format!("yaml: at most 61440 bytes (got {})", big.len())
    );
    assert!(apply(DOC, &"r".repeat(1025)).starts_with("reason: at most 1024 bytes (got 1025)"));
    let bad = DOC.replace("  mode: audit", "  mode: audit\n  colour: red");
    let e = apply(&bad, "");
    assert!(e.starts_with("request line 10: colour: "), "{e}");
    let e = apply(&DOC.replace("type: trace", "type: bogus"), "");
    assert!(e.starts_with("request line 5: metadata.type: "), "{e}");
}

#[test]
fn names_are_checked_for_characters_and_length() {
    assert_eq!(
        check_name("web-1.a_b").map_err(|e| e.0),
        Ok("web-1.a_b".to_owned())
    );
    assert!(check_name(&"n".repeat(128)).is_ok());
    for bad in ["", "a/b", "../x", "a b", &"n".repeat(129)] {
        let e = check_name(bad).err().map(|e| e.0).unwrap_or_default();
        assert!(
            e.starts_with("name: ") && e.contains("1..=128 characters"),
            "{bad:?}: {e}"
        );
    }
}
