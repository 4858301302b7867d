//! The headless Service (stable per-pod DNS, published before readiness so peers and the
//! bootstrap Job can find starting pods) and the client Service.

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{metadata, non_empty};
use crate::model::{Model, COMPONENT_REDIS};

pub const PORT_NAME: &str = "tcp-redis";
pub const BUS_PORT_NAME: &str = "tcp-bus";
/// Container port names (at most 15 characters).
pub const CONTAINER_PORT: &str = "redis";
pub const CONTAINER_BUS_PORT: &str = "cluster-bus";
pub const SENTINEL_PORT_NAME: &str = "tcp-sentinel";
pub const CONTAINER_SENTINEL_PORT: &str = "sentinel";

fn port(name: &str, port: u16, target: &str) -> ServicePort {
    ServicePort {
        name: Some(name.into()),
        port: i32::from(port),
        target_port: Some(IntOrString::String(target.into())),
        protocol: Some("TCP".into()),
        ..ServicePort::default()
    }
}

pub fn services(m: &Model) -> Vec<Service> {
    let redis_port = port(PORT_NAME, m.port, CONTAINER_PORT);
    let second_port = match m.topology.sentinel() {
        None => port(BUS_PORT_NAME, m.bus_port(), CONTAINER_BUS_PORT),
        Some(s) => port(SENTINEL_PORT_NAME, s.port, CONTAINER_SENTINEL_PORT),
    };
    let headless = Service {
        metadata: metadata(m, &m.names.headless_service, COMPONENT_REDIS),
        spec: Some(ServiceSpec {
            cluster_ip: Some("None".into()),
            publish_not_ready_addresses: Some(true),
            selector: Some(m.labels.selector(COMPONENT_REDIS)),
            ports: Some(vec![redis_port.clone(), second_port.clone()]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    };

    let mut client_meta = metadata(m, &m.names.client_service, COMPONENT_REDIS);
    let mut annotations = client_meta.annotations.take().unwrap_or_default();
    annotations.extend(m.service.annotations.clone());
    client_meta.annotations = non_empty(annotations);
    // Cluster clients reach any node and follow redirects; Sentinel clients ask the Sentinels
    // for the master, so only the Sentinel port is offered.
    let mut client_port = if m.is_cluster() {
        redis_port
    } else {
        second_port
    };
    client_port.node_port = m.service.node_port.map(i32::from);
    let client = Service {
        metadata: client_meta,
        spec: Some(ServiceSpec {
            type_: Some(m.service.type_.as_str().into()),
            selector: Some(m.labels.selector(COMPONENT_REDIS)),
            ports: Some(vec![client_port]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    };
    vec![headless, client]
}
