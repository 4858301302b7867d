//! The ConfigMap: redis.conf and the scripts the mode supplies.

use k8s_openapi::api::core::v1::ConfigMap;

use super::hash::short_hash;
use super::meta;
use crate::model::{Component, Model};

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

/// A hash of the ConfigMap's files. Put on the pod template, it makes a config change roll the
/// pods (a mounted ConfigMap alone updates files under a running Redis that never re-reads them).
pub(super) fn content_hash(config: &ConfigMap) -> String {
    let mut parts: Vec<&[u8]> = Vec::new();
    for (k, v) in config.data.iter().flatten() {
        parts.push(k.as_bytes());
        parts.push(v.as_bytes());
    }
    short_hash(&parts)
}
