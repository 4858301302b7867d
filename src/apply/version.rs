//! Warnings when the Redis image changes between two renders: a newer RDB format that the old
//! version cannot load, data the new version cannot load, and a version that goes down.
//!
//! Why the RDB format matters on a roll: a replica's full sync is an RDB transfer, and a pod's
//! data files are RDB (or AOF with an RDB preamble, Redis's default). Redis refuses to load an
//! RDB whose format version is newer than its own ("Can't handle RDB format version"), so
//! while versions are mixed an old replica cannot full-sync from an upgraded master, and after
//! a rollback the old version cannot read what the new one wrote.

use std::fmt;

use serde_json::Value;

use super::objects::Objects;
use crate::profile::{server, Product, Server};

/// The RDB format version a server writes (`RDB_VERSION` in its `src/rdb.h`), when known.
/// Redis: 5.0 to 6.2 write 9, 7.0 writes 10, 7.2 writes 11, 7.4 to 8.0 write 12 (later lines
/// are taken to write at least 12, which is all the checks below need). Valkey: 7.2 to 8.1
/// write 11, 9.0 writes 80 (Valkey keeps 12 to 79 for other forks' formats).
fn rdb_writes(s: Server) -> Option<u32> {
    match s.product {
        Product::Redis => match s.line {
            l if l >= (7, 4) => Some(12),
            l if l >= (7, 2) => Some(11),
            l if l >= (7, 0) => Some(10),
            l if l >= (5, 0) => Some(9),
            _ => None,
        },
        Product::Valkey => match s.line {
            l if l >= (9, 0) => Some(80),
            l if l >= (7, 2) => Some(11),
            _ => None,
        },
    }
}

/// Whether a server loads RDB format `format` with its default settings. Redis loads every
/// format up to its own. Valkey loads up to 11 and its own 80+, and refuses 12 to 79 (Redis
/// 7.4 and later) under its default `rdb-version-check strict`.
fn reads(s: Server, format: u32) -> Option<bool> {
    let own = rdb_writes(s)?;
    Some(match s.product {
        Product::Redis => format <= own,
        Product::Valkey => format <= 11 || (80..=own).contains(&format),
    })
}

/// A Redis image of an earlier render and of the new one, as named in the StatefulSet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ImageChange {
    pub(crate) statefulset: String,
    pub(crate) old: String,
    pub(crate) new: String,
}

/// What an image change means for the data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum VersionNote {
    /// One side's version is unknown: no check was made.
    Unchecked {
        change: ImageChange,
        unknown: String,
    },
    /// The new version writes a format the old one cannot load.
    NewerFormat {
        change: ImageChange,
        old: Server,
        new: Server,
        format: u32,
    },
    /// The new version cannot load the format the old one wrote.
    UnreadableData {
        change: ImageChange,
        old: Server,
        new: Server,
        format: u32,
    },
    /// Same product, lower version.
    Downgrade {
        change: ImageChange,
        old: Server,
        new: Server,
    },
}

fn label(s: Server) -> String {
    let (major, minor) = s.line;
    match s.patch {
        Some(p) => format!("{} {major}.{minor}.{p}", s.product.as_str()),
        None => format!("{} {major}.{minor}", s.product.as_str()),
    }
}

fn line(s: Server) -> String {
    format!("{} {}.{}", s.product.as_str(), s.line.0, s.line.1)
}

impl fmt::Display for VersionNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VersionNote::Unchecked { change, unknown } => write!(
                f,
                "the image of {} changes from {} to {}, and the RDB-format check \
                 could not be made: `{unknown}` names no Redis or Valkey version redkube knows \
                 (a digest without a tag, `latest`, or another repository). Check that each \
                 version can load the other's data files and replication stream before \
                 applying (README, Day 2)",
                change.statefulset, change.old, change.new
            ),
            VersionNote::NewerFormat {
                change,
                old,
                new,
                format,
            } => write!(
                f,
                "the image of {} moves from {} to {}: {} writes RDB format \
                 {format}, which {} cannot load. While versions are mixed, a pod still on {} \
                 cannot full-sync from a master already on {} (it fails to load the transfer \
                 and retries), and after a rollback {} cannot read the data files written \
                 since. Stage it as the README's Day 2 section says: replicas first (`[update] \
                 partition` holds the lower ordinals back), then a failover to them, then the \
                 former masters",
                change.statefulset,
                change.old,
                change.new,
                line(*new),
                line(*old),
                line(*old),
                line(*new),
                line(*old)
            ),
            VersionNote::UnreadableData {
                change,
                old,
                new,
                format,
            } => write!(
                f,
                "the image of {} moves from {} to {}: {} cannot load RDB format \
                 {format}, which {} writes. Each pod that rolls fails to load its own data \
                 files (RDB, and the AOF's RDB preamble) and cannot full-sync from a master \
                 still on {}: a persistent deployment does not come back. Keep {}, or move the \
                 data with a tool that rewrites it (a fresh release and a key-by-key copy)",
                change.statefulset,
                change.old,
                change.new,
                line(*new),
                line(*old),
                line(*old),
                line(*old)
            ),
            VersionNote::Downgrade { change, old, new } => write!(
                f,
                "the image of {} goes down from {} to {} ({} to {}): Redis does \
                 not promise that an older release runs on a newer one's data; the RDB format \
                 is the same, so the data loads, but check the release notes for what {} \
                 fixed",
                change.statefulset,
                change.old,
                change.new,
                label(*old),
                label(*new),
                label(*old)
            ),
        }
    }
}

