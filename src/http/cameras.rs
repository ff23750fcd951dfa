//! `/api/cameras/…`: per-camera resources.
//!
//! - `GET /api/cameras` → the cameras and their recorded segment counts.
//! - `GET /api/cameras/NAME/segments[?from=TIME&to=TIME]` → recorded segments, oldest first,
//!   with exact start times (Unix ns and RFC 3339), durations and sizes.
//! - `GET /api/cameras/NAME/coverage[?day=YYYY-MM-DD]` → seconds recorded vs expected that
//!   local day (today: so far) and every gap with its reason.
//! - `GET /api/cameras/NAME/preview/DAY/FILE.jpg[?thumb=1]` → the segment's first keyframe as
//!   JPEG (or its 160 px thumbnail), made on demand if the worker has not made it yet.
//! - `GET /api/cameras/NAME/export.mp4?from=TIME&to=TIME` → one MP4 of the range, streamed
//!   (fragmented MP4) while it is produced; 404 with a JSON reason when nothing was recorded.
//!   TIME as for `nvr export` (write `+` in an offset as `%2B`, or use `Z`).

use super::conn::{Connection, Method};
use super::{HttpError, Reply};
use crate::board::Board;
use crate::storage::export::{self, ExportError, Output};
use crate::storage::previews::PreviewError;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Exports running at once; more get 503 (each is a pipeline and a thread).
const MAX_EXPORTS: usize = 2;
static EXPORTS: AtomicUsize = AtomicUsize::new(0);

/// Configured cameras and cameras that only have recordings (removed, or imported).
pub fn list(board: &Board) -> Reply {
    let cat = board.shared.catalog.lock().unwrap();
    let mut names: std::collections::BTreeSet<String> = board
        .cameras()
        .iter()
        .map(|c| c.lock().unwrap().name.clone())
        .collect();
    names.extend(cat.cameras().map(String::from));
    let configured: std::collections::BTreeSet<String> = board
        .cameras()
        .iter()
        .map(|c| c.lock().unwrap().name.clone())
        .collect();
    let cameras: Vec<_> = names
        .iter()
        .map(|name| {
            let segs: Vec<_> = cat.segments(name).collect();
            serde_json::json!({
                "name": name,
                "configured": configured.contains(name),
                "source": segs.first().map_or("recorded", |s| source_name(s.source)),
                "segments": segs.len(),
                "first": segs.first().map(|s| crate::time::rfc3339_utc_ns(s.start_ns)),
                "last": segs.last().map(|s| crate::time::rfc3339_utc_ns(s.end_ns())),
            })
        })
        .collect();
    Reply::Json(serde_json::json!({ "cameras": cameras }))
}

pub fn segments(board: &Board, camera: &str, query: &str) -> Result<Reply, HttpError> {
    let parse = |key: &str, default: u64| match super::query_param(query, key) {
        Some(v) => crate::time::parse_time(&v).map_err(|e| format!("{key}: {e}")),
        None => Ok(default),
    };
    let (from, to) = (
        parse("from", 0).map_err(HttpError::BadRequest)?,
        parse("to", u64::MAX).map_err(HttpError::BadRequest)?,
    );
    let cat = board.shared.catalog.lock().unwrap();
    let list: Vec<_> = cat
        .range(camera, from, to)
        .iter()
        .map(|s| {
            serde_json::json!({
                "name": s.name.as_str(),
                "start_ns": s.start_ns,
                "start": crate::time::rfc3339_utc_ns(s.start_ns),
                "duration_s": f64::from(s.duration_ms) / 1000.0,
                "bytes": s.bytes,
                "codec": s.codec.as_str(),
                "has_motion": s.has_motion,
                "source": source_name(s.source),
                "preview": format!("/api/cameras/{camera}/preview/{}", s.name.replace(".mp4", ".jpg")),
                "thumbnail": format!("/api/cameras/{camera}/preview/{}?thumb=1", s.name.replace(".mp4", ".jpg")),
            })
        })
        .collect();
    Ok(Reply::Json(
        serde_json::json!({ "camera": camera, "segments": list }),
    ))
}

/// Answered from the preview worker, which makes the JPEG if it is not there yet: the
/// routing thread never decodes.
pub fn preview<C: Connection + Send + 'static>(
    mut conn: C,
    board: &Board,
    camera: &str,
    day: &str,
    file: &str,
    query: &str,
) -> Option<C> {
    let name = format!("{day}/{}", file.trim_end_matches(".jpg"));
    let name = if name.ends_with(".mp4") {
        name
    } else {
        format!("{name}.mp4")
    };
    let segment = {
        let cat = board.shared.catalog.lock().unwrap();
        cat.segments(camera)
            .find(|s| s.name.as_str() == name)
            .map(|s| (cat.path_of(camera, s), s.codec.to_string()))
    };
    let (Some((segment, codec)), Some(previews)) = (segment, board.shared.previews.as_ref()) else {
        super::send(
            &mut conn,
            Err(HttpError::NotFound("no such segment".into())),
        );
        return Some(conn);
    };
    let thumb = super::query_param(query, "thumb").is_some();
    let shown = segment.display().to_string();
    previews.get(
        &segment,
        &codec,
        thumb,
        Box::new(move |made| {
            let result = match made {
                Ok(jpeg) => Ok(Reply::Bytes {
                    content_type: "image/jpeg",
                    headers: vec![("Cache-Control", "max-age=86400".into())],
                    body: jpeg,
                }),
                Err(e @ PreviewError::Busy) => Err(HttpError::Busy(e.to_string())),
                Err(e) => {
                    log::warn!("previews: {shown}: {e}");
                    Err(HttpError::NotFound("no preview of that segment".into()))
                }
            };
            super::send(&mut conn, result);
        }),
    );
    None
}

