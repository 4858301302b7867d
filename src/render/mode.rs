//! What each mode supplies to the shared objects. `cluster` and `sentinel` implement it; the
//! StatefulSet, Services and NetworkPolicy ask it instead of matching on the mode.

use k8s_openapi::api::core::v1::{Container, ContainerPort, Lifecycle, ServicePort};

use super::cluster::ClusterMode;
use super::sentinel::SentinelMode;
use crate::model::{Model, Topology};
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
    /// The mode's ConfigMap files.
    fn scripts(&self) -> &'static [Script];
    /// The reconcile Job's command, and its deadline.
    fn reconcile_script(&self) -> Script;
    fn reconcile_deadline_seconds(&self) -> u32;
}

pub(super) fn of(m: &Model) -> Box<dyn Mode + '_> {
    match &m.topology {
        Topology::Cluster(c) => Box::new(ClusterMode(c)),
        Topology::Sentinel(s) => Box::new(SentinelMode(s)),
    }
}
