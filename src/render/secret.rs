//! The Secret holding the password, when redkube owns it (not for `existing-secret`).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::ByteString;

use super::metadata;
use crate::model::{Model, COMPONENT_REDIS};

pub fn secret(m: &Model) -> Vec<Secret> {
    let Some(password) = &m.auth.owned_password else {
        return Vec::new();
    };
    vec![Secret {
        metadata: metadata(m, &m.auth.secret_name, COMPONENT_REDIS),
        type_: Some("Opaque".into()),
        data: Some(BTreeMap::from([(
            m.auth.secret_key.clone(),
            ByteString(password.as_bytes().to_vec()),
        )])),
        ..Secret::default()
    }]
}
