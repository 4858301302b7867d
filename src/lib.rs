//! redkube: one typed TOML profile in, production-grade Kubernetes manifests for Redis out.
//!
//! Data flows one way: [`profile`] (TOML -> typed, checked, resolved in one pass) -> `model`
//! (names, labels, topology, budgets decided) -> [`render`] (typed `k8s-openapi` objects ->
//! YAML, with the ConfigMap's files from `templates`) -> [`output`] (stdout or an atomic
//! folder write). `apply` compares a new render with an earlier one (refusals, version
//! changes, the `diff` report). [`cli`] decides exit codes in one place.
//!
//! The library's API is what the binary, the tests and the benchmark use: [`render_str`],
//! [`profile::load_str`] and friends, [`render::to_stream`] and [`output::HEADER`].

mod apply;
pub mod cli;
mod model;
pub mod output;
pub mod profile;
pub mod render;
mod starter;
mod templates;

pub use profile::{EnvLookup, ProfileDiagnostic, ProfileErrors};
pub use templates::TemplateError;

/// The result of rendering one profile: the documents by concern, and the warnings to show.
pub struct Rendering {
    pub documents: Vec<render::Rendered>,
    pub warnings: Vec<ProfileDiagnostic>,
}

/// Why a profile did not render.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum RenderError {
    /// The profile is invalid: every error, placed in the file.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Invalid(#[from] ProfileErrors),
    /// A template failed: a redkube bug.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Template(#[from] TemplateError),
}

/// Profile text to rendered documents: the whole pipeline, without I/O. `file` names the
/// source in diagnostics.
pub fn render_str(file: &str, text: &str, env: EnvLookup<'_>) -> Result<Rendering, RenderError> {
    Ok(render_loaded(profile::load_str(file, text, env)?)?)
}

/// A loaded profile to rendered documents; shared by [`render_str`] and the command line.
pub fn render_loaded(loaded: profile::Loaded) -> Result<Rendering, TemplateError> {
    Ok(Rendering {
        documents: render::render(&loaded.model)?,
        warnings: loaded.warnings,
    })
}
