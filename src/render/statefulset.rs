//! The StatefulSet of Redis pods: what both modes share; the mode adds ports, hooks and
//! sidecars.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    RollingUpdateStatefulSetStrategy, StatefulSet, StatefulSetPersistentVolumeClaimRetentionPolicy,
    StatefulSetSpec, StatefulSetUpdateStrategy,
};
use k8s_openapi::api::core::v1::{
    Affinity, Container, PersistentVolumeClaim, PersistentVolumeClaimSpec, PodAffinityTerm,
    PodAntiAffinity, PodSpec, PodTemplateSpec, TopologySpreadConstraint, Volume,
    VolumeResourceRequirements, WeightedPodAffinityTerm,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::meta;
use super::mode::Mode;
use super::pod::{self, CONFIG_VOLUME, RUNTIME_VOLUME, SECRET_VOLUME, TMP_VOLUME};
use crate::model::{paths, AntiAffinity, Component, Model, Storage};
use crate::templates::ProbeMode;

/// Annotation carrying the ConfigMap's content hash (see `configmap::content_hash`).
const CONFIG_HASH_ANNOTATION: &str = "redkube.io/config-hash";

pub(super) fn statefulset(m: &Model, mode: &dyn Mode, config_hash: &str) -> StatefulSet {
    let template_annotations =
        std::collections::BTreeMap::from([(CONFIG_HASH_ANNOTATION.into(), config_hash.into())]);
    StatefulSet {
        metadata: meta::namespaced(m, &m.names.statefulset, Component::Redis),
        spec: Some(StatefulSetSpec {
            replicas: Some(m.pods() as i32),
            service_name: Some(m.names.headless_service.clone()),
            // Redis Cluster pods must all be up before the cluster can form; ordered start
            // would wait for readiness that needs the cluster: a deadlock.
            pod_management_policy: Some("Parallel".into()),
            selector: meta::selector(m, Component::Redis),
            // Scaling in or deleting the StatefulSet never deletes data.
            persistent_volume_claim_retention_policy: Some(
                StatefulSetPersistentVolumeClaimRetentionPolicy {
                    when_deleted: Some("Retain".into()),
                    when_scaled: Some("Retain".into()),
                },
            ),
            template: PodTemplateSpec {
                metadata: Some(meta::pod_template(
                    m,
                    Component::Redis,
                    template_annotations,
                )),
                spec: Some(pod_spec(m, mode)),
            },
            volume_claim_templates: claim_templates(m),
            update_strategy: Some(update_strategy(m)),
            ..StatefulSetSpec::default()
        }),
        ..StatefulSet::default()
    }
}

/// Written out although it is the API's default, so a reviewer sees how a change rolls.
/// RollingUpdate replaces one pod at a time, highest ordinal first, and waits for each to be
/// Ready (a replica only once synced) before the next. `maxUnavailable` stays unset (1): above
/// 1 it is alpha-gated, and two pods down at once could be both copies of a shard.
fn update_strategy(m: &Model) -> StatefulSetUpdateStrategy {
    StatefulSetUpdateStrategy {
        type_: Some("RollingUpdate".into()),
        rolling_update: Some(RollingUpdateStatefulSetStrategy {
            partition: Some(m.update.partition as i32),
            max_unavailable: None,
        }),
    }
}

fn pod_spec(m: &Model, mode: &dyn Mode) -> PodSpec {
    let s = &m.scheduling;
    let mut containers = vec![redis_container(m, mode)];
    containers.extend(mode.sidecars(m));
    PodSpec {
        automount_service_account_token: Some(false),
        enable_service_links: Some(false),
        service_account_name: m.pod.service_account_name.clone(),
        security_context: Some(pod::pod_security_context()),
        termination_grace_period_seconds: Some(i64::from(m.pod.termination_grace_period_seconds)),
        affinity: affinity(m),
        topology_spread_constraints: s.topology_spread.as_ref().map(|t| {
            vec![TopologySpreadConstraint {
                max_skew: t.max_skew as i32,
                topology_key: t.topology_key.clone(),
                when_unsatisfiable: t.when_unsatisfiable.into(),
                label_selector: Some(meta::selector(m, Component::Redis)),
                ..TopologySpreadConstraint::default()
            }]
        }),
        init_containers: fix_ownership(m).map(|c| vec![c]),
        containers,
        volumes: Some(volumes(m)),
        ..pod::shared_spec(m)
    }
}

fn affinity(m: &Model) -> Option<Affinity> {
    let term = || PodAffinityTerm {
        label_selector: Some(meta::selector(m, Component::Redis)),
        topology_key: m.scheduling.topology_key.clone(),
        ..PodAffinityTerm::default()
    };
    let anti = match m.scheduling.anti_affinity? {
        AntiAffinity::Preferred => PodAntiAffinity {
            preferred_during_scheduling_ignored_during_execution: Some(vec![
                WeightedPodAffinityTerm {
                    weight: 100,
                    pod_affinity_term: term(),
                },
            ]),
            ..PodAntiAffinity::default()
        },
        AntiAffinity::Required => PodAntiAffinity {
            required_during_scheduling_ignored_during_execution: Some(vec![term()]),
            ..PodAntiAffinity::default()
        },
    };
    Some(Affinity {
        pod_anti_affinity: Some(anti),
        ..Affinity::default()
    })
}

/// Mounts every Redis-image container of the pod has: config, Secret, data, scratch.
pub(super) fn data_mounts(m: &Model) -> Vec<k8s_openapi::api::core::v1::VolumeMount> {
    vec![
        pod::mount(CONFIG_VOLUME, paths::CONFIG_DIR, true),
        pod::mount(SECRET_VOLUME, paths::SECRET_DIR, true),
        pod::mount(&m.names.data_claim_template, paths::DATA_DIR, false),
    ]
}

fn redis_container(m: &Model, mode: &dyn Mode) -> Container {
    let probe_script = mode.probe_script();
    let startup_period = 5;
    let mut mounts = data_mounts(m);
    mounts.push(pod::mount(RUNTIME_VOLUME, paths::RUNTIME_DIR, false));
    mounts.push(pod::mount(TMP_VOLUME, paths::TMP_DIR, false));
    Container {
        name: "redis".into(),
        image: Some(m.image.reference.clone()),
        image_pull_policy: Some(m.image.pull_policy.into()),
        command: Some(mode.start_script().command()),
        env: Some(pod::pod_env()),
        ports: Some(mode.redis_ports(m)),
        lifecycle: mode.redis_lifecycle(),
        resources: Some(pod::resources(&m.resources.requests, &m.resources.limits)),
        startup_probe: Some(pod::probe(
            probe_script,
            ProbeMode::Startup,
            startup_period,
            (m.pod.startup_timeout_seconds as i32 + startup_period - 1) / startup_period,
        )),
        liveness_probe: Some(pod::probe(probe_script, ProbeMode::Liveness, 10, 6)),
        readiness_probe: Some(pod::probe(probe_script, ProbeMode::Readiness, 5, 2)),
        security_context: Some(pod::container_security_context()),
        volume_mounts: Some(mounts),
        ..Container::default()
    }
}

/// NFS ignores fsGroup: an opt-in root init container hands the export to the Redis user.
fn fix_ownership(m: &Model) -> Option<Container> {
    let Storage::Nfs {
        fix_ownership: true,
        ..
    } = &m.storage
    else {
        return None;
    };
    let id = crate::model::RUN_AS_ID;
    Some(Container {
        name: "fix-ownership".into(),
        image: Some(m.image.reference.clone()),
        image_pull_policy: Some(m.image.pull_policy.into()),
        command: Some(vec![
            "chown".into(),
            "-R".into(),
            format!("{id}:{id}"),
            paths::DATA_DIR.into(),
        ]),
        resources: Some(pod::resources(&m.resources.requests, &m.resources.limits)),
        security_context: Some(pod::root_chown_security_context()),
        volume_mounts: Some(vec![pod::mount(
            &m.names.data_claim_template,
            paths::DATA_DIR,
            false,
        )]),
        ..Container::default()
    })
}

fn volumes(m: &Model) -> Vec<Volume> {
    let mut v = vec![
        pod::config_volume(m),
        pod::secret_volume(m),
        pod::empty_dir(RUNTIME_VOLUME, true, "1Mi"),
        pod::empty_dir(TMP_VOLUME, false, "64Mi"),
    ];
    if let Storage::Ephemeral { size_limit } = &m.storage {
        let mut data = pod::empty_dir(&m.names.data_claim_template, false, "");
        if let Some(dir) = data.empty_dir.as_mut() {
            dir.size_limit = size_limit.clone().map(Quantity);
        }
        v.push(data);
    }
    v
}

fn claim_templates(m: &Model) -> Option<Vec<PersistentVolumeClaim>> {
    let (size, class, modes) = match &m.storage {
        Storage::Claim {
            size,
            storage_class,
            access_modes,
        } => (size, storage_class.clone(), access_modes),
        Storage::Nfs {
            size,
            storage_class,
            access_modes,
            ..
        } => (size, Some(storage_class.clone()), access_modes),
        Storage::Ephemeral { .. } => return None,
    };
    Some(vec![PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(m.names.data_claim_template.clone()),
            labels: Some(m.labels.selector(Component::Redis)),
            ..ObjectMeta::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(modes.iter().map(|s| s.to_string()).collect()),
            storage_class_name: class,
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([(
                    "storage".to_string(),
                    Quantity(size.clone()),
                )])),
                ..VolumeResourceRequirements::default()
            }),
            ..PersistentVolumeClaimSpec::default()
        }),
        ..PersistentVolumeClaim::default()
    }])
}
