//! The bootstrap Job: forms the cluster from empty nodes, or checks a formed one.
//!
//! Its name carries a hash of its own spec and script, so a re-apply after any change (topology,
//! image, script) creates a new Job instead of failing on the immutable pod template, and an
//! unchanged re-apply is a no-op.

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{ConfigMap, Container, PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::pod::{self, CONFIG_VOLUME, SECRET_VOLUME, TMP_VOLUME};
use super::{metadata, short_hash};
use crate::model::{paths, Model, COMPONENT_BOOTSTRAP};
use crate::templates::{HEALTH_BUDGET_SECONDS, PING_BUDGET_SECONDS};

/// Margin over the script's own wait budgets, for the create step itself.
const DEADLINE_MARGIN_SECONDS: u32 = 120;

pub fn bootstrap_job(m: &Model, config: &ConfigMap) -> Job {
    let spec = job_spec(m);
    let spec_yaml = serde_saphyr::to_string(&spec).expect("a JobSpec serializes");
    let script = config
        .data
        .as_ref()
        .and_then(|d| d.get("bootstrap.sh"))
        .map_or("", String::as_str);
    let hash = short_hash(&[spec_yaml.as_bytes(), script.as_bytes()]);
    let name = format!("{}-{hash}", m.names.bootstrap_job_base);
    Job {
        metadata: metadata(m, &name, COMPONENT_BOOTSTRAP),
        spec: Some(spec),
        ..Job::default()
    }
}

fn job_spec(m: &Model) -> JobSpec {
    JobSpec {
        backoff_limit: Some(3),
        active_deadline_seconds: Some(i64::from(
            PING_BUDGET_SECONDS + HEALTH_BUDGET_SECONDS + DEADLINE_MARGIN_SECONDS,
        )),
        // Finished Jobs are cleaned up; re-creating one (kubectl apply, a GitOps sync) is safe
        // because the script only checks a formed cluster.
        ttl_seconds_after_finished: Some(86400),
        template: PodTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: Some(m.labels.full(COMPONENT_BOOTSTRAP)),
                annotations: super::non_empty(m.annotations.clone()),
                ..ObjectMeta::default()
            }),
            spec: Some(PodSpec {
                restart_policy: Some("Never".into()),
                automount_service_account_token: Some(false),
                enable_service_links: Some(false),
                service_account_name: m.pod.service_account_name.clone(),
                security_context: Some(pod::pod_security_context()),
                containers: vec![Container {
                    name: "bootstrap".into(),
                    image: Some(m.image.reference.clone()),
                    image_pull_policy: Some(m.image.pull_policy.into()),
                    command: Some(pod::script("bootstrap.sh", &[])),
                    env: Some(vec![pod::field_env("POD_NAMESPACE", "metadata.namespace")]),
                    resources: Some(pod::resources("50m", "64Mi", "200m", "64Mi")),
                    security_context: Some(pod::container_security_context()),
                    volume_mounts: Some(vec![
                        pod::mount(CONFIG_VOLUME, paths::CONFIG_DIR, true),
                        pod::mount(SECRET_VOLUME, paths::SECRET_DIR, true),
                        pod::mount(TMP_VOLUME, paths::TMP_DIR, false),
                    ]),
                    ..Container::default()
                }],
                volumes: Some(vec![
                    pod::config_volume(m),
                    pod::secret_volume(m),
                    pod::empty_dir(TMP_VOLUME, false, "16Mi"),
                ]),
                ..PodSpec::default()
            }),
        },
        ..JobSpec::default()
    }
}
