//! Static NFS PersistentVolumes (seed 000's pv.yaml, made safe): one per ordinal, each pinned to
//! that ordinal's claim, in a storage class no provisioner serves, so no foreign claim can bind
//! them and no two pods can share a directory.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    NFSVolumeSource, ObjectReference, PersistentVolume, PersistentVolumeSpec,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::meta;
use crate::model::{Component, Model, Storage};

/// One PV per ordinal, built lazily: the caller serializes each PV and drops it before the
/// next is built, so memory does not grow with a Vec of thousands of PersistentVolume structs
/// (3.4 KiB each plus their maps and strings).
pub(super) fn persistent_volumes(m: &Model) -> impl Iterator<Item = PersistentVolume> + '_ {
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
        metadata: meta::cluster_wide(m, &m.names.persistent_volume(ordinal), Component::Redis),
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
