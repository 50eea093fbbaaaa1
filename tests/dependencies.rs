//! What Cargo.lock brings in: no crate the RustSec advisory database calls
//! unmaintained or unsound, as far as lab has met them.

/// Crates with an advisory against them, and the advisory.
const ADVISED: &[(&str, &str)] = &[
    // indicatif 0.17's formatter; 0.18 moved to unit-prefix.
    ("number_prefix", "RUSTSEC-2025-0119 (unmaintained)"),
];

#[test]
fn no_crate_with_an_advisory_is_locked_in() {
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock")).unwrap();
    for (name, advisory) in ADVISED {
        assert!(
            !lock.contains(&format!("name = \"{name}\"\n")),
            "Cargo.lock has `{name}`: {advisory}"
        );
    }
}
