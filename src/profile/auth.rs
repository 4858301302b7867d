//! The password: where it comes from at render time, and which Secret holds it at run time.

use schemars::JsonSchema;
use serde::Deserialize;

use super::diagnostics::{FieldPath, Finding};
use super::names::is_object_name;
use super::EnvLookup;
use crate::model::{Auth, AuthSource, Names};

/// Password bounds: shorter is guessable at Redis' speed of ~100k AUTH/s; longer is pointless.
const MIN_PASSWORD_LEN: usize = 16;
const MAX_PASSWORD_LEN: usize = 512;

/// The key of the password in the Secret redkube renders, and the default for an existing one.
const DEFAULT_SECRET_KEY: &str = "password";

/// Where the password comes from: exactly one of `password`, `password-env`, `existing-secret`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(extend("oneOf" = [
    { "required": ["password"] },
    { "required": ["password-env"] },
    { "required": ["existing-secret"] }
]))]
pub(crate) struct AuthProfile {
    /// A literal password. It lands in the rendered Secret (and so in your Git history).
    #[schemars(length(min = 16, max = 512))]
    pub(crate) password: Option<String>,
    /// Name of an environment variable read at render time.
    #[schemars(regex(pattern = r"^[A-Za-z0-9_]+$"))]
    pub(crate) password_env: Option<String>,
    /// An existing Secret; redkube then renders no Secret.
    pub(crate) existing_secret: Option<ExistingSecret>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct ExistingSecret {
    pub(crate) name: String,
    #[serde(default = "default_secret_key")]
    pub(crate) key: String,
}

fn default_secret_key() -> String {
    DEFAULT_SECRET_KEY.into()
}

fn path(dotted: &str) -> FieldPath {
    FieldPath::parse(dotted)
}

impl AuthProfile {
    /// The checks on the profile's own text; the environment is read later by [`resolve`].
    pub(super) fn check(&self, out: &mut Vec<Finding>) {
        let set = [
            self.password.is_some(),
            self.password_env.is_some(),
            self.existing_secret.is_some(),
        ]
        .iter()
        .filter(|s| **s)
        .count();
        if set != 1 {
            out.push(
                Finding::error(
                    path("auth"),
                    if set == 0 {
                        "no password source is set"
                    } else {
                        "more than one password source is set"
                    },
                )
                .help("set exactly one of `password`, `password-env` or `existing-secret = { name = \"…\", key = \"password\" }`"),
            );
        }
        if let Some(pw) = &self.password {
            check_password(pw, path("auth.password"), out);
            out.push(
                Finding::warning(
                    path("auth.password"),
                    "a literal password lands in the rendered Secret and in Git",
                )
                .help("prefer `password-env` (read at render time) or `existing-secret`"),
            );
        }
        if let Some(var) = &self.password_env {
            if var.is_empty() || !var.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                out.push(
                    Finding::error(
                        path("auth.password-env"),
                        format!("`{var}` is not an environment variable name"),
                    )
                    .help("use letters, digits and `_`, e.g. `REDIS_PASSWORD`"),
                );
            }
        }
        if let Some(s) = &self.existing_secret {
            s.check(out);
        }
    }

    /// The password source, reading `password-env` through `env`. Run after every other check,
    /// so a missing variable is reported together with the profile's own mistakes.
    pub(super) fn resolve(
        &self,
        names: &Names,
        env: EnvLookup<'_>,
        out: &mut Vec<Finding>,
    ) -> Option<Auth> {
        // Read even when another source is set too, so that every problem shows in one run.
        let from_env = self
            .password_env
            .as_ref()
            .map(|var| read_env_password(var, env, out));
        if let Some(s) = &self.existing_secret {
            return Some(Auth {
                secret_name: s.name.clone(),
                secret_key: s.key.clone(),
                source: AuthSource::ExistingSecret,
            });
        }
        let source = match (&self.password, from_env) {
            (Some(literal), _) => AuthSource::Literal(literal.clone()),
            (None, Some(value)) => AuthSource::Env(value?),
            (None, None) => return None,
        };
        Some(Auth {
            secret_name: names.owned_secret.clone(),
            secret_key: DEFAULT_SECRET_KEY.into(),
            source,
        })
    }
}

impl ExistingSecret {
    fn check(&self, out: &mut Vec<Finding>) {
        if !is_object_name(&self.name) {
            out.push(
                Finding::error(
                    path("auth.existing-secret.name"),
                    format!("`{}` is not a Secret name", self.name),
                )
                .help("a Secret name is a DNS subdomain: lower-case letters, digits, `-` and `.`"),
            );
        }
        let key_ok = !self.key.is_empty()
            && self.key.len() <= 253
            && self
                .key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if !key_ok {
            out.push(
                Finding::error(
                    path("auth.existing-secret.key"),
                    format!("`{}` is not a Secret key", self.key),
                )
                .help("Secret keys are alphanumerics, `-`, `_` and `.`"),
            );
        }
    }
}

/// The value of `var`, checked like a literal; the value itself is never echoed.
fn read_env_password(var: &str, env: EnvLookup<'_>, out: &mut Vec<Finding>) -> Option<String> {
    let at = path("auth.password-env");
    let Some(value) = env(var).filter(|v| !v.is_empty()) else {
        out.push(
            Finding::error(at, format!("the environment variable `{var}` is not set or empty"))
                .help(format!("export {var} before rendering, e.g. `{var}=$(openssl rand -base64 24) redkube render …`")),
        );
        return None;
    };
    let mut checks = Vec::new();
    check_password(&value, at, &mut checks);
    for mut f in checks {
        f.message = format!("${var}: {}", f.message);
        out.push(f);
    }
    Some(value)
}

/// Checks shared by a literal password and one read from the environment.
fn check_password(pw: &str, at: FieldPath, out: &mut Vec<Finding>) {
    let len = pw.chars().count();
    if len < MIN_PASSWORD_LEN {
        out.push(
            Finding::error(at.clone(), format!("the password has {len} characters; at least {MIN_PASSWORD_LEN} are required"))
                .help("Redis answers ~100k AUTH attempts a second; generate one with `openssl rand -base64 24`"),
        );
    }
    if len > MAX_PASSWORD_LEN {
        out.push(
            Finding::error(
                at.clone(),
                format!(
                    "the password has {len} characters; at most {MAX_PASSWORD_LEN} are allowed"
                ),
            )
            .help("use a shorter random password"),
        );
    }
    if pw.chars().any(|c| c.is_control()) {
        out.push(
            Finding::error(
                at,
                "the password contains a control character (newline, tab, …)",
            )
            .help("redis.conf cannot carry it safely; use printable characters"),
        );
    }
}
