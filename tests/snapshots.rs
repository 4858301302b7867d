//! Every bundled profile's full render is pinned by an insta snapshot in `snapshots/`, and so
//! is every `tests/fixtures/snapshot-*.toml` (settings no bundled profile uses).
//! CI runs with INSTA_UPDATE=no, so a missing or changed snapshot fails.

mod common;

use common::*;

/// Bundled profiles and the snapshot-only fixtures.
fn snapshotted_profiles() -> Vec<std::path::PathBuf> {
    let mut profiles = bundled_profiles();
    let mut fixtures: Vec<_> = std::fs::read_dir(root().join("tests/fixtures"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| stem(p).starts_with("snapshot-"))
        .collect();
    fixtures.sort();
    profiles.extend(fixtures);
    profiles
}

#[test]
fn bundled_profiles_match_their_snapshots() {
    let profiles = snapshotted_profiles();
    assert!(profiles.len() >= 5, "bundled profiles are missing");
    for profile in profiles {
        let yaml = render_file(&profile);
        let relative = profile.strip_prefix(root()).unwrap().display().to_string();
        insta::with_settings!({
            snapshot_path => root().join("snapshots"),
            prepend_module_to_snapshot => false,
            omit_expression => true,
            description => format!("redkube render {relative}"),
        }, {
            insta::assert_snapshot!(stem(&profile), yaml);
        });
    }
}

#[test]
fn every_snapshot_belongs_to_a_bundled_profile() {
    let stems: Vec<String> = snapshotted_profiles().iter().map(|p| stem(p)).collect();
    for entry in std::fs::read_dir(root().join("snapshots")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if let Some(stem) = name.strip_suffix(".snap") {
            assert!(stems.iter().any(|s| s == stem), "orphan snapshot {name}");
        }
    }
}

#[test]
fn rendering_is_deterministic() {
    for profile in bundled_profiles() {
        assert_eq!(
            render_file(&profile),
            render_file(&profile),
            "{}",
            profile.display()
        );
    }
}
