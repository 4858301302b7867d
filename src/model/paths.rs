//! Mount points and file names shared by the objects and the scripts that run in them.

/// The ConfigMap (redis.conf and scripts).
pub(crate) const CONFIG_DIR: &str = "/etc/redkube";
/// The Secret, with the password in the file `password`.
pub(crate) const SECRET_DIR: &str = "/etc/redkube-secret";
pub(crate) const SECRET_FILE: &str = "password";
/// A memory-backed emptyDir for the per-pod config that start.sh assembles.
pub(crate) const RUNTIME_DIR: &str = "/run/redkube";
/// The data volume (the official image's working directory).
pub(crate) const DATA_DIR: &str = "/data";
pub(crate) const TMP_DIR: &str = "/tmp";
