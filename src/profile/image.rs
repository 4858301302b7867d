//! The container image: a reference that pins what every pod runs, and its pull policy.

use schemars::JsonSchema;
use serde::Deserialize;

use super::diagnostics::{FieldPath, Finding};
use crate::model::Image;

/// The default is the official image at a 7.2 tag: the last Redis line under the BSD licence.
pub(crate) const DEFAULT_IMAGE: &str = "redis:7.2.7";

/// The oldest Redis the scripts work with: 7.0 brought `cluster-announce-hostname`,
/// `CLUSTER SHARDS`, hostnames in Sentinel and the `WRITE` mode of `CLIENT PAUSE`.
const MIN_REDIS: (u32, u32) = (7, 0);

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
            Ok(parsed) => {
                check_version(&parsed, out);
                Some((
                    Image {
                        reference: self.reference.clone(),
                        pull_policy: self.pull_policy.as_str(),
                    },
                    parsed.tag.map(str::to_string),
                ))
            }
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

impl ImageProfile {
    /// The Redis line (`major.minor`) the image runs, when its tag says and it is Redis.
    pub(super) fn redis_line(&self) -> Option<(u32, u32)> {
        server(&self.reference)
            .filter(|s| s.product == Product::Redis)
            .map(|s| s.line)
    }
}

/// The server products redkube tells apart by the image's repository name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Product {
    Redis,
    Valkey,
}

impl Product {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Product::Redis => "Redis",
            Product::Valkey => "Valkey",
        }
    }
}

/// What an image runs, as far as its reference says: the product and its version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Server {
    pub(crate) product: Product,
    /// `major.minor`: the release line (it decides the RDB format).
    pub(crate) line: (u32, u32),
    /// The patch release, when the tag names one (`7.2.7`; not `7.2`).
    pub(crate) patch: Option<u32>,
}

/// The server an image reference runs, when its repository and tag say so: `None` for a
/// reference without a tag (a digest only), a tag that names no version (`latest`,
/// `bookworm`), a repository that is neither Redis nor Valkey, or a malformed reference.
/// Shared by the profile's checks (`redis_line`) and the version-change warnings of
/// `apply::version`, which read the image of an earlier render.
pub(crate) fn server(reference: &str) -> Option<Server> {
    let parsed = parse_image(reference).ok()?;
    let product = product(parsed.repository)?;
    let tag = parsed.tag?;
    let line = tag_version(tag)?;
    let patch = tag.split(['.', '-']).nth(2).and_then(|p| p.parse().ok());
    Some(Server {
        product,
        line,
        patch,
    })
}

/// What the image is, by the last part of its repository: Redis, Valkey, or unknown.
fn product(repository: &str) -> Option<Product> {
    match repository.rsplit('/').next() {
        Some("redis") | Some("redis-stack-server") => Some(Product::Redis),
        Some("valkey") => Some(Product::Valkey),
        _ => None,
    }
}

/// `major.minor` at the start of a tag such as `7.2.7-alpine`, `6.2` or `7`.
fn tag_version(tag: &str) -> Option<(u32, u32)> {
    let mut parts = tag.split(['.', '-']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().and_then(|m| m.parse().ok()).unwrap_or(0);
    Some((major, minor))
}

/// Known-too-old Redis tags are refused; Valkey is warned about until e2e proves it.
fn check_version(image: &ImageRef<'_>, out: &mut Vec<Finding>) {
    let at = || FieldPath::parse("image.reference");
    let version = image.tag.and_then(tag_version);
    match (product(image.repository), version) {
        (Some(Product::Redis), Some(v)) if v < MIN_REDIS => out.push(
            Finding::error(
                at(),
                format!(
                    "Redis {}.{} is older than {}.{}, the oldest redkube's scripts work with",
                    v.0, v.1, MIN_REDIS.0, MIN_REDIS.1
                ),
            )
            .help(format!(
                "the scripts need cluster-announce-hostname, hostnames in Sentinel and \
                 CLIENT PAUSE WRITE (all from 7.0); use e.g. `{DEFAULT_IMAGE}`"
            )),
        ),
        (Some(Product::Valkey), _) => out.push(
            Finding::warning(
                at(),
                "Valkey images are not yet proven by redkube's end-to-end tests",
            )
            .help("Valkey 7.2 and 8 speak the same protocol and config, but no test has run these manifests on it"),
        ),
        _ => {}
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

    #[test]
    fn versions_from_tags() {
        assert_eq!(tag_version("7.2.7-alpine"), Some((7, 2)));
        assert_eq!(tag_version("6"), Some((6, 0)));
        assert_eq!(tag_version("bookworm"), None);
        let check = |r: &str| {
            let mut out = Vec::new();
            check_version(&parse_image(r).unwrap(), &mut out);
            out.iter().map(|f| f.is_error()).collect::<Vec<_>>()
        };
        assert_eq!(check("redis:6.2.14"), [true]);
        assert_eq!(check("docker.io/library/redis:7.0.15"), Vec::<bool>::new());
        assert_eq!(check("valkey/valkey:8.0"), [false]);
        assert_eq!(check("registry.local/team/cache:6.2"), Vec::<bool>::new());
    }

    #[test]
    fn servers_from_references() {
        let s = server("docker.io/library/redis:7.2.7-alpine").unwrap();
        assert_eq!(
            (s.product, s.line, s.patch),
            (Product::Redis, (7, 2), Some(7))
        );
        let v = server("valkey/valkey:8.0").unwrap();
        assert_eq!(
            (v.product, v.line, v.patch),
            (Product::Valkey, (8, 0), None)
        );
        let tagged_digest = format!("redis:7.4.2@sha256:{}", "a".repeat(64));
        assert_eq!(server(&tagged_digest).unwrap().line, (7, 4));
        for unknown in [
            format!("redis@sha256:{}", "a".repeat(64)),
            "redis:latest".into(),
            "redis:bookworm".into(),
            "registry.local/team/cache:7.2".into(),
        ] {
            assert_eq!(server(&unknown), None, "{unknown}");
        }
    }
}
