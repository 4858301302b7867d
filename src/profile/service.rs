//! How clients reach Redis: the client Service and the NetworkPolicy in front of the pods.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use super::diagnostics::{FieldPath, Finding};
use super::names::check_metadata;
use crate::model::{self, ClientService};

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
// A node port needs a Service type that has one.
#[schemars(extend(
    "if" = { "required": ["node-port"] },
    "then" = { "required": ["type"], "properties": { "type": { "enum": ["NodePort", "LoadBalancer"] } } }
))]
pub(crate) struct ServiceProfile {
    #[serde(rename = "type")]
    pub(crate) type_: ServiceType,
    pub(crate) annotations: BTreeMap<String, String>,
    /// Fixed node port (NodePort and LoadBalancer only), 30000-32767.
    #[schemars(range(min = 30000, max = 32767))]
    pub(crate) node_port: Option<u16>,
    /// Source CIDRs a LoadBalancer admits (`loadBalancerSourceRanges`).
    pub(crate) load_balancer_source_ranges: Vec<String>,
    /// `Cluster` or `Local` (NodePort and LoadBalancer only): `Local` keeps the client's
    /// source address, so NetworkPolicy `ip-block` clients can match it.
    pub(crate) external_traffic_policy: Option<ExternalTrafficPolicy>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
pub(crate) enum ExternalTrafficPolicy {
    Cluster,
    Local,
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

/// Pods (by labels, in the release's namespace or in namespaces selected by labels), or an
/// address range (`ip-block`) for clients outside the cluster's pod network.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct ClientSelector {
    #[serde(default)]
    pub(crate) pod_labels: BTreeMap<String, String>,
    /// Unset: the release's namespace only.
    pub(crate) namespace_labels: Option<BTreeMap<String, String>>,
    /// A CIDR, instead of pod and namespace labels.
    pub(crate) ip_block: Option<IpBlock>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct IpBlock {
    pub(crate) cidr: String,
    #[serde(default)]
    pub(crate) except: Vec<String>,
}

/// `a.b.c.d/n` or an IPv6 prefix `x::/n`.
fn is_cidr(s: &str) -> bool {
    let Some((addr, bits)) = s.split_once('/') else {
        return false;
    };
    match (addr.parse::<std::net::IpAddr>(), bits.parse::<u8>()) {
        (Ok(std::net::IpAddr::V4(_)), Ok(b)) => b <= 32,
        (Ok(std::net::IpAddr::V6(_)), Ok(b)) => b <= 128,
        _ => false,
    }
}

impl ServiceProfile {
    /// `sentinel_mode`: the Sentinels answer with in-cluster names, which no client outside
    /// resolves, so an external Service cannot serve them.
    pub(super) fn resolve(&self, sentinel_mode: bool, out: &mut Vec<Finding>) -> ClientService {
        let at = |key: &str| FieldPath::parse("service").key(key);
        let external = self.type_ != ServiceType::ClusterIP;
        if external && sentinel_mode {
            out.push(
                Finding::error(
                    at("type"),
                    format!("a {} Service cannot serve Sentinel clients outside the cluster", self.type_.as_str()),
                )
                .help("the Sentinels name the master by its pod DNS name (`NAME-N.NAME-headless.NAMESPACE.svc`), \
                       which resolves only inside the cluster: a client outside finds the Sentinel \
                       but never reaches the master; use `ClusterIP` and run clients in the cluster"),
            );
        } else if external {
            out.push(
                Finding::warning(
                    at("type"),
                    format!("a {} Service reaches one node; Redis Cluster redirects clients to pod IPs", self.type_.as_str()),
                )
                .help("clients outside the cluster follow MOVED/ASK to pod IPs: this works only where \
                       pod IPs are routable from them (VPC-native networking); otherwise use `ClusterIP` \
                       and run clients in the cluster"),
            );
        }
        if !self.load_balancer_source_ranges.is_empty() && self.type_ != ServiceType::LoadBalancer {
            out.push(
                Finding::error(
                    at("load-balancer-source-ranges"),
                    "source ranges apply to a LoadBalancer only",
                )
                .help("set `type = \"LoadBalancer\"` or remove them"),
            );
        }
        for (i, cidr) in self.load_balancer_source_ranges.iter().enumerate() {
            if !is_cidr(cidr) {
                out.push(
                    Finding::error(
                        at("load-balancer-source-ranges").index(i),
                        format!("`{cidr}` is not a CIDR"),
                    )
                    .help("write an address and a prefix length, e.g. `10.0.0.0/8`"),
                );
            }
        }
        if self.external_traffic_policy.is_some() && !external {
            out.push(
                Finding::error(
                    at("external-traffic-policy"),
                    "a ClusterIP Service has no external traffic",
                )
                .help("set `type = \"NodePort\"` or `\"LoadBalancer\"`, or remove it"),
            );
        }
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
            external,
            annotations: self.annotations.clone(),
            node_port: self.node_port,
            load_balancer_source_ranges: self.load_balancer_source_ranges.clone(),
            external_traffic_policy: self.external_traffic_policy.map(|p| match p {
                ExternalTrafficPolicy::Cluster => "Cluster",
                ExternalTrafficPolicy::Local => "Local",
            }),
        }
    }
}

impl NetworkPolicyProfile {
    pub(super) fn resolve(
        &self,
        service_external: bool,
        out: &mut Vec<Finding>,
    ) -> Option<model::NetworkPolicy> {
        for (i, c) in self.clients.iter().enumerate() {
            let at = FieldPath::parse("network-policy.clients").index(i);
            check_metadata(&at.clone().key("pod-labels"), &c.pod_labels, true, out);
            if let Some(ns) = &c.namespace_labels {
                check_metadata(&at.clone().key("namespace-labels"), ns, true, out);
            }
            if let Some(block) = &c.ip_block {
                if !c.pod_labels.is_empty() || c.namespace_labels.is_some() {
                    out.push(
                        Finding::error(at.clone().key("ip-block"), "an ip-block client takes no pod or namespace labels")
                            .help("NetworkPolicy peers are either selectors or an ip-block: list them as two clients"),
                    );
                }
                for (j, cidr) in std::iter::once(&block.cidr)
                    .chain(&block.except)
                    .enumerate()
                {
                    if !is_cidr(cidr) {
                        let field = if j == 0 {
                            at.clone().key("ip-block").key("cidr")
                        } else {
                            at.clone().key("ip-block").key("except").index(j - 1)
                        };
                        out.push(
                            Finding::error(field, format!("`{cidr}` is not a CIDR"))
                                .help("write an address and a prefix length, e.g. `10.0.0.0/8`"),
                        );
                    }
                }
            }
        }
        if self.enabled && service_external && self.clients.is_empty() {
            out.push(
                Finding::warning(
                    FieldPath::parse("network-policy.clients"),
                    "the client port is open to any source: the Service is reachable from outside",
                )
                .help(
                    "list the clients, e.g. `clients = [{ ip-block = { cidr = \"10.0.0.0/8\" } }]`",
                ),
            );
        }
        self.enabled.then(|| model::NetworkPolicy {
            clients: self
                .clients
                .iter()
                .map(|c| match &c.ip_block {
                    Some(block) => model::ClientSelector::IpBlock {
                        cidr: block.cidr.clone(),
                        except: block.except.clone(),
                    },
                    None => model::ClientSelector::Pods {
                        pod_labels: c.pod_labels.clone(),
                        namespace_labels: c.namespace_labels.clone(),
                    },
                })
                .collect(),
        })
    }
}
