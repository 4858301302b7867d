//! The reconcile Job of either mode: it brings the running Redis to the shape of this render
//! (cluster: form, grow, shrink; Sentinel: the Sentinels forget removed pods, the quorum).
//!
//! The Job's name carries a hash of its own spec and script, so a re-apply after any change
//! (topology, image, script) creates a new Job instead of failing on the immutable pod
//! template, and an unchanged re-apply is a no-op. The topology it was rendered for is in its
//! environment too: the script refuses to act on a mounted ConfigMap from another render.

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{ConfigMap, Container, EnvVar, PodSpec, PodTemplateSpec};

use super::hash::short_hash;
use super::meta;
use super::mode::Mode;
use super::pod::{self, CONFIG_VOLUME, SECRET_VOLUME, TMP_VOLUME};
use crate::model::{paths, Amounts, Component, Model};
use crate::templates::TOPOLOGY_KEY;

/// How long a finished Job stays (its log with it).
const JOB_TTL_SECONDS: i32 = 600;

/// The environment variable that carries the topology file's settings, one line.
const TOPOLOGY_ENV: &str = "REDKUBE_TOPOLOGY";

pub(super) fn reconcile_job(m: &Model, mode: &dyn Mode, config: &ConfigMap) -> Job {
    let script = mode.reconcile_script();
    let file = |key: &str| {
        config
            .data
            .as_ref()
            .and_then(|d| d.get(key))
            .map_or("", String::as_str)
    };
    let spec = job_spec(m, mode, &topology_line(file(TOPOLOGY_KEY)));
    let spec_yaml = super::document(&spec);
    // The document's `---\n` start does not change what the hash tells apart.
    let spec_yaml = spec_yaml.strip_prefix("---\n").unwrap_or(&spec_yaml);
    let hash = short_hash(&[spec_yaml.as_bytes(), file(script.key()).as_bytes()]);
    Job {
        metadata: meta::namespaced(m, &m.names.reconcile_job(&hash), Component::Reconcile),
        spec: Some(spec),
        ..Job::default()
    }
}

/// The topology file's settings (`key=value` lines, comments left out), on one line.
fn topology_line(file: &str) -> String {
    file.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join(" ")
}

fn amounts(cpu: &str, memory: &str) -> Amounts {
    Amounts {
        cpu: Some(cpu.into()),
        memory: memory.into(),
    }
}

fn job_spec(m: &Model, mode: &dyn Mode, topology: &str) -> JobSpec {
    let mut env = pod::pod_env();
    env.push(EnvVar {
        name: TOPOLOGY_ENV.into(),
        value: Some(topology.into()),
        ..EnvVar::default()
    });
    JobSpec {
        // Every step starts from what the cluster shows, so a retry resumes where the last
        // attempt stopped.
        backoff_limit: Some(3),
        active_deadline_seconds: Some(i64::from(mode.reconcile_deadline_seconds())),
        // A finished Job goes soon: a later apply that returns to a shape seen before has
        // this Job's name again, and must find it gone to run it. Re-creating one (kubectl
        // apply, a GitOps sync) is safe: the script changes nothing on a reconciled deployment.
        ttl_seconds_after_finished: Some(JOB_TTL_SECONDS),
        template: PodTemplateSpec {
            metadata: Some(meta::pod_template(
                m,
                Component::Reconcile,
                Default::default(),
            )),
            spec: Some(PodSpec {
                restart_policy: Some("Never".into()),
                automount_service_account_token: Some(false),
                enable_service_links: Some(false),
                service_account_name: m.pod.service_account_name.clone(),
                security_context: Some(pod::pod_security_context()),
                containers: vec![Container {
                    name: "reconcile".into(),
                    image: Some(m.image.reference.clone()),
                    image_pull_policy: Some(m.image.pull_policy.into()),
                    command: Some(mode.reconcile_script().command()),
                    // POD_IP tells the scripts the cluster's address family.
                    env: Some(env),
                    resources: Some(pod::resources(
                        &amounts("50m", "64Mi"),
                        &amounts("200m", "64Mi"),
                    )),
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
                ..pod::shared_spec(m)
            }),
        },
        ..JobSpec::default()
    }
}

#[cfg(test)]
mod tests {
    use super::topology_line;

    #[test]
    fn the_topology_line_leaves_out_comments() {
        assert_eq!(
            topology_line("# shape\npods=6\n\nmasters=3\n"),
            "pods=6 masters=3"
        );
    }
}
