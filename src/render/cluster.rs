//! Redis Cluster mode: the cluster bus port, the ConfigMap of a cluster, the preStop hand-over
//! of a master, and the bootstrap Job (with its deny-all NetworkPolicy) that forms the cluster
//! from empty nodes.
//!
//! The Job's name carries a hash of its own spec and script, so a re-apply after any change
//! (topology, image, script) creates a new Job instead of failing on the immutable pod
//! template, and an unchanged re-apply is a no-op.

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, Container, ContainerPort, Lifecycle, PodSpec, PodTemplateSpec, ServicePort,
};
use k8s_openapi::api::networking::v1::NetworkPolicy;

use super::hash::short_hash;
use super::meta;
use super::mode::Mode;
use super::networkpolicy::deny_all_ingress;
use super::pod::{self, CONFIG_VOLUME, SECRET_VOLUME, TMP_VOLUME};
use super::services::{self, CONTAINER_PORT};
use crate::model::{paths, Amounts, ClusterTopology, Component, Model};
use crate::templates::{self, ClusterContext, Script, TemplateError};

const BUS_PORT_NAME: &str = "tcp-bus";
const CONTAINER_BUS_PORT: &str = "cluster-bus";

pub(super) struct ClusterMode<'a>(pub(super) &'a ClusterTopology);

impl Mode for ClusterMode<'_> {
    fn config_files(&self, m: &Model) -> Result<Vec<(&'static str, String)>, TemplateError> {
        templates::render_files(&Script::CLUSTER, &ClusterContext::new(m, self.0))
    }

    fn start_script(&self) -> Script {
        Script::ClusterStart
    }

    fn probe_script(&self) -> Script {
        Script::ClusterProbe
    }

    fn redis_ports(&self, m: &Model) -> Vec<ContainerPort> {
        vec![
            pod::tcp_port(CONTAINER_PORT, m.port),
            pod::tcp_port(CONTAINER_BUS_PORT, m.bus_port()),
        ]
    }

    /// A master hands its slots over to its most up-to-date replica (`CLUSTER FAILOVER`)
    /// before it stops.
    fn redis_lifecycle(&self) -> Option<Lifecycle> {
        Some(pod::pre_stop(Script::ClusterPreStop))
    }

    fn sidecars(&self, _: &Model) -> Vec<Container> {
        Vec::new()
    }

    fn headless_ports(&self, m: &Model) -> Vec<ServicePort> {
        vec![
            services::redis_port(m),
            services::port(BUS_PORT_NAME, m.bus_port(), CONTAINER_BUS_PORT),
        ]
    }

    /// Cluster clients reach any node and follow redirects.
    fn client_port(&self, m: &Model) -> ServicePort {
        services::redis_port(m)
    }

    fn client_ports(&self, m: &Model) -> Vec<u16> {
        vec![m.port]
    }

    /// The cluster bus is for the release's own pods only.
    fn peer_ports(&self, m: &Model) -> Vec<u16> {
        vec![m.port, m.bus_port()]
    }

    /// Nothing ever connects to the bootstrap Job's pod.
    fn extra_network_policies(&self, m: &Model) -> Vec<NetworkPolicy> {
        vec![deny_all_ingress(
            m,
            &m.names.bootstrap_network_policy,
            Component::Bootstrap,
        )]
    }

    fn jobs(&self, m: &Model, config: &ConfigMap) -> Vec<Job> {
        vec![bootstrap_job(m, self.0, config)]
    }

    fn job_component(&self) -> Option<Component> {
        Some(Component::Bootstrap)
    }
}

fn bootstrap_job(m: &Model, c: &ClusterTopology, config: &ConfigMap) -> Job {
    let spec = job_spec(m, c);
    let script = config
        .data
        .as_ref()
        .and_then(|d| d.get(Script::ClusterBootstrap.key()))
        .map_or("", String::as_str);
    let spec_yaml = super::document(&spec);
    // The document's `---\n` start does not change what the hash tells apart.
    let spec_yaml = spec_yaml.strip_prefix("---\n").unwrap_or(&spec_yaml);
    let hash = short_hash(&[spec_yaml.as_bytes(), script.as_bytes()]);
    Job {
        metadata: meta::namespaced(m, &m.names.bootstrap_job(&hash), Component::Bootstrap),
        spec: Some(spec),
        ..Job::default()
    }
}

fn amounts(cpu: &str, memory: &str) -> Amounts {
    Amounts {
        cpu: Some(cpu.into()),
        memory: memory.into(),
    }
}

fn job_spec(m: &Model, c: &ClusterTopology) -> JobSpec {
    JobSpec {
        backoff_limit: Some(3),
        active_deadline_seconds: Some(i64::from(c.timing.job_deadline_seconds)),
        // Finished Jobs are cleaned up; re-creating one (kubectl apply, a GitOps sync) is safe
        // because the script only checks a formed cluster.
        ttl_seconds_after_finished: Some(86400),
        template: PodTemplateSpec {
            metadata: Some(meta::pod_template(
                m,
                Component::Bootstrap,
                Default::default(),
            )),
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
                    command: Some(Script::ClusterBootstrap.command()),
                    // POD_IP tells the scripts the cluster's address family.
                    env: Some(pod::pod_env()),
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
