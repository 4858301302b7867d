//! Metadata and selectors of the release's objects, built one way.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use crate::model::{Component, Model};

/// Metadata of a namespaced object of this release.
pub(super) fn namespaced(m: &Model, name: &str, component: Component) -> ObjectMeta {
    ObjectMeta {
        namespace: Some(m.namespace.clone()),
        ..cluster_wide(m, name, component)
    }
}

/// Metadata of a cluster-wide object of this release (no namespace).
pub(super) fn cluster_wide(m: &Model, name: &str, component: Component) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_string()),
        labels: Some(m.labels.full(component)),
        annotations: non_empty(m.annotations.clone()),
        ..ObjectMeta::default()
    }
}

/// Metadata of a pod template: labels, the release's and the pod-only annotations, and
/// `extra` annotations; no name.
pub(super) fn pod_template(
    m: &Model,
    component: Component,
    extra: BTreeMap<String, String>,
) -> ObjectMeta {
    let mut annotations = m.annotations.clone();
    annotations.extend(m.pod.annotations.clone());
    annotations.extend(extra);
    ObjectMeta {
        labels: Some(m.labels.full(component)),
        annotations: non_empty(annotations),
        ..ObjectMeta::default()
    }
}

/// Selects one component's pods by its stable labels.
pub(super) fn selector(m: &Model, component: Component) -> LabelSelector {
    match_labels(m.labels.selector(component))
}

pub(super) fn match_labels(labels: BTreeMap<String, String>) -> LabelSelector {
    LabelSelector {
        match_labels: Some(labels),
        ..LabelSelector::default()
    }
}

pub(super) fn non_empty(map: BTreeMap<String, String>) -> Option<BTreeMap<String, String>> {
    (!map.is_empty()).then_some(map)
}
