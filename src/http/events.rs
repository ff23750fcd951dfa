//! `GET /api/events[?camera=NAME&from=TIME&to=TIME]`: closed motion events, oldest first
//! (default: the last 24 hours of every camera). TIME as for `nvr export`.
//! `GET /api/events/ID/snapshot.jpg`: the frame at the event's peak.
//! `GET /api/events/live`: what cameras publish (states, segments, motion, imports) as it
//! happens, as server-sent events: one `data: {json}` line each, a comment every 15 s.

use super::conn::{Connection, Method};
use crate::board::Board;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Live streams at once; more get 503 (each holds two threads while its client listens).
const MAX_LIVE: usize = 4;
static LIVE: AtomicUsize = AtomicUsize::new(0);
/// A comment this often keeps proxies from closing a quiet stream, and finds clients gone.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

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
                "pre_roll_ms": e.pre_roll_ms,
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
    let file = crate::storage::layout::snapshot(&board.shared.storage_root, &camera, id);
    match std::fs::read(file) {
        Ok(jpeg) if crate::storage::previews::is_whole_jpeg(&jpeg) => Ok(super::Reply::Bytes {
            content_type: "image/jpeg",
            headers: Vec::new(),
            body: jpeg,
        }),
        _ => Err(not_found()),
    }
}

/// Streams the bus to the client from a thread of its own until the client goes away. A
/// client that reads too slowly loses events (told as `{"type": "missed", "count": n}`);
/// no camera waits for it.
pub fn live<C: Connection + Send + 'static>(mut conn: C, board: &Board) -> Option<C> {
    let head_only = conn.method() == Method::Head;
    if head_only || LIVE.fetch_add(1, Ordering::SeqCst) >= MAX_LIVE {
        let result = if head_only {
            Ok(super::Reply::Bytes {
                content_type: "text/event-stream",
                headers: Vec::new(),
                body: Vec::new(),
            })
        } else {
            LIVE.fetch_sub(1, Ordering::SeqCst);
            Err(super::HttpError::Busy(
                "too many live event streams; try again".into(),
            ))
        };
        super::send(&mut conn, result);
        return Some(conn);
    }
    let events = board.shared.bus.subscribe(crate::camera::published::QUEUE);
    let started = std::thread::Builder::new()
        .name("http-live".into())
        .spawn(move || {
            let headers = [
                ("Content-Type", "text/event-stream"),
                ("Cache-Control", "no-cache"),
                ("Transfer-Encoding", "chunked"),
            ];
            let mut ok = conn.initiate_response(200, None, &headers).is_ok()
                && conn.write_all(b": nvr live events\n\n").is_ok();
            let mut missed = 0;
            while ok {
                let mut text = String::new();
                if events.dropped() > missed {
                    let n = events.dropped() - missed;
                    missed = events.dropped();
                    text += &format!("data: {{\"type\": \"missed\", \"count\": {n}}}\n\n");
                }
                match events.next(KEEP_ALIVE) {
                    Some(e) => {
                        let json = serde_json::to_string(&e).unwrap_or_default();
                        text += &format!("data: {json}\n\n");
                    }
                    None => text += ": keep-alive\n\n",
                }
                ok = conn.write_all(text.as_bytes()).is_ok();
            }
            LIVE.fetch_sub(1, Ordering::SeqCst);
        });
    if let Err(e) = started {
        LIVE.fetch_sub(1, Ordering::SeqCst);
        log::error!("http: cannot start a live stream: {e}");
    }
    None
}
