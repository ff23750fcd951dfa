//! Retention settings as configured: age, size and free-space limits, per camera and in
//! total, and each camera's recording mode. Applied by `storage::retention`.

use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Limits {
    pub max_age: Option<Duration>,
    pub motion_max_age: Option<Duration>,
    pub max_bytes: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Defaults for every camera, and `max_bytes` here is the total over all cameras.
    pub global: Limits,
    pub keep_free_bytes: Option<u64>,
    /// Per-camera overrides (fields left `None` fall back to `global`, except `max_bytes`,
    /// which is the camera's own cap).
    pub cameras: BTreeMap<String, Limits>,
    /// How often a pass runs when nothing asks for one sooner.
    pub check_every: Duration,
    /// Cameras whose recording mode keeps less than everything.
    pub modes: BTreeMap<String, ModeKeep>,
}

/// A camera's recording mode, as retention applies it.
#[derive(Debug, Clone, PartialEq)]
pub struct ModeKeep {
    pub mode: super::modes::Mode,
    pub motion: bool,
    pub pre_ns: u64,
    pub post_ns: u64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            global: Limits::default(),
            keep_free_bytes: None,
            cameras: BTreeMap::new(),
            check_every: Duration::from_secs(60),
            modes: BTreeMap::new(),
        }
    }
}
