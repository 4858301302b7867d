//! The Secret holding the password, when redkube owns it (not for `existing-secret`).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::ByteString;

use super::meta;
use crate::model::{Component, Model};

pub(super) fn secret(m: &Model) -> Option<Secret> {
    let password = m.auth.owned_password()?;
    Some(Secret {
        metadata: meta::namespaced(m, &m.auth.secret_name, Component::Redis),
        type_: Some("Opaque".into()),
        data: Some(BTreeMap::from([(
            m.auth.secret_key.clone(),
            ByteString(password.as_bytes().to_vec()),
        )])),
        ..Secret::default()
    })
}
