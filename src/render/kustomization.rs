//! `kustomization.yaml` for folder output, so the folder is a kustomize base.

use serde::Serialize;

use super::Rendered;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Kustomization<'a> {
    api_version: &'static str,
    kind: &'static str,
    resources: Vec<&'a str>,
}

pub(crate) fn kustomization(rendered: &[Rendered]) -> String {
    let k = Kustomization {
        api_version: "kustomize.config.k8s.io/v1beta1",
        kind: "Kustomization",
        resources: rendered.iter().map(|r| r.concern.file_name()).collect(),
    };
    super::document(&k)
}
