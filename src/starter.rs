//! `redkube init`: a commented starter profile for the chosen mode and storage kind.

use serde::Serialize;

use crate::profile::{Mode, StorageKind};

#[derive(Serialize)]
struct Ctx {
    mode: &'static str,
    storage: &'static str,
}

pub fn starter_profile(mode: Mode, storage: StorageKind) -> String {
    let ctx = Ctx {
        mode: match mode {
            Mode::Cluster => "cluster",
            Mode::Sentinel => "sentinel",
        },
        storage: match storage {
            StorageKind::Claim => "claim",
            StorageKind::Nfs => "nfs",
            StorageKind::Ephemeral => "ephemeral",
        },
    };
    crate::templates::render("starter.toml.j2", &ctx)
}
