//! NetworkPolicy in front of the Redis pods: the ports the release's pods use among themselves
//! only between them; the client ports from the release's pods, the reconcile Job and the
//! selected clients. The mode adds its own policies (the cluster's reconcile Job).

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort,
    NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::meta;
use super::mode::Mode;
use crate::model::{ClientSelector, Component, Model};

fn tcp(port: u16) -> NetworkPolicyPort {
    NetworkPolicyPort {
        port: Some(IntOrString::Int(i32::from(port))),
        protocol: Some("TCP".into()),
        ..NetworkPolicyPort::default()
    }
}

fn pods(labels: BTreeMap<String, String>) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        pod_selector: Some(meta::match_labels(labels)),
        ..NetworkPolicyPeer::default()
    }
}

/// A policy for `component`'s pods that admits nothing: for pods nobody connects to.
pub(super) fn deny_all_ingress(m: &Model, name: &str, component: Component) -> NetworkPolicy {
    NetworkPolicy {
        metadata: meta::namespaced(m, name, component),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(meta::selector(m, component)),
            policy_types: Some(vec!["Ingress".into()]),
            ingress: None,
            ..NetworkPolicySpec::default()
        }),
    }
}

fn client_peer(c: &ClientSelector) -> NetworkPolicyPeer {
    match c {
        ClientSelector::Pods {
            pod_labels,
            namespace_labels,
        } => NetworkPolicyPeer {
            pod_selector: Some(LabelSelector {
                match_labels: meta::non_empty(pod_labels.clone()),
                ..LabelSelector::default()
            }),
            namespace_selector: namespace_labels.as_ref().map(|ns| LabelSelector {
                match_labels: meta::non_empty(ns.clone()),
                ..LabelSelector::default()
            }),
            ..NetworkPolicyPeer::default()
        },
        ClientSelector::IpBlock { cidr, except } => NetworkPolicyPeer {
            ip_block: Some(IPBlock {
                cidr: cidr.clone(),
                except: (!except.is_empty()).then(|| except.clone()),
            }),
            ..NetworkPolicyPeer::default()
        },
    }
}

pub(super) fn network_policies(m: &Model, mode: &dyn Mode) -> Vec<NetworkPolicy> {
    let Some(np) = &m.network_policy else {
        return Vec::new();
    };
    let client_ports: Vec<_> = mode.client_ports(m).into_iter().map(tcp).collect();
    let own_rule = NetworkPolicyIngressRule {
        from: Some(vec![pods(m.labels.selector(Component::Redis))]),
        ports: Some(mode.peer_ports(m).into_iter().map(tcp).collect()),
    };

    let client_rule = if np.clients.is_empty() && m.service.external {
        // A NodePort or LoadBalancer Service exists to be reached from outside: any source.
        NetworkPolicyIngressRule {
            from: None,
            ports: Some(client_ports),
        }
    } else {
        // The release's reconcile Job is a client too.
        let mut from = vec![pods(m.labels.selector(Component::Reconcile))];
        if np.clients.is_empty() {
            // Every pod in the release's namespace.
            from.push(NetworkPolicyPeer {
                pod_selector: Some(LabelSelector::default()),
                ..NetworkPolicyPeer::default()
            });
        }
        from.extend(np.clients.iter().map(client_peer));
        NetworkPolicyIngressRule {
            from: Some(from),
            ports: Some(client_ports),
        }
    };

    let mut policies = vec![NetworkPolicy {
        metadata: meta::namespaced(m, &m.names.network_policy, Component::Redis),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(meta::selector(m, Component::Redis)),
            policy_types: Some(vec!["Ingress".into()]),
            ingress: Some(vec![own_rule, client_rule]),
            ..NetworkPolicySpec::default()
        }),
    }];
    // Nothing ever connects to the reconcile Job's pod.
    policies.push(deny_all_ingress(
        m,
        &m.names.reconcile_network_policy,
        Component::Reconcile,
    ));
    policies
}
