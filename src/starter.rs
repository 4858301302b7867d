//! `redkube init`: a commented starter profile for the chosen mode and storage kind.

use serde::Serialize;

use crate::profile::{Mode, StorageKind};
use crate::templates::TemplateError;

#[derive(Serialize)]
struct Ctx {
    mode: &'static str,
    storage: &'static str,
}

pub(crate) fn starter_profile(mode: Mode, storage: StorageKind) -> Result<String, TemplateError> {
    let ctx = Ctx {
        mode: mode.as_str(),
        storage: storage.as_str(),
    };
    crate::templates::render("starter.toml.j2", &ctx)
}
