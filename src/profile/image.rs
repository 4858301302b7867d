//! The container image: a reference that pins what every pod runs, and its pull policy.

use schemars::JsonSchema;
use serde::Deserialize;

use super::diagnostics::{FieldPath, Finding};
use crate::model::Image;

/// The default is the official image at a 7.2 tag: the last Redis line under the BSD licence.
pub(crate) const DEFAULT_IMAGE: &str = "redis:7.2.7";

/// The container image.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct ImageProfile {
    /// `repository[:tag][@sha256:<64 hex>]`, e.g. `redis:7.2.7` or `redis@sha256:…`.
    pub(crate) reference: String,
    pub(crate) pull_policy: PullPolicy,
}

impl Default for ImageProfile {
    fn default() -> Self {
        Self {
            reference: DEFAULT_IMAGE.into(),
            pull_policy: PullPolicy::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
pub(crate) enum PullPolicy {
    /// Always ask the registry (cheap with a digest; required by checkov's CKV_K8S_15).
    #[default]
    Always,
    IfNotPresent,
    Never,
}

impl PullPolicy {
    fn as_str(self) -> &'static str {
        match self {
            PullPolicy::Always => "Always",
            PullPolicy::IfNotPresent => "IfNotPresent",
            PullPolicy::Never => "Never",
        }
    }
}

/// The parts of `repository[:tag][@sha256:digest]`.
#[derive(Debug, PartialEq, Eq)]
struct ImageRef<'a> {
    repository: &'a str,
    tag: Option<&'a str>,
    digest: Option<&'a str>,
}

fn parse_image(reference: &str) -> Result<ImageRef<'_>, String> {
    let (rest, digest) = match reference.split_once('@') {
        Some((rest, digest)) => {
            let hex = digest
                .strip_prefix("sha256:")
                .ok_or("a digest must start with `sha256:`")?;
            if hex.len() != 64
                || !hex
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
            {
                return Err("a sha256 digest is 64 lower-case hex characters".into());
            }
            (rest, Some(digest))
        }
        None => (reference, None),
    };
    // A tag follows the last `:` that comes after the last `/` (a registry may have a port).
    let slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (repository, tag) = match rest[slash..].rfind(':') {
        Some(i) => (&rest[..slash + i], Some(&rest[slash + i + 1..])),
        None => (rest, None),
    };
    let repo_ok = !repository.is_empty()
        && repository
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-/:".contains(&b));
    if !repo_ok {
        return Err(format!("`{repository}` is not a valid repository"));
    }
    if let Some(tag) = tag {
        let tag_ok = !tag.is_empty()
            && tag.len() <= 128
            && tag
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        if !tag_ok {
            return Err(format!("`{tag}` is not a valid tag"));
        }
    }
    if tag.is_none() && digest.is_none() {
        return Err(
            "the image has neither a tag nor a digest, so every pull may run another Redis".into(),
        );
    }
    if tag == Some("latest") && digest.is_none() {
        return Err(
            "`latest` moves; pods of one StatefulSet could run different Redis versions".into(),
        );
    }
    Ok(ImageRef {
        repository,
        tag,
        digest,
    })
}

impl ImageProfile {
    /// The image and its tag (the version label), or `None` with the reason reported.
    pub(super) fn resolve(&self, out: &mut Vec<Finding>) -> Option<(Image, Option<String>)> {
        match parse_image(&self.reference) {
            Ok(parsed) => Some((
                Image {
                    reference: self.reference.clone(),
                    pull_policy: self.pull_policy.as_str(),
                },
                parsed.tag.map(str::to_string),
            )),
            Err(msg) => {
                out.push(
                    Finding::error(FieldPath::parse("image.reference"), msg).help(format!(
                        "write e.g. `{DEFAULT_IMAGE}` or `redis:7.2.7@sha256:<digest>`"
                    )),
                );
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references() {
        let r = parse_image("registry.local:5000/team/redis:7.2.7").unwrap();
        assert_eq!(r.repository, "registry.local:5000/team/redis");
        assert_eq!(r.tag, Some("7.2.7"));
        let digest = format!("redis@sha256:{}", "a".repeat(64));
        let d = parse_image(&digest).unwrap();
        assert_eq!((d.tag, d.digest.is_some()), (None, true));
        assert!(parse_image("redis").is_err());
        assert!(parse_image("redis:latest").is_err());
        assert!(parse_image("redis@sha256:abc").is_err());
        assert!(parse_image("Redis:7").is_err());
    }
}