/// The Redis container's image of a StatefulSet (the container named `redis`).
fn redis_image(sts: &Value) -> Option<&str> {
    sts.pointer("/spec/template/spec/containers")?
        .as_array()?
        .iter()
        .find(|c| c.get("name").and_then(Value::as_str) == Some("redis"))?
        .get("image")?
        .as_str()
}

/// The notes for every StatefulSet present in both renders whose Redis image changed.
pub(crate) fn notes(old: &Objects, new: &Objects) -> Vec<VersionNote> {
    let mut out = Vec::new();
    for new_sts in new.of_kind("StatefulSet") {
        let Some(old_sts) = old.get(&new_sts.key) else {
            continue;
        };
        let (Some(old_image), Some(new_image)) =
            (redis_image(&old_sts.value), redis_image(&new_sts.value))
        else {
            continue;
        };
        if old_image == new_image {
            continue;
        }
        let change = ImageChange {
            statefulset: new_sts.key.to_string(),
            old: old_image.to_string(),
            new: new_image.to_string(),
        };
        out.extend(note(change));
    }
    out
}

fn note(change: ImageChange) -> Option<VersionNote> {
    let known = |image: &str| server(image).filter(|s| rdb_writes(*s).is_some());
    let (old, new) = match (known(&change.old), known(&change.new)) {
        (Some(old), Some(new)) => (old, new),
        (None, _) => {
            let unknown = change.old.clone();
            return Some(VersionNote::Unchecked { change, unknown });
        }
        (_, None) => {
            let unknown = change.new.clone();
            return Some(VersionNote::Unchecked { change, unknown });
        }
    };
    // `known` guarantees both formats.
    let (old_format, new_format) = (rdb_writes(old)?, rdb_writes(new)?);
    if reads(new, old_format) == Some(false) {
        return Some(VersionNote::UnreadableData {
            change,
            old,
            new,
            format: old_format,
        });
    }
    if reads(old, new_format) == Some(false) {
        return Some(VersionNote::NewerFormat {
            change,
            old,
            new,
            format: new_format,
        });
    }
    let version = |s: Server| (s.line, s.patch.unwrap_or(0));
    if old.product == new.product && version(new) < version(old) {
        return Some(VersionNote::Downgrade { change, old, new });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind_of(old: &str, new: &str) -> &'static str {
        let change = ImageChange {
            statefulset: "StatefulSet ns/r".into(),
            old: old.into(),
            new: new.into(),
        };
        match note(change) {
            None => "none",
            Some(VersionNote::Unchecked { .. }) => "unchecked",
            Some(VersionNote::NewerFormat { .. }) => "newer-format",
            Some(VersionNote::UnreadableData { .. }) => "unreadable",
            Some(VersionNote::Downgrade { .. }) => "downgrade",
        }
    }

    #[test]
    fn formats_and_directions() {
        assert_eq!(kind_of("redis:7.2.7", "redis:7.2.8"), "none");
        assert_eq!(kind_of("redis:7.0.15", "redis:7.2.7"), "newer-format");
        assert_eq!(kind_of("redis:7.2.7", "redis:7.4.2"), "newer-format");
        assert_eq!(kind_of("redis:7.4.2", "redis:8.0.2"), "none");
        assert_eq!(kind_of("redis:7.4.2", "redis:7.2.7"), "unreadable");
        assert_eq!(kind_of("redis:7.2.7", "redis:7.2.4"), "downgrade");
        assert_eq!(kind_of("redis:7.2.7", "valkey/valkey:8.0.2"), "none");
        assert_eq!(kind_of("redis:7.4.2", "valkey/valkey:8.0.2"), "unreadable");
        assert_eq!(
            kind_of("valkey/valkey:8.0.2", "valkey/valkey:9.0.0"),
            "newer-format"
        );
        assert_eq!(kind_of("valkey/valkey:9.0.0", "redis:7.4.2"), "unreadable");
        let digest = format!("redis@sha256:{}", "a".repeat(64));
        assert_eq!(kind_of("redis:7.2.7", &digest), "unchecked");
        assert_eq!(kind_of("redis:latest", "redis:7.2.7"), "unchecked");
    }
}
