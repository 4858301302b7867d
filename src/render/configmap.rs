//! The ConfigMap: redis.conf and the scripts the mode supplies.

use k8s_openapi::api::core::v1::ConfigMap;

use super::hash::short_hash;
use super::meta;
use crate::model::{Component, Model};
use crate::templates::Script;

pub(super) fn config_map(m: &Model, files: Vec<(&'static str, String)>) -> ConfigMap {
    ConfigMap {
        metadata: meta::namespaced(m, &m.names.config_map, Component::Redis),
        data: Some(
            files
                .into_iter()
                .map(|(key, text)| (key.to_string(), text))
                .collect(),
        ),
        ..ConfigMap::default()
    }
}

/// A hash of the ConfigMap's files that the pods read only when they start. Put on the pod
/// template, it makes a config change roll the pods (a mounted ConfigMap alone updates files
/// under a running Redis that never re-reads them). Files read at run time (the topology) or
/// only by the Job are left out (`Script::restarts_pods`): a changed count rolls no pod.
pub(super) fn content_hash(config: &ConfigMap, scripts: &[Script]) -> String {
    let restarts_pods = |key: &str| {
        scripts
            .iter()
            .filter(|s| s.key() == key)
            .all(|s| s.restarts_pods())
    };
    let mut parts: Vec<&[u8]> = Vec::new();
    for (k, v) in config
        .data
        .iter()
        .flatten()
        .filter(|(k, _)| restarts_pods(k))
    {
        parts.push(k.as_bytes());
        parts.push(v.as_bytes());
    }
    short_hash(&parts)
}
