//! Sentinel mode: a Sentinel beside Redis in every pod, the Sentinel port for clients, and the
//! preStop hand-over of a master.

use k8s_openapi::api::core::v1::{Container, ContainerPort, Lifecycle, ServicePort};

use super::mode::Mode;
use super::pod::{self, RUNTIME_VOLUME, TMP_VOLUME};
use super::services::{self, CONTAINER_PORT};
use super::statefulset::data_mounts;
use crate::model::{paths, Model, SentinelTopology};
use crate::templates::{self, ProbeMode, Script, SentinelContext, TemplateError};

const SENTINEL_PORT_NAME: &str = "tcp-sentinel";
const CONTAINER_SENTINEL_PORT: &str = "sentinel";

pub(super) struct SentinelMode<'a>(pub(super) &'a SentinelTopology);

impl Mode for SentinelMode<'_> {
    fn config_files(&self, m: &Model) -> Result<Vec<(&'static str, String)>, TemplateError> {
        templates::render_files(self.scripts(), &SentinelContext::new(m, self.0))
    }

    fn start_script(&self) -> Script {
        Script::SentinelRedisStart
    }

    fn probe_script(&self) -> Script {
        Script::SentinelProbe
    }

    fn redis_ports(&self, m: &Model) -> Vec<ContainerPort> {
        vec![pod::tcp_port(CONTAINER_PORT, m.port)]
    }

    /// A master hands over to a replica before it stops.
    fn redis_lifecycle(&self) -> Option<Lifecycle> {
        Some(pod::pre_stop(Script::SentinelPreStop))
    }

    /// The Sentinel: its config lives on the data volume (Sentinel rewrites it).
    fn sidecars(&self, m: &Model) -> Vec<Container> {
        let s = self.0;
        let probe = |period, failures| {
            pod::probe(Script::SentinelProbe, ProbeMode::Sentinel, period, failures)
        };
        let mut mounts = data_mounts(m);
        // The runtime volume holds the password this Sentinel started with, for its probe.
        mounts.push(pod::mount(RUNTIME_VOLUME, paths::RUNTIME_DIR, false));
        mounts.push(pod::mount(TMP_VOLUME, paths::TMP_DIR, false));
        vec![Container {
            name: "sentinel".into(),
            image: Some(m.image.reference.clone()),
            image_pull_policy: Some(m.image.pull_policy.into()),
            command: Some(Script::SentinelStart.command()),
            env: Some(pod::pod_env()),
            ports: Some(vec![pod::tcp_port(CONTAINER_SENTINEL_PORT, s.port)]),
            resources: Some(pod::resources(&s.resources, &s.resources)),
            startup_probe: Some(probe(5, 24)),
            liveness_probe: Some(probe(10, 6)),
            readiness_probe: Some(probe(5, 2)),
            security_context: Some(pod::container_security_context()),
            volume_mounts: Some(mounts),
            ..Container::default()
        }]
    }

    fn headless_ports(&self, m: &Model) -> Vec<ServicePort> {
        vec![services::redis_port(m), self.sentinel_port()]
    }

    /// Sentinel clients ask the Sentinels for the master, so only their port is offered.
    fn client_port(&self, _: &Model) -> ServicePort {
        self.sentinel_port()
    }

    /// The Redis port, and the Sentinel port to find the master.
    fn client_ports(&self, m: &Model) -> Vec<u16> {
        vec![m.port, self.0.port]
    }

    fn peer_ports(&self, m: &Model) -> Vec<u16> {
        self.client_ports(m)
    }

    fn scripts(&self) -> &'static [Script] {
        &Script::SENTINEL
    }

    /// Each pod asks the Sentinels whom to follow; the Job only makes the Sentinels forget
    /// removed pods and sets the quorum.
    fn reconcile_script(&self) -> Script {
        Script::SentinelReconcile
    }

    fn reconcile_deadline_seconds(&self) -> u32 {
        self.0.timing.job_deadline_seconds
    }
}

impl SentinelMode<'_> {
    fn sentinel_port(&self) -> ServicePort {
        services::port(SENTINEL_PORT_NAME, self.0.port, CONTAINER_SENTINEL_PORT)
    }
}
