//! What each mode supplies to the shared objects. `cluster` and `sentinel` implement it; the
//! StatefulSet, Services and NetworkPolicy ask it instead of matching on the mode.

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Container, ContainerPort, Lifecycle, ServicePort};
use k8s_openapi::api::networking::v1::NetworkPolicy;

use super::cluster::ClusterMode;
use super::sentinel::SentinelMode;
use crate::model::{Component, Model, Topology};
use crate::templates::{Script, TemplateError};

pub(super) trait Mode {
    /// The ConfigMap's files, in key order.
    fn config_files(&self, m: &Model) -> Result<Vec<(&'static str, String)>, TemplateError>;
    /// The Redis container's command.
    fn start_script(&self) -> Script;
    /// The script behind every probe.
    fn probe_script(&self) -> Script;
    /// The Redis container's ports.
    fn redis_ports(&self, m: &Model) -> Vec<ContainerPort>;
    /// The Redis container's lifecycle hooks.
    fn redis_lifecycle(&self) -> Option<Lifecycle>;
    /// Containers beside Redis in every pod.
    fn sidecars(&self, m: &Model) -> Vec<Container>;
    /// The headless Service's ports: Redis first.
    fn headless_ports(&self, m: &Model) -> Vec<ServicePort>;
    /// The one port of the client Service.
    fn client_port(&self, m: &Model) -> ServicePort;
    /// Ports clients use, and ports only the release's own pods use among themselves.
    fn client_ports(&self, m: &Model) -> Vec<u16>;
    fn peer_ports(&self, m: &Model) -> Vec<u16>;
    /// NetworkPolicies beyond the one in front of the Redis pods.
    fn extra_network_policies(&self, m: &Model) -> Vec<NetworkPolicy>;
    /// Jobs the release runs (after the pods, in the last file).
    fn jobs(&self, m: &Model, config: &ConfigMap) -> Vec<Job>;
    /// The component of those Jobs' pods, which reach Redis as clients.
    fn job_component(&self) -> Option<Component>;
}

pub(super) fn of(m: &Model) -> Box<dyn Mode + '_> {
    match &m.topology {
        Topology::Cluster(c) => Box::new(ClusterMode(c)),
        Topology::Sentinel(s) => Box::new(SentinelMode(s)),
    }
}
