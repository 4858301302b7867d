//! Every rendered document parses back into its k8s-openapi type with no ignored field: a key
//! that Kubernetes would silently drop (a typo, a wrong nesting level) fails here.

mod common;

use common::*;
use serde::de::DeserializeOwned;

fn ignored_fields<T: DeserializeOwned>(doc: &serde_json::Value) -> Vec<String> {
    let mut ignored = Vec::new();
    // k8s-openapi wraps optional fields, which serde_ignored shows as `?` segments.
    let _: T = serde_ignored::deserialize(doc.clone(), |path| {
        ignored.push(path.to_string().replace(".?", ""))
    })
    .unwrap_or_else(|e| panic!("does not parse as its type: {e}\n{doc:#}"));
    ignored
}

fn check_document(doc: &serde_json::Value) -> Vec<String> {
    use k8s_openapi::api::{apps, batch, core, networking, policy};
    let kind = doc["kind"].as_str().expect("every document has a kind");
    match kind {
        "PersistentVolume" => ignored_fields::<core::v1::PersistentVolume>(doc),
        "Secret" => ignored_fields::<core::v1::Secret>(doc),
        "ConfigMap" => ignored_fields::<core::v1::ConfigMap>(doc),
        "Service" => ignored_fields::<core::v1::Service>(doc),
        "StatefulSet" => ignored_fields::<apps::v1::StatefulSet>(doc),
        "PodDisruptionBudget" => ignored_fields::<policy::v1::PodDisruptionBudget>(doc),
        "NetworkPolicy" => ignored_fields::<networking::v1::NetworkPolicy>(doc),
        "Job" => ignored_fields::<batch::v1::Job>(doc),
        other => panic!("unexpected kind {other}"),
    }
}

fn parse(doc: &str) -> serde_json::Value {
    serde_saphyr::from_str(doc).unwrap_or_else(|e| panic!("not YAML: {e}\n{doc}"))
}

#[test]
fn every_document_round_trips_without_ignored_fields() {
    for profile in bundled_profiles() {
        let stream = render_file(&profile);
        let docs = documents(&stream);
        assert!(
            docs.len() >= 6,
            "{}: only {} documents",
            profile.display(),
            docs.len()
        );
        for doc in docs {
            let value = parse(doc);
            let ignored = check_document(&value);
            assert!(
                ignored.is_empty(),
                "{}: ignored {ignored:?} in\n{doc}",
                profile.display()
            );
        }
    }
}

fn apiversion_kind(v: &serde_json::Value) -> (String, String) {
    (
        v["apiVersion"].as_str().unwrap_or_default().to_string(),
        v["kind"].as_str().unwrap_or_default().to_string(),
    )
}

#[test]
fn only_current_api_versions_are_used() {
    for profile in bundled_profiles() {
        for doc in documents(&render_file(&profile)) {
            let (api, kind) = apiversion_kind(&parse(doc));
            let expected = match kind.as_str() {
                "StatefulSet" => "apps/v1",
                "Job" => "batch/v1",
                "PodDisruptionBudget" => "policy/v1",
                "NetworkPolicy" => "networking.k8s.io/v1",
                _ => "v1",
            };
            assert_eq!(api, expected, "{kind}");
        }
    }
}

/// The check above must be able to fail: a misplaced key is reported.
#[test]
fn a_misplaced_key_is_caught() {
    let stream = render_file(&root().join("profiles/cluster-storageclass.toml"));
    let sts = documents(&stream)
        .into_iter()
        .find(|d| d.contains("kind: StatefulSet"))
        .unwrap();
    let mut value = parse(sts);
    value["spec"]["templat"] = serde_json::json!({"x": 1});
    value["spec"]["template"]["spec"]["containers"][0]["imagePullPolic"] = "Always".into();
    let ignored = check_document(&value);
    assert_eq!(
        ignored,
        [
            "spec.templat",
            "spec.template.spec.containers.0.imagePullPolic"
        ]
    );
}
