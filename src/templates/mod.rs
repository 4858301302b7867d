//! The files that live inside the ConfigMap (redis.conf and the scripts) and the starter
//! profile are minijinja templates from `templates/`, embedded in the binary. Undefined
//! variables are errors and nothing is escaped: these are shell and redis.conf, not HTML.
//!
//! [`Script`] is the registry of ConfigMap files; `context` builds each mode's typed context.

mod context;
mod script;

use std::sync::OnceLock;

use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;

pub(crate) use context::{ClusterContext, SentinelContext};
pub(crate) use script::{ProbeMode, Script, TOPOLOGY_KEY};

/// Every embedded template, by name (its path under `templates/`): the ConfigMap files, the
/// fragments they include, and the starter profile.
macro_rules! embedded {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../templates/", $name)))),*]
    };
}
const TEMPLATES: &[(&str, &str)] = embedded![
    "redis.conf.j2",
    "cluster/redis.conf.j2",
    "sentinel/redis.conf.j2",
    "lib/common.sh.j2",
    "lib/persistence.sh.j2",
    "lib/probe.sh.j2",
    "lib/replica-data.sh.j2",
    "lib/handover.sh.j2",
    "cluster/lib.sh.j2",
    "cluster/start/empty-master-guard.sh.j2",
    "cluster/start/ip-repair.sh.j2",
    "cluster/start/rejoin.sh.j2",
    "cluster/start/self-form.sh.j2",
    "cluster/start.sh.j2",
    "cluster/probe.sh.j2",
    "cluster/reconcile.sh.j2",
    "cluster/prestop.sh.j2",
    "cluster/topology.j2",
    "sentinel/lib.sh.j2",
    "sentinel/redis-start.sh.j2",
    "sentinel/sentinel-start.sh.j2",
    "sentinel/probe.sh.j2",
    "sentinel/prestop.sh.j2",
    "sentinel/topology.j2",
    "sentinel/reconcile.sh.j2",
    "starter.toml.j2",
];

/// A template that failed to parse or render: always a redkube bug (templates are embedded and
/// tested against every context shape), reported instead of a panic.
#[derive(Debug, Clone, thiserror::Error, miette::Diagnostic)]
#[error("template {name} failed: {detail}")]
pub struct TemplateError {
    name: &'static str,
    detail: String,
}

impl TemplateError {
    fn new(name: &'static str, source: &minijinja::Error) -> Self {
        TemplateError {
            name,
            detail: format!("{source:#}"),
        }
    }
}

fn environment() -> &'static Result<Environment<'static>, TemplateError> {
    static ENV: OnceLock<Result<Environment<'static>, TemplateError>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|_| AutoEscape::None);
        let syntax = minijinja::syntax::SyntaxConfig::builder()
            .keep_trailing_newline(true)
            .build()
            .map_err(|e| TemplateError::new("(syntax)", &e))?;
        env.set_syntax(syntax);
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .map_err(|e| TemplateError::new(name, &e))?;
        }
        Ok(env)
    })
}

/// Render the embedded template `name` with `ctx`.
pub(crate) fn render<S: Serialize>(name: &'static str, ctx: &S) -> Result<String, TemplateError> {
    let env = environment().as_ref().map_err(Clone::clone)?;
    env.get_template(name)
        .and_then(|t| t.render(minijinja::value::Serde(ctx)))
        .map_err(|e| TemplateError::new(name, &e))
}

/// The ConfigMap files of `scripts`, rendered with one context, in key order.
pub(crate) fn render_files<S: Serialize>(
    scripts: &[Script],
    ctx: &S,
) -> Result<Vec<(&'static str, String)>, TemplateError> {
    let mut files = scripts
        .iter()
        .map(|s| Ok((s.key(), render(s.template(), ctx)?)))
        .collect::<Result<Vec<_>, TemplateError>>()?;
    files.sort_by_key(|(key, _)| *key);
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_template_parses() {
        assert!(environment().is_ok(), "{:?}", environment().as_ref().err());
    }

    #[test]
    fn every_script_template_is_embedded() {
        for s in Script::CLUSTER.iter().chain(Script::SENTINEL.iter()) {
            assert!(
                TEMPLATES.iter().any(|(name, _)| *name == s.template()),
                "{s:?}"
            );
        }
    }

    #[test]
    fn an_undefined_variable_is_a_typed_error() {
        #[derive(Serialize)]
        struct Empty {}
        let err = render("cluster/probe.sh.j2", &Empty {}).unwrap_err();
        assert!(err.to_string().contains("cluster/probe.sh.j2"), "{err}");
    }
}
