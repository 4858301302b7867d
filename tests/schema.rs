//! `redkube schema` says what `validate` says, as far as JSON Schema can: every bundled profile
//! and fixture passes an independent JSON Schema validator, and every `tests/invalid` case
//! whose rule JSON Schema can express (ranges, patterns, required keys, one-of, if/then) is
//! rejected by it. The cases left out need the profile's meaning (cross-field arithmetic,
//! quantities, the environment) and are listed with the reason.

mod common;

use std::process::Command;

use common::*;

/// tests/invalid cases whose rule is beyond JSON Schema, with why.
const NOT_EXPRESSIBLE: &[(&str, &str)] = &[
    ("bad-cpu", "Kubernetes quantity grammar"),
    ("bad-label-key", "label-key grammar on map keys"),
    ("bad-maxmemory", "Redis memory-size grammar"),
    ("bad-size", "Kubernetes quantity grammar"),
    ("client-bad-cidr", "CIDR arithmetic"),
    (
        "client-selector-bad-label",
        "label-value grammar on map values",
    ),
    ("image-bad-digest", "image reference grammar"),
    ("image-latest", "image reference grammar"),
    ("image-too-old", "version ordering in a tag"),
    ("limit-below-request", "quantity comparison across fields"),
    ("maxmemory-at-limit", "quantity comparison across tables"),
    ("owned-directive", "directive ownership"),
    ("reserved-label", "label-key prefixes on map keys"),
    ("sentinel-count-mismatch", "equality across fields"),
    ("sentinel-even-count", "parity"),
    ("sentinel-even-sentinels", "parity"),
    (
        "sentinel-failover-timeout-short",
        "comparison across fields",
    ),
    (
        "sentinel-load-balancer",
        "rule across tables (mode and service)",
    ),
    ("sentinel-min-replicas-too-many", "comparison across fields"),
    ("sentinel-port-clash", "equality across tables"),
    ("sentinel-quorum-too-high", "comparison across fields"),
    ("short-password", "the password comes from the environment"),
    ("source-ranges-on-clusterip", "rule across fields"),
    (
        "startup-shorter-than-waits",
        "arithmetic over the topology's timing",
    ),
    ("syntax-error", "not TOML at all"),
    (
        "update-partition-too-high",
        "comparison with the topology's pod count",
    ),
    (
        "toleration-exists-with-value",
        "rule across fields of a list item",
    ),
];

/// Every `extra-config-*` case but one is about redis.conf's own grammar (the directive table).
fn not_expressible(name: &str) -> bool {
    NOT_EXPRESSIBLE.iter().any(|(n, _)| *n == name)
        || (name.starts_with("extra-config-") && name != "extra-config-integer-value")
}

fn schema() -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_redkube"))
        .arg("schema")
        .output()
        .unwrap();
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).unwrap()
}

fn as_json(path: &std::path::Path) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap();
    let value: toml::Value = toml::from_str(&text).ok()?;
    Some(serde_json::to_value(value).unwrap())
}

fn toml_files(dir: &str) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(root().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    v.sort();
    v
}

#[test]
fn every_valid_profile_passes_the_schema() {
    let validator = jsonschema::validator_for(&schema()).unwrap();
    let mut files = bundled_profiles();
    files.extend(toml_files("tests/fixtures"));
    for path in files {
        let json = as_json(&path).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&json)
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
    }
}

#[test]
fn every_expressible_invalid_case_fails_the_schema() {
    let validator = jsonschema::validator_for(&schema()).unwrap();
    let mut accepted = Vec::new();
    let mut checked = 0;
    for path in toml_files("tests/invalid") {
        let name = stem(&path);
        if not_expressible(&name) {
            continue;
        }
        let json = as_json(&path).unwrap_or_else(|| panic!("{name} is not TOML"));
        checked += 1;
        if validator.is_valid(&json) {
            accepted.push(name);
        }
    }
    assert!(accepted.is_empty(), "the schema accepts {accepted:?}");
    assert!(checked >= 20, "only {checked} cases checked");
}

#[test]
fn every_left_out_case_exists() {
    for (name, _) in NOT_EXPRESSIBLE {
        assert!(
            root().join(format!("tests/invalid/{name}.toml")).exists(),
            "{name}"
        );
    }
}
