//! NetworkPolicy: the cluster bus only between the release's own pods; the client port from the
//! release's pods, the bootstrap Job and the selected clients.

use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort,
    NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::metadata;
use crate::model::{Model, COMPONENT_BOOTSTRAP, COMPONENT_REDIS};
use crate::profile::ServiceType;

fn tcp(port: u16) -> NetworkPolicyPort {
    NetworkPolicyPort {
        port: Some(IntOrString::Int(i32::from(port))),
        protocol: Some("TCP".into()),
        ..NetworkPolicyPort::default()
    }
}

fn pods(labels: std::collections::BTreeMap<String, String>) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        pod_selector: Some(LabelSelector {
            match_labels: Some(labels),
            ..LabelSelector::default()
        }),
        ..NetworkPolicyPeer::default()
    }
}

pub fn network_policy(m: &Model) -> Vec<NetworkPolicy> {
    if !m.network_policy.enabled {
        return Vec::new();
    }
    let own = pods(m.labels.selector(COMPONENT_REDIS));
    // Clients use the Redis port, and in Sentinel mode the Sentinel port to find the master;
    // the cluster bus is for the release's own pods only.
    let client_ports = match m.topology.sentinel() {
        None => vec![tcp(m.port)],
        Some(s) => vec![tcp(m.port), tcp(s.port)],
    };
    let own_ports = match m.topology.sentinel() {
        None => vec![tcp(m.port), tcp(m.bus_port())],
        Some(_) => client_ports.clone(),
    };
    let cluster_rule = NetworkPolicyIngressRule {
        from: Some(vec![own]),
        ports: Some(own_ports),
    };

    let clients = &m.network_policy.clients;
    let client_rule = if clients.is_empty() && m.service.type_ != ServiceType::ClusterIP {
        // A NodePort or LoadBalancer Service exists to be reached from outside: any source.
        NetworkPolicyIngressRule {
            from: None,
            ports: Some(client_ports),
        }
    } else {
        let mut from = vec![pods(m.labels.selector(COMPONENT_BOOTSTRAP))];
        if clients.is_empty() {
            // Every pod in the release's namespace.
            from.push(NetworkPolicyPeer {
                pod_selector: Some(LabelSelector::default()),
                ..NetworkPolicyPeer::default()
            });
        }
        from.extend(clients.iter().map(|c| NetworkPolicyPeer {
            pod_selector: Some(LabelSelector {
                match_labels: (!c.pod_labels.is_empty()).then(|| c.pod_labels.clone()),
                ..LabelSelector::default()
            }),
            namespace_selector: c.namespace_labels.as_ref().map(|ns| LabelSelector {
                match_labels: (!ns.is_empty()).then(|| ns.clone()),
                ..LabelSelector::default()
            }),
            ..NetworkPolicyPeer::default()
        }));
        NetworkPolicyIngressRule {
            from: Some(from),
            ports: Some(client_ports),
        }
    };

    let mut policies = vec![NetworkPolicy {
        metadata: metadata(m, &m.names.network_policy, COMPONENT_REDIS),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector {
                match_labels: Some(m.labels.selector(COMPONENT_REDIS)),
                ..LabelSelector::default()
            }),
            policy_types: Some(vec!["Ingress".into()]),
            ingress: Some(vec![cluster_rule, client_rule]),
            ..NetworkPolicySpec::default()
        }),
    }];
    if m.is_cluster() {
        policies.push(bootstrap_policy(m));
    }
    policies
}

/// Nothing ever connects to the bootstrap Job's pod: deny all ingress to it.
fn bootstrap_policy(m: &Model) -> NetworkPolicy {
    NetworkPolicy {
        metadata: metadata(
            m,
            &format!("{}-bootstrap", m.names.network_policy),
            COMPONENT_BOOTSTRAP,
        ),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector {
                match_labels: Some(m.labels.selector(COMPONENT_BOOTSTRAP)),
                ..LabelSelector::default()
            }),
            policy_types: Some(vec!["Ingress".into()]),
            ingress: None,
            ..NetworkPolicySpec::default()
        }),
    }
}
