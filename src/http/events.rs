//! `GET /api/events[?camera=NAME&from=TIME&to=TIME]`: closed motion events, oldest first
//! (default: the last 24 hours of every camera). TIME as for `nvr export`.
//! `GET /api/events/ID/snapshot.jpg`: the frame at the event's peak.

use crate::board::Board;

pub fn get(board: &Board, query: &str) -> Result<super::Reply, super::HttpError> {
    let param = |k: &str| super::query_param(query, k);
    let now = crate::time::unix_now_ns();
    let time = |k: &str, default: u64| match param(k) {
        Some(v) => crate::time::parse_time(&v).map_err(|e| format!("{k}: {e}")),
        None => Ok(default),
    };
    let (from, to) = match (
        time("from", now.saturating_sub(86_400_000_000_000)),
        time("to", now),
    ) {
        (Ok(f), Ok(t)) => (f, t),
        (Err(e), _) | (_, Err(e)) => return Err(super::HttpError::BadRequest(e)),
    };
    let camera = param("camera");
    let events: Vec<_> = board
        .shared
        .events
        .lock()
        .unwrap()
        .query(camera.as_deref(), from, to)
        .into_iter()
        .map(|e| {
            serde_json::json!({
                "id": e.id,
                "camera": e.camera,
                "start": crate::time::rfc3339_utc_ns(e.start_ns),
                "end": e.end_ns.map(crate::time::rfc3339_utc_ns),
                "start_ns": e.start_ns,
                "end_ns": e.end_ns,
                "peak_score": e.peak_score,
                "peak": crate::time::rfc3339_utc_ns(e.peak_ns),
                "snapshot": format!("/api/events/{}/snapshot.jpg", e.id),
                "boxes": e.peak_boxes.iter().map(|b| serde_json::json!({"x": b[0], "y": b[1], "w": b[2], "h": b[3]})).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(super::Reply::Json(serde_json::json!({ "events": events })))
}

/// `GET /api/events/ID/snapshot.jpg`: the event's peak frame.
pub fn snapshot(board: &Board, id: u64) -> Result<super::Reply, super::HttpError> {
    let not_found = || super::HttpError::NotFound("no snapshot for that event".into());
    let camera = board
        .shared
        .events
        .lock()
        .unwrap()
        .query(None, 0, u64::MAX)
        .into_iter()
        .find(|e| e.id == id)
        .map(|e| e.camera);
    let camera = camera.ok_or_else(not_found)?;
    let file = crate::storage::previews::snapshot_path(&board.shared.storage_root, &camera, id);
    match std::fs::read(file) {
        Ok(jpeg) if crate::storage::previews::is_whole_jpeg(&jpeg) => Ok(super::Reply::Bytes {
            content_type: "image/jpeg",
            headers: Vec::new(),
            body: jpeg,
        }),
        _ => Err(not_found()),
    }
}
