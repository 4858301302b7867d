//! Every bundled profile's full render is pinned by an insta snapshot in `snapshots/`.
//! CI runs with INSTA_UPDATE=no, so a missing or changed snapshot fails.

mod common;

use common::*;

#[test]
fn bundled_profiles_match_their_snapshots() {
    let profiles = bundled_profiles();
    assert!(profiles.len() >= 3, "bundled profiles are missing");
    for profile in profiles {
        let yaml = render_file(&profile);
        insta::with_settings!({
            snapshot_path => root().join("snapshots"),
            prepend_module_to_snapshot => false,
            omit_expression => true,
            description => format!("redkube render profiles/{}.toml", stem(&profile)),
        }, {
            insta::assert_snapshot!(stem(&profile), yaml);
        });
    }
}

#[test]
fn every_snapshot_belongs_to_a_bundled_profile() {
    let stems: Vec<String> = bundled_profiles().iter().map(|p| stem(p)).collect();
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
