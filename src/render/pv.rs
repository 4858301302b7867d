//! Static NFS PersistentVolumes (seed 000's pv.yaml, made safe): one per ordinal, each pinned to
//! that ordinal's claim, in a storage class no provisioner serves, so no foreign claim can bind
//! them and no two pods can share a directory.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    NFSVolumeSource, ObjectReference, PersistentVolume, PersistentVolumeSpec,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::non_empty;
use crate::model::{Model, Storage, COMPONENT_REDIS};

/// PV names are cluster-wide, so they carry the namespace as well as the release.
pub fn pv_name(m: &Model, ordinal: u32) -> String {
    format!("redkube-{}-{}-{ordinal}", m.namespace, m.names.release)
}

pub fn persistent_volumes(m: &Model) -> Vec<PersistentVolume> {
    let Storage::Nfs {
        size,
        server,
        paths,
        reclaim_policy,
        mount_options,
        access_modes,
        storage_class,
    } = &m.storage
    else {
        return Vec::new();
    };
    paths
        .iter()
        .zip(0u32..)
        .map(|(path, ordinal)| PersistentVolume {
            metadata: ObjectMeta {
                name: Some(pv_name(m, ordinal)),
                labels: Some(m.labels.full(COMPONENT_REDIS)),
                annotations: non_empty(m.annotations.clone()),
                ..ObjectMeta::default()
            },
            spec: Some(PersistentVolumeSpec {
                capacity: Some(BTreeMap::from([(
                    "storage".to_string(),
                    Quantity(size.clone()),
                )])),
                access_modes: Some(access_modes.iter().map(|s| s.to_string()).collect()),
                persistent_volume_reclaim_policy: Some(reclaim_policy.to_string()),
                storage_class_name: Some(storage_class.clone()),
                mount_options: (!mount_options.is_empty()).then(|| mount_options.clone()),
                volume_mode: Some("Filesystem".into()),
                nfs: Some(NFSVolumeSource {
                    server: server.clone(),
                    path: path.clone(),
                    read_only: None,
                }),
                claim_ref: Some(ObjectReference {
                    api_version: Some("v1".into()),
                    kind: Some("PersistentVolumeClaim".into()),
                    namespace: Some(m.namespace.clone()),
                    name: Some(m.names.claim(ordinal)),
                    ..ObjectReference::default()
                }),
                ..PersistentVolumeSpec::default()
            }),
            ..PersistentVolume::default()
        })
        .collect()
}
