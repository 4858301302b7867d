//! Pieces shared by the Redis pods and the reconcile Job's pod: hardened security contexts,
//! the ConfigMap/Secret/scratch volumes, downward-API env, ports, probes and resources.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMapVolumeSource, ContainerPort, EmptyDirVolumeSource, EnvVar, EnvVarSource,
    ExecAction, KeyToPath, Lifecycle, LifecycleHandler, LocalObjectReference, ObjectFieldSelector,
    PodSecurityContext, PodSpec, Probe, ResourceRequirements, SeccompProfile, SecretVolumeSource,
    SecurityContext, Toleration, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::meta::non_empty;
use crate::model::{paths, Amounts, Model, RUN_AS_ID};
use crate::templates::{ProbeMode, Script};

pub(super) const CONFIG_VOLUME: &str = "config";
pub(super) const SECRET_VOLUME: &str = "auth";
pub(super) const RUNTIME_VOLUME: &str = "runtime";
pub(super) const TMP_VOLUME: &str = "tmp";

/// Pod-level: non-root as a high uid, volumes group-owned by it, default seccomp.
pub(super) fn pod_security_context() -> PodSecurityContext {
    PodSecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(RUN_AS_ID),
        run_as_group: Some(RUN_AS_ID),
        fs_group: Some(RUN_AS_ID),
        fs_group_change_policy: Some("OnRootMismatch".into()),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".into(),
            ..SeccompProfile::default()
        }),
        ..PodSecurityContext::default()
    }
}

/// Container-level: read-only root, no privilege escalation, no capabilities.
pub(super) fn container_security_context() -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        privileged: Some(false),
        read_only_root_filesystem: Some(true),
        run_as_non_root: Some(true),
        run_as_user: Some(RUN_AS_ID),
        run_as_group: Some(RUN_AS_ID),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".into()]),
            ..Capabilities::default()
        }),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".into(),
            ..SeccompProfile::default()
        }),
        ..SecurityContext::default()
    }
}

/// The one root container redkube renders (opt-in, NFS only): it may change file owners and
/// nothing else.
pub(super) fn root_chown_security_context() -> SecurityContext {
    SecurityContext {
        run_as_non_root: Some(false),
        run_as_user: Some(0),
        run_as_group: Some(0),
        capabilities: Some(Capabilities {
            add: Some(vec!["CHOWN".into(), "FOWNER".into()]),
            drop: Some(vec!["ALL".into()]),
        }),
        ..container_security_context()
    }
}

pub(super) fn config_volume(m: &Model) -> Volume {
    Volume {
        name: CONFIG_VOLUME.into(),
        config_map: Some(ConfigMapVolumeSource {
            name: m.names.config_map.clone(),
            default_mode: Some(0o444),
            ..ConfigMapVolumeSource::default()
        }),
        ..Volume::default()
    }
}

/// The Secret, projected to a single file. Mode 0440: readable by the fsGroup (Redis' group),
/// not by others.
pub(super) fn secret_volume(m: &Model) -> Volume {
    Volume {
        name: SECRET_VOLUME.into(),
        secret: Some(SecretVolumeSource {
            secret_name: Some(m.auth.secret_name.clone()),
            default_mode: Some(0o440),
            items: Some(vec![KeyToPath {
                key: m.auth.secret_key.clone(),
                path: paths::SECRET_FILE.into(),
                ..KeyToPath::default()
            }]),
            ..SecretVolumeSource::default()
        }),
        ..Volume::default()
    }
}

pub(super) fn empty_dir(name: &str, memory: bool, limit: &str) -> Volume {
    Volume {
        name: name.into(),
        empty_dir: Some(EmptyDirVolumeSource {
            medium: memory.then(|| "Memory".to_string()),
            size_limit: Some(Quantity(limit.into())),
        }),
        ..Volume::default()
    }
}

pub(super) fn mount(name: &str, path: &str, read_only: bool) -> VolumeMount {
    VolumeMount {
        name: name.into(),
        mount_path: path.into(),
        read_only: read_only.then_some(true),
        ..VolumeMount::default()
    }
}

/// An env var from the downward API.
pub(super) fn field_env(name: &str, field_path: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                field_path: field_path.into(),
                ..ObjectFieldSelector::default()
            }),
            ..EnvVarSource::default()
        }),
        ..EnvVar::default()
    }
}

pub(super) fn resources(requests: &Amounts, limits: &Amounts) -> ResourceRequirements {
    let amounts = |a: &Amounts| {
        let mut m = BTreeMap::from([("memory".to_string(), Quantity(a.memory.clone()))]);
        if let Some(cpu) = &a.cpu {
            m.insert("cpu".to_string(), Quantity(cpu.clone()));
        }
        m
    };
    ResourceRequirements {
        requests: Some(amounts(requests)),
        limits: Some(amounts(limits)),
        ..ResourceRequirements::default()
    }
}

/// What every pod of the release shares, the Job's too: where it may run (node selector,
/// tolerations, priority class: on a pool of tainted nodes only, a pod without them stays
/// Pending) and the registry credentials to pull the image.
pub(super) fn shared_spec(m: &Model) -> PodSpec {
    let s = &m.scheduling;
    PodSpec {
        node_selector: non_empty(s.node_selector.clone()),
        tolerations: (!s.tolerations.is_empty())
            .then(|| s.tolerations.iter().map(toleration).collect()),
        priority_class_name: s.priority_class_name.clone(),
        image_pull_secrets: (!m.pod.image_pull_secrets.is_empty()).then(|| {
            m.pod
                .image_pull_secrets
                .iter()
                .map(|name| LocalObjectReference { name: name.clone() })
                .collect()
        }),
        ..PodSpec::default()
    }
}

fn toleration(t: &crate::model::Toleration) -> Toleration {
    Toleration {
        key: t.key.clone(),
        operator: Some(t.operator.into()),
        value: t.value.clone(),
        effect: t.effect.map(Into::into),
        toleration_seconds: t.toleration_seconds,
    }
}

pub(super) fn tcp_port(name: &str, port: u16) -> ContainerPort {
    ContainerPort {
        name: Some(name.into()),
        container_port: i32::from(port),
        protocol: Some("TCP".into()),
        ..ContainerPort::default()
    }
}

/// The pod's own name, namespace and IP, which every script needs.
pub(super) fn pod_env() -> Vec<EnvVar> {
    vec![
        field_env("POD_NAME", "metadata.name"),
        field_env("POD_NAMESPACE", "metadata.namespace"),
        field_env("POD_IP", "status.podIP"),
    ]
}

/// An exec probe running `script` for one kind of check.
pub(super) fn probe(script: Script, mode: ProbeMode, period: i32, failures: i32) -> Probe {
    Probe {
        exec: Some(ExecAction {
            command: Some(script.probe_command(mode)),
        }),
        period_seconds: Some(period),
        timeout_seconds: Some(5),
        failure_threshold: Some(failures),
        ..Probe::default()
    }
}

/// Lifecycle hooks that run `script` before the container stops (a master's hand-over).
pub(super) fn pre_stop(script: Script) -> Lifecycle {
    Lifecycle {
        pre_stop: Some(LifecycleHandler {
            exec: Some(ExecAction {
                command: Some(script.command()),
            }),
            ..LifecycleHandler::default()
        }),
        ..Lifecycle::default()
    }
}
