//! `GET /status`: version, uptime, every camera's state, and storage.
//!
//! Shape: `{"version", "uptime_s", "cameras": [{"name", "state", ...}], "storage": {...}}`.
//! Camera objects are [`crate::camera::CameraStatus`]; passwords never reach them.

use crate::runtime::Board;
use std::sync::atomic::Ordering;

pub fn get(board: &Board) -> super::Response {
    let cameras: Vec<serde_json::Value> = board
        .cameras()
        .iter()
        .map(|c| serde_json::to_value(&*c.lock().unwrap()).unwrap_or_default())
        .collect();
    let root = &board.shared.storage_root;
    let body = serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_s": board.started.elapsed().as_secs(),
        "cameras": cameras,
        "storage": {
            "path": root.display().to_string(),
            "bytes_used": board.shared.bytes_used.load(Ordering::Relaxed),
            "free_bytes": crate::storage::free_bytes(root),
        },
    });
    super::json(200, &body)
}
