//! The StatefulSet of Redis pods.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    StatefulSet, StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetSpec,
};
use k8s_openapi::api::core::v1::{
    Affinity, Container, ContainerPort, ExecAction, Lifecycle, LifecycleHandler,
    PersistentVolumeClaim, PersistentVolumeClaimSpec, PodAffinityTerm, PodAntiAffinity, PodSpec,
    PodTemplateSpec, Probe, Toleration, TopologySpreadConstraint, Volume,
    VolumeResourceRequirements, WeightedPodAffinityTerm,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use super::pod::{self, CONFIG_VOLUME, RUNTIME_VOLUME, SECRET_VOLUME, TMP_VOLUME};
use super::services::{CONTAINER_BUS_PORT, CONTAINER_PORT, CONTAINER_SENTINEL_PORT};
use super::{metadata, non_empty};
use crate::model::{paths, Model, SentinelTopology, Storage, COMPONENT_REDIS};
use crate::profile::{AntiAffinity, TaintEffect, TolerationOperator, WhenUnsatisfiable};

/// Annotation carrying the ConfigMap's content hash (see `configmap::content_hash`).
pub const CONFIG_HASH_ANNOTATION: &str = "redkube.io/config-hash";

pub fn statefulset(m: &Model, config_hash: &str) -> StatefulSet {
    let mut template_annotations = m.annotations.clone();
    template_annotations.insert(CONFIG_HASH_ANNOTATION.into(), config_hash.into());
    StatefulSet {
        metadata: metadata(m, &m.names.statefulset, COMPONENT_REDIS),
        spec: Some(StatefulSetSpec {
            replicas: Some(m.pods() as i32),
            service_name: Some(m.names.headless_service.clone()),
            // Redis Cluster pods must all be up before the cluster can form; ordered start
            // would wait for readiness that needs the cluster: a deadlock.
            pod_management_policy: Some("Parallel".into()),
            selector: LabelSelector {
                match_labels: Some(m.labels.selector(COMPONENT_REDIS)),
                ..LabelSelector::default()
            },
            // Scaling in or deleting the StatefulSet never deletes data.
            persistent_volume_claim_retention_policy: Some(
                StatefulSetPersistentVolumeClaimRetentionPolicy {
                    when_deleted: Some("Retain".into()),
                    when_scaled: Some("Retain".into()),
                },
            ),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(m.labels.full(COMPONENT_REDIS)),
                    annotations: Some(template_annotations),
                    ..ObjectMeta::default()
                }),
                spec: Some(pod_spec(m)),
            },
            volume_claim_templates: claim_templates(m),
            ..StatefulSetSpec::default()
        }),
        ..StatefulSet::default()
    }
}

fn pod_spec(m: &Model) -> PodSpec {
    let s = &m.scheduling;
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
                when_unsatisfiable: match t.when_unsatisfiable {
                    WhenUnsatisfiable::ScheduleAnyway => "ScheduleAnyway",
                    WhenUnsatisfiable::DoNotSchedule => "DoNotSchedule",
                }
                .into(),
                label_selector: Some(selector(m)),
                ..TopologySpreadConstraint::default()
            }]
        }),
        node_selector: non_empty(s.node_selector.clone()),
        tolerations: (!s.tolerations.is_empty())
            .then(|| s.tolerations.iter().map(toleration).collect()),
        priority_class_name: s.priority_class_name.clone(),
        containers: containers(m),
        volumes: Some(volumes(m)),
        ..PodSpec::default()
    }
}

fn selector(m: &Model) -> LabelSelector {
    LabelSelector {
        match_labels: Some(m.labels.selector(COMPONENT_REDIS)),
        ..LabelSelector::default()
    }
}

fn affinity(m: &Model) -> Option<Affinity> {
    let term = || PodAffinityTerm {
        label_selector: Some(selector(m)),
        topology_key: m.scheduling.topology_key.clone(),
        ..PodAffinityTerm::default()
    };
    let anti = match m.scheduling.anti_affinity {
        AntiAffinity::None => return None,
        AntiAffinity::Soft => PodAntiAffinity {
            preferred_during_scheduling_ignored_during_execution: Some(vec![
                WeightedPodAffinityTerm {
                    weight: 100,
                    pod_affinity_term: term(),
                },
            ]),
            ..PodAntiAffinity::default()
        },
        AntiAffinity::Hard => PodAntiAffinity {
            required_during_scheduling_ignored_during_execution: Some(vec![term()]),
            ..PodAntiAffinity::default()
        },
    };
    Some(Affinity {
        pod_anti_affinity: Some(anti),
        ..Affinity::default()
    })
}

fn toleration(t: &crate::profile::Toleration) -> Toleration {
    Toleration {
        key: t.key.clone(),
        operator: Some(
            match t.operator {
                TolerationOperator::Equal => "Equal",
                TolerationOperator::Exists => "Exists",
            }
            .into(),
        ),
        value: t.value.clone(),
        effect: t.effect.map(|e| {
            match e {
                TaintEffect::NoSchedule => "NoSchedule",
                TaintEffect::PreferNoSchedule => "PreferNoSchedule",
                TaintEffect::NoExecute => "NoExecute",
            }
            .into()
        }),
        toleration_seconds: t.toleration_seconds,
    }
}