pub fn coverage(board: &Board, camera: &str, query: &str) -> Result<Reply, HttpError> {
    let day = super::query_param(query, "day").unwrap_or_else(|| {
        crate::time::LocalTime::from_unix((crate::time::unix_now_ns() / 1_000_000_000) as i64)
            .date()
    });
    let c = board
        .coverage(camera, &day)
        .map_err(HttpError::BadRequest)?;
    Ok(Reply::Json(
        serde_json::json!({ "camera": camera, "day": day, "coverage": c }),
    ))
}

fn source_name(s: crate::storage::catalog::Source) -> &'static str {
    match s {
        crate::storage::catalog::Source::Recorded => "recorded",
        crate::storage::catalog::Source::Imported => "imported",
    }
}

/// Streams one MP4 of the range while the export pipeline makes it (on a thread of its own).
pub fn export_mp4<C: Connection + Send + 'static>(
    mut conn: C,
    board: &Board,
    camera: &str,
    query: &str,
) -> Option<C> {
    match plan_export(board, camera, query, conn.method() == Method::Head) {
        Ok(Some((plan, from))) => {
            let name = format!(
                "{camera}_{}.mp4",
                crate::time::rfc3339_utc_ns(from).replace(':', "-")
            );
            let started = std::thread::Builder::new()
                .name("export".into())
                .spawn(move || {
                    stream_export(conn, &plan, &name);
                    EXPORTS.fetch_sub(1, Ordering::SeqCst);
                });
            if let Err(e) = started {
                EXPORTS.fetch_sub(1, Ordering::SeqCst);
                log::error!("export: cannot start a thread: {e}");
            }
            None
        }
        // HEAD: what a GET would answer, without running the export.
        Ok(None) => {
            super::send(
                &mut conn,
                Ok(Reply::Bytes {
                    content_type: "video/mp4",
                    headers: Vec::new(),
                    body: Vec::new(),
                }),
            );
            Some(conn)
        }
        Err(e) => {
            super::send(&mut conn, Err(e));
            Some(conn)
        }
    }
}

/// The export's plan and its start; `None` for a HEAD request. Takes one of the
/// [`MAX_EXPORTS`] slots.
fn plan_export(
    board: &Board,
    camera: &str,
    query: &str,
    head: bool,
) -> Result<Option<(export::Plan, u64)>, HttpError> {
    let time = |key: &str| {
        let v = super::query_param(query, key)
            .ok_or_else(|| HttpError::BadRequest(format!("{key}= is required")))?;
        crate::time::parse_time(&v).map_err(|e| HttpError::BadRequest(format!("{key}: {e}")))
    };
    let (from, to) = (time("from")?, time("to")?);
    let plan = match export::plan(&board.shared.catalog.lock().unwrap(), camera, from, to) {
        Ok(p) => p,
        Err(ExportError::NoFootage) => {
            return Err(HttpError::NotFound(format!(
                "no footage of camera {camera:?} between {} and {}",
                crate::time::rfc3339_utc_ns(from),
                crate::time::rfc3339_utc_ns(to)
            )));
        }
        Err(e) => return Err(HttpError::BadRequest(e.to_string())),
    };
    if head {
        return Ok(None);
    }
    if EXPORTS.fetch_add(1, Ordering::SeqCst) >= MAX_EXPORTS {
        EXPORTS.fetch_sub(1, Ordering::SeqCst);
        return Err(HttpError::Busy(
            "too many exports running; try again".into(),
        ));
    }
    Ok(Some((plan, from)))
}

fn stream_export<C: Connection + Send + 'static>(mut conn: C, plan: &export::Plan, name: &str) {
    let disposition = format!("attachment; filename=\"{name}\"");
    let headers = [
        ("Content-Type", "video/mp4"),
        ("Content-Disposition", disposition.as_str()),
        ("Transfer-Encoding", "chunked"),
    ];
    if let Err(e) = conn.initiate_response(200, None, &headers) {
        log::warn!("export: cannot answer: {e:?}");
        return;
    }
    // The writer owns the connection: when the export drops it, the response completes.
    if let Err(e) = export::run(plan, Output::Stream(Box::new(ConnWriter(conn)))) {
        log::warn!("export: {e}");
    }
}

/// The connection as the `std::io::Write` the export pipeline writes to.
struct ConnWriter<C>(C);

impl<C: Connection> std::io::Write for ConnWriter<C> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0
            .write(data)
            .map_err(|e| std::io::Error::other(format!("{e:?}")))
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
