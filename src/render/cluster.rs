//! Redis Cluster mode: the cluster bus port, the ConfigMap of a cluster, the preStop hand-over
//! of a master, and the script of the reconcile Job that forms, grows and shrinks the cluster.

use k8s_openapi::api::core::v1::{Container, ContainerPort, Lifecycle, ServicePort};

use super::mode::Mode;
use super::pod;
use super::services::{self, CONTAINER_PORT};
use crate::model::{ClusterTopology, Model};
use crate::templates::{self, ClusterContext, Script, TemplateError};

const BUS_PORT_NAME: &str = "tcp-bus";
const CONTAINER_BUS_PORT: &str = "cluster-bus";

pub(super) struct ClusterMode<'a>(pub(super) &'a ClusterTopology);

impl Mode for ClusterMode<'_> {
    fn config_files(&self, m: &Model) -> Result<Vec<(&'static str, String)>, TemplateError> {
        templates::render_files(self.scripts(), &ClusterContext::new(m, self.0))
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

    fn scripts(&self) -> &'static [Script] {
        &Script::CLUSTER
    }

    fn reconcile_script(&self) -> Script {
        Script::ClusterReconcile
    }

    fn reconcile_deadline_seconds(&self) -> u32 {
        self.0.timing.job_deadline_seconds
    }
}