fn probe(mode: &str, period: i32, failures: i32) -> Probe {
    Probe {
        exec: Some(ExecAction {
            command: Some(pod::script("probe.sh", &[mode])),
        }),
        period_seconds: Some(period),
        timeout_seconds: Some(5),
        failure_threshold: Some(failures),
        ..Probe::default()
    }
}

fn containers(m: &Model) -> Vec<Container> {
    let mut v = vec![redis_container(m)];
    if let Some(s) = m.topology.sentinel() {
        v.push(sentinel_container(m, s));
    }
    v
}

fn tcp_port(name: &str, port: u16) -> ContainerPort {
    ContainerPort {
        name: Some(name.into()),
        container_port: i32::from(port),
        protocol: Some("TCP".into()),
        ..ContainerPort::default()
    }
}

fn pod_env() -> Vec<k8s_openapi::api::core::v1::EnvVar> {
    vec![
        pod::field_env("POD_NAME", "metadata.name"),
        pod::field_env("POD_NAMESPACE", "metadata.namespace"),
        pod::field_env("POD_IP", "status.podIP"),
    ]
}

/// The Sentinel beside Redis: its config lives on the data volume (Sentinel rewrites it).
fn sentinel_container(m: &Model, s: &SentinelTopology) -> Container {
    Container {
        name: "sentinel".into(),
        image: Some(m.image.reference.clone()),
        image_pull_policy: Some(m.image.pull_policy.into()),
        command: Some(pod::script("sentinel.sh", &[])),
        env: Some(pod_env()),
        ports: Some(vec![tcp_port(CONTAINER_SENTINEL_PORT, s.port)]),
        resources: Some(pod::resources(
            &s.resources.cpu,
            &s.resources.memory,
            &s.resources.cpu,
            &s.resources.memory,
        )),
        startup_probe: Some(probe("sentinel", 5, 24)),
        liveness_probe: Some(probe("sentinel", 10, 6)),
        readiness_probe: Some(probe("sentinel", 5, 2)),
        security_context: Some(pod::container_security_context()),
        volume_mounts: Some(vec![
            pod::mount(CONFIG_VOLUME, paths::CONFIG_DIR, true),
            pod::mount(SECRET_VOLUME, paths::SECRET_DIR, true),
            pod::mount(&m.names.data_claim_template, paths::DATA_DIR, false),
            pod::mount(TMP_VOLUME, paths::TMP_DIR, false),
        ]),
        ..Container::default()
    }
}

fn redis_container(m: &Model) -> Container {
    let limits = m.resources.limits();
    let startup_period = 5;
    Container {
        name: "redis".into(),
        image: Some(m.image.reference.clone()),
        image_pull_policy: Some(m.image.pull_policy.into()),
        command: Some(pod::script("start.sh", &[])),
        env: Some(pod_env()),
        ports: Some(if m.is_cluster() {
            vec![
                tcp_port(CONTAINER_PORT, m.port),
                tcp_port(CONTAINER_BUS_PORT, m.bus_port()),
            ]
        } else {
            vec![tcp_port(CONTAINER_PORT, m.port)]
        }),
        // Sentinel mode: a master hands over to a replica before it stops.
        lifecycle: m.topology.sentinel().map(|_| Lifecycle {
            pre_stop: Some(LifecycleHandler {
                exec: Some(ExecAction {
                    command: Some(pod::script("prestop.sh", &[])),
                }),
                ..LifecycleHandler::default()
            }),
            ..Lifecycle::default()
        }),
        resources: Some(pod::resources(
            &m.resources.requests.cpu,
            &m.resources.requests.memory,
            &limits.cpu,
            &limits.memory,
        )),
        startup_probe: Some(probe(
            "startup",
            startup_period,
            (m.pod.startup_timeout_seconds as i32 + startup_period - 1) / startup_period,
        )),
        liveness_probe: Some(probe("liveness", 10, 6)),
        readiness_probe: Some(probe("readiness", 5, 2)),
        security_context: Some(pod::container_security_context()),
        volume_mounts: Some(vec![
            pod::mount(CONFIG_VOLUME, paths::CONFIG_DIR, true),
            pod::mount(SECRET_VOLUME, paths::SECRET_DIR, true),
            pod::mount(&m.names.data_claim_template, paths::DATA_DIR, false),
            pod::mount(RUNTIME_VOLUME, paths::RUNTIME_DIR, false),
            pod::mount(TMP_VOLUME, paths::TMP_DIR, false),
        ]),
        ..Container::default()
    }
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
        data.empty_dir.as_mut().expect("just built").size_limit = size_limit.clone().map(Quantity);
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
            labels: Some(m.labels.selector(COMPONENT_REDIS)),
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
