//! How clients reach Redis: the client Service and the NetworkPolicy in front of the pods.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use super::diagnostics::{FieldPath, Finding};
use super::names::check_metadata;
use crate::model::{self, ClientService};

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct ServiceProfile {
    #[serde(rename = "type")]
    pub(crate) type_: ServiceType,
    pub(crate) annotations: BTreeMap<String, String>,
    /// Fixed node port (NodePort and LoadBalancer only), 30000-32767.
    pub(crate) node_port: Option<u16>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
pub(crate) enum ServiceType {
    #[default]
    ClusterIP,
    NodePort,
    LoadBalancer,
}

impl ServiceType {
    fn as_str(self) -> &'static str {
        match self {
            ServiceType::ClusterIP => "ClusterIP",
            ServiceType::NodePort => "NodePort",
            ServiceType::LoadBalancer => "LoadBalancer",
        }
    }
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct NetworkPolicyProfile {
    pub(crate) enabled: bool,
    /// Who may reach the client port besides the release's own pods. Empty: every pod in the
    /// namespace (ClusterIP) or any source (NodePort, LoadBalancer).
    pub(crate) clients: Vec<ClientSelector>,
}

impl Default for NetworkPolicyProfile {
    fn default() -> Self {
        Self {
            enabled: true,
            clients: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct ClientSelector {
    #[serde(default)]
    pub(crate) pod_labels: BTreeMap<String, String>,
    /// Unset: the release's namespace only.
    pub(crate) namespace_labels: Option<BTreeMap<String, String>>,
}

impl ServiceProfile {
    pub(super) fn resolve(&self, out: &mut Vec<Finding>) -> ClientService {
        check_metadata(
            &FieldPath::parse("service.annotations"),
            &self.annotations,
            false,
            out,
        );
        if let Some(port) = self.node_port {
            let at = FieldPath::parse("service.node-port");
            if self.type_ == ServiceType::ClusterIP {
                out.push(
                    Finding::error(at, "a ClusterIP Service has no node port")
                        .help("set `type = \"NodePort\"` or remove `node-port`"),
                );
            } else if !(30000..=32767).contains(&port) {
                out.push(
                    Finding::error(at, format!("node port {port} is outside 30000-32767"))
                        .help("use the API server's default --service-node-port-range"),
                );
            }
        }
        ClientService {
            type_: self.type_.as_str(),
            external: self.type_ != ServiceType::ClusterIP,
            annotations: self.annotations.clone(),
            node_port: self.node_port,
        }
    }
}

impl NetworkPolicyProfile {
    pub(super) fn resolve(&self, out: &mut Vec<Finding>) -> Option<model::NetworkPolicy> {
        for (i, c) in self.clients.iter().enumerate() {
            let at = FieldPath::parse("network-policy.clients").index(i);
            check_metadata(&at.clone().key("pod-labels"), &c.pod_labels, true, out);
            if let Some(ns) = &c.namespace_labels {
                check_metadata(&at.key("namespace-labels"), ns, true, out);
            }
        }
        self.enabled.then(|| model::NetworkPolicy {
            clients: self
                .clients
                .iter()
                .map(|c| model::ClientSelector {
                    pod_labels: c.pod_labels.clone(),
                    namespace_labels: c.namespace_labels.clone(),
                })
                .collect(),
        })
    }
}
