//! The headless Service (stable per-pod DNS, published before readiness so peers and the
//! reconcile Job can find starting pods) and the client Service.

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::meta::{self, non_empty};
use super::mode::Mode;
use crate::model::{Component, Model};

/// Service port names, and the container port names they target (at most 15 characters).
pub(super) const PORT_NAME: &str = "tcp-redis";
pub(super) const CONTAINER_PORT: &str = "redis";

/// A TCP Service port `name` forwarding to the container port named `target`.
pub(super) fn port(name: &str, port: u16, target: &str) -> ServicePort {
    ServicePort {
        name: Some(name.into()),
        port: i32::from(port),
        target_port: Some(IntOrString::String(target.into())),
        protocol: Some("TCP".into()),
        ..ServicePort::default()
    }
}

/// The Redis port of a Service.
pub(super) fn redis_port(m: &Model) -> ServicePort {
    port(PORT_NAME, m.port, CONTAINER_PORT)
}

pub(super) fn services(m: &Model, mode: &dyn Mode) -> Vec<Service> {
    let headless = Service {
        metadata: meta::namespaced(m, &m.names.headless_service, Component::Redis),
        spec: Some(ServiceSpec {
            cluster_ip: Some("None".into()),
            publish_not_ready_addresses: Some(true),
            selector: Some(m.labels.selector(Component::Redis)),
            ports: Some(mode.headless_ports(m)),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    };

    let mut client_meta = meta::namespaced(m, &m.names.client_service, Component::Redis);
    let mut annotations = client_meta.annotations.take().unwrap_or_default();
    annotations.extend(m.service.annotations.clone());
    client_meta.annotations = non_empty(annotations);
    let mut client_port = mode.client_port(m);
    client_port.node_port = m.service.node_port.map(i32::from);
    let client = Service {
        metadata: client_meta,
        spec: Some(ServiceSpec {
            type_: Some(m.service.type_.into()),
            selector: Some(m.labels.selector(Component::Redis)),
            ports: Some(vec![client_port]),
            load_balancer_source_ranges: (!m.service.load_balancer_source_ranges.is_empty())
                .then(|| m.service.load_balancer_source_ranges.clone()),
            external_traffic_policy: m.service.external_traffic_policy.map(Into::into),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    };
    vec![headless, client]
}
