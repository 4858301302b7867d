//! Kubernetes reads YAML with a 1.1 parser, where unquoted `yes`, `on`, `off`, `y`, `0755` and
//! `1e3` are booleans or numbers. serde_yaml wrote some of them bare; serde-saphyr must quote
//! every such string. This guards the choice of serializer.

mod common;

use common::*;

const AMBIGUOUS: &[&str] = &[
    "yes", "no", "on", "off", "y", "n", "true", "False", "0755", "1e3", "0x1F", "12:30", "~",
    "null",
];

fn profile_with_ambiguous_labels() -> String {
    let mut text = std::fs::read_to_string(root().join("profiles/cluster-cache.toml")).unwrap();
    text.push_str("\n[annotations]\n");
    for (i, v) in AMBIGUOUS.iter().enumerate() {
        text.push_str(&format!("a{i} = \"{v}\"\n"));
    }
    text
}

#[test]
fn yaml_1_1_ambiguous_strings_are_quoted() {
    let yaml = render_text("ambiguous.toml", &profile_with_ambiguous_labels());
    for (i, v) in AMBIGUOUS.iter().enumerate() {
        let double = format!("a{i}: \"{v}\"");
        let single = format!("a{i}: '{v}'");
        assert!(
            yaml.contains(&double) || yaml.contains(&single),
            "`{v}` is not quoted; found: {:?}",
            yaml.lines()
                .find(|l| l.trim_start().starts_with(&format!("a{i}:")))
        );
        let bare = format!("a{i}: {v}\n");
        assert!(!yaml.contains(&bare), "`{v}` is bare");
    }
}

#[test]
fn ambiguous_strings_read_back_as_strings() {
    let yaml = render_text("ambiguous.toml", &profile_with_ambiguous_labels());
    let cm = documents(&yaml)
        .into_iter()
        .find(|d| d.contains("kind: ConfigMap"))
        .unwrap();
    let value: serde_json::Value = serde_saphyr::from_str(cm).unwrap();
    for (i, v) in AMBIGUOUS.iter().enumerate() {
        assert_eq!(
            value["metadata"]["annotations"][format!("a{i}")],
            serde_json::json!(v)
        );
    }
}
