//! `GET /status`: version, host name, uptime, every camera's state, and storage.
//!
//! Shape: `{"version", "hostname", "uptime_s", "cameras": [{"name", "state", ...}], "storage": {...}}`.
//! Camera objects are [`crate::camera::CameraStatus`]; passwords never reach them.

use crate::board::Board;

/// The public document (health fields only), serialized, at most
/// [`crate::board::STATUS_MAX_AGE`] old.
pub fn public(board: &Board) -> std::sync::Arc<Vec<u8>> {
    board.public_status(|| {
        serde_json::to_vec_pretty(&super::access::public_status(get(board))).unwrap_or_default()
    })
}

/// The whole document, made now.
pub fn get(board: &Board) -> serde_json::Value {
    let today =
        crate::time::LocalTime::from_unix((crate::time::unix_now_ns() / 1_000_000_000) as i64)
            .date();
    let cameras: Vec<serde_json::Value> = board
        .cameras()
        .iter()
        .map(|c| {
            let mut st = c.lock().unwrap().clone();
            st.supervisor_idle_ms = st
                .idle(crate::time::monotonic())
                .map(|d| d.as_millis() as u64);
            // Today's coverage: the figures and the latest gap (the API has them all).
            st.today = board.coverage(&st.name, &today).ok().map(|cov| {
                serde_json::json!({
                    "day": today,
                    "recorded_s": cov.recorded_s,
                    "expected_s": cov.expected_s,
                    "ratio": cov.ratio,
                    "gaps": cov.gaps.len(),
                    "last_gap": cov.gaps.last(),
                })
            });
            serde_json::to_value(&st).unwrap_or_default()
        })
        .collect();
    let root = &board.shared.storage_root;
    let (segments, bytes_used) = {
        let cat = board.shared.catalog.lock().unwrap();
        (cat.len(), cat.total_bytes())
    };
    let counters = {
        let mut c = board.shared.counters.lock().unwrap();
        c.logs_written(crate::logging::bytes_written());
        c.clone()
    };
    let space = crate::storage::disk_space(root);
    let body = serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "hostname": hostname(),
        "uptime_s": board.started.elapsed().as_secs(),
        // A Pi without a real-time clock: is the time right yet, and was it set while running?
        "clock": board.clock(),
        "cameras": cameras,
        "storage": {
            "path": root.display().to_string(),
            "segments": segments,
            "bytes_used": bytes_used,
            "free_bytes": space.as_ref().ok().map(|s| s.free),
            "total_bytes": space.as_ref().ok().map(|s| s.total),
            // Why free_bytes is null: the floor is then not applied.
            "space_unknown": space.as_ref().err(),
            // Why nothing can be recorded now: the disk is missing or read-only.
            "problem": if board.shared.storage_read_only.load(std::sync::atomic::Ordering::Relaxed) {
                Some(crate::storage::layout::read_only(root).to_string())
            } else {
                crate::storage::layout::writable(root, false).err().map(|e| e.to_string())
            },
            "counters": counters,
            // nvr's own files (catalog, events, history) are written by one thread: the
            // newest error it met, and writes it had to drop because the disk fell behind.
            "store_error": board.shared.writer.last_error(),
            "store_writes_dropped": board.shared.writer.dropped(),
        },
    });
    body
}

/// The machine's name, so a page or script watching several Pis can tell them apart.
fn hostname() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}
