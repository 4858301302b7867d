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

/// One PV per ordinal, built lazily: the caller serializes each PV and drops it before the
/// next is built, so memory does not grow with a Vec of thousands of PersistentVolume structs
/// (3.4 KiB each plus their maps and strings).
pub fn persistent_volumes(m: &Model) -> impl Iterator<Item = PersistentVolume> + '_ {
    let paths: &[String] = match &m.storage {
        Storage::Nfs { paths, .. } => paths,
        _ => &[],
    };
    paths
        .iter()
        .zip(0u32..)
        .map(move |(path, ordinal)| persistent_volume(m, path, ordinal))
}

fn persistent_volume(m: &Model, path: &str, ordinal: u32) -> PersistentVolume {
    let Storage::Nfs {
        size,
        server,
        reclaim_policy,
        mount_options,
        access_modes,
        storage_class,
        ..
    } = &m.storage
    else {
        unreachable!("persistent_volumes yields only for NFS storage");
    };
    PersistentVolume {
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
                path: path.to_string(),
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
    }
}
