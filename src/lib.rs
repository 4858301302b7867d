//! redkube: one typed TOML profile in, production-grade Kubernetes manifests for Redis out.
//!
//! Data flows one way: [`profile`] (TOML -> typed, validated structs) -> [`model`] (names,
//! labels, topology resolved) -> [`render`] (typed `k8s-openapi` objects -> YAML, with the
//! ConfigMap's files from [`templates`]) -> [`output`] (stdout or an atomic folder write).

pub mod cli;
pub mod diagnostics;
pub mod model;
pub mod output;
pub mod profile;
pub mod render;
pub mod starter;
pub mod templates;

use diagnostics::{ProfileDiagnostic, ProfileErrors};
use profile::load::{load_str, EnvLookup};

/// The result of rendering one profile: the documents by concern, and the warnings to show.
pub struct Rendering {
    pub documents: Vec<render::Rendered>,
    pub warnings: Vec<ProfileDiagnostic>,
}

/// Profile text to rendered documents: the whole pipeline, without I/O. `file` names the
/// source in diagnostics.
pub fn render_str(file: &str, text: &str, env: EnvLookup<'_>) -> Result<Rendering, ProfileErrors> {
    let loaded = load_str(file, text, env)?;
    let model = model::Model::resolve(&loaded.profile, loaded.env_password);
    Ok(Rendering {
        documents: render::render(&model),
        warnings: loaded.warnings,
    })
}
