//! `GET /api/events[?camera=NAME&from=TIME&to=TIME]`: closed motion events, oldest first
//! (default: the last 24 hours of every camera). TIME as for `nvr export`.

use crate::runtime::Board;

pub fn get(board: &Board, query: &str) -> super::Response {
    let param = |k: &str| {
        query.split('&').find_map(|kv| {
            let (key, v) = kv.split_once('=')?;
            (key == k).then(|| crate::config::percent_decode(v))
        })
    };
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
        (Err(e), _) | (_, Err(e)) => return super::json(400, &serde_json::json!({ "error": e })),
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
                "boxes": e.peak_boxes.iter().map(|b| serde_json::json!({"x": b[0], "y": b[1], "w": b[2], "h": b[3]})).collect::<Vec<_>>(),
            })
        })
        .collect();
    super::json(200, &serde_json::json!({ "events": events }))
}
