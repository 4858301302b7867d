//! The ConfigMap: redis.conf and the scripts, rendered from `templates/`.

use k8s_openapi::api::core::v1::ConfigMap;

use super::{metadata, short_hash};
use crate::model::{Model, COMPONENT_REDIS};
use crate::templates::config_files;

pub fn config_map(m: &Model) -> ConfigMap {
    let data = config_files(m)
        .into_iter()
        .map(|(name, text)| (name.to_string(), text))
        .collect();
    ConfigMap {
        metadata: metadata(m, &m.names.config_map, COMPONENT_REDIS),
        data: Some(data),
        ..ConfigMap::default()
    }
}

/// A hash of the ConfigMap's files. Put on the pod template, it makes a config change roll the
/// pods (a mounted ConfigMap alone updates files under a running Redis that never re-reads them).
pub fn content_hash(config: &ConfigMap) -> String {
    let mut parts: Vec<&[u8]> = Vec::new();
    for (k, v) in config.data.iter().flatten() {
        parts.push(k.as_bytes());
        parts.push(v.as_bytes());
    }
    short_hash(&parts)
}
