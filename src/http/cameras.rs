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

use crate::board::Board;
use crate::storage::export::{self, ExportError, Output};
use std::io::{Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};

/// Exports running at once; more get 503 (each is a pipeline and a thread).
const MAX_EXPORTS: usize = 2;
static EXPORTS: AtomicUsize = AtomicUsize::new(0);

/// Configured cameras and cameras that only have recordings (removed, or imported).
pub fn list(board: &Board) -> super::Response {
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
    super::json(200, &serde_json::json!({ "cameras": cameras }))
}

pub fn segments(board: &Board, camera: &str, query: &str) -> super::Response {
    let parse = |key: &str, default: u64| match query_param(query, key) {
        Some(v) => crate::time::parse_time(&v).map_err(|e| format!("{key}: {e}")),
        None => Ok(default),
    };
    let (from, to) = match (parse("from", 0), parse("to", u64::MAX)) {
        (Ok(f), Ok(t)) => (f, t),
        (Err(e), _) | (_, Err(e)) => {
            return super::json(400, &serde_json::json!({ "error": e }));
        }
    };
    let cat = board.shared.catalog.lock().unwrap();
    let list: Vec<_> = cat
        .range(camera, from, to)
        .iter()
        .map(|s| {
            serde_json::json!({
                "name": s.name.as_str(),
                "path": cat.path_of(camera, s).display().to_string(),
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
    super::json(
        200,
        &serde_json::json!({ "camera": camera, "segments": list }),
    )
}

pub fn preview(
    req: tiny_http::Request,
    board: &Board,
    camera: &str,
    day: &str,
    file: &str,
    query: &str,
) {
    let not_found = || super::json(404, &serde_json::json!({"error": "no such segment"}));
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
        return super::respond(req, not_found());
    };
    let thumb = query_param(query, "thumb").is_some();
    // Made (or read) on the preview worker, which answers the request: the routing thread
    // never decodes.
    let shown = segment.display().to_string();
    previews.get(
        &segment,
        &codec,
        thumb,
        Box::new(move |made| {
            let response = match made {
                Ok(jpeg) => tiny_http::Response::from_data(jpeg)
                    .with_header(
                        tiny_http::Header::from_bytes("Content-Type", "image/jpeg")
                            .expect("header"),
                    )
                    .with_header(
                        tiny_http::Header::from_bytes("Cache-Control", "max-age=86400")
                            .expect("header"),
                    ),
                Err(e) if e.starts_with("busy") => {
                    super::json(503, &serde_json::json!({"error": e}))
                }
                Err(e) => {
                    log::warn!("previews: {shown}: {e}");
                    super::json(
                        404,
                        &serde_json::json!({"error": "no preview of that segment"}),
                    )
                }
            };
            super::respond(req, response);
        }),
    );
}

pub fn coverage(board: &Board, camera: &str, query: &str) -> super::Response {
    let day = query_param(query, "day").unwrap_or_else(|| {
        crate::time::LocalTime::from_unix((crate::time::unix_now_ns() / 1_000_000_000) as i64)
            .date()
    });
    match board.coverage(camera, &day) {
        Ok(c) => super::json(
            200,
            &serde_json::json!({ "camera": camera, "day": day, "coverage": c }),
        ),
        Err(e) => super::json(400, &serde_json::json!({ "error": e })),
    }
}

fn source_name(s: crate::storage::catalog::Source) -> &'static str {
    match s {
        crate::storage::catalog::Source::Recorded => "recorded",
        crate::storage::catalog::Source::Imported => "imported",
    }
}

use super::query_param;

pub fn export_mp4(req: tiny_http::Request, board: &Board, camera: &str, query: &str) {
    let bad = |msg: String| super::json(400, &serde_json::json!({ "error": msg }));
    let times = (|| {
        let from = query_param(query, "from").ok_or("from= is required")?;
        let to = query_param(query, "to").ok_or("to= is required")?;
        Ok::<_, String>((
            crate::time::parse_time(&from).map_err(|e| format!("from: {e}"))?,
            crate::time::parse_time(&to).map_err(|e| format!("to: {e}"))?,
        ))
    })();
    let (from, to) = match times {
        Ok(t) => t,
        Err(e) => return super::respond(req, bad(e)),
    };
    let planned = export::plan(&board.shared.catalog.lock().unwrap(), camera, from, to);
    let plan = match planned {
        Ok(p) => p,
        Err(ExportError::NoFootage) => {
            return super::respond(
                req,
                super::json(
                    404,
                    &serde_json::json!({
                        "error": format!(
                            "no footage of camera {camera:?} between {} and {}",
                            crate::time::rfc3339_utc_ns(from),
                            crate::time::rfc3339_utc_ns(to)
                        )
                    }),
                ),
            );
        }
        Err(e) => return super::respond(req, bad(e.to_string())),
    };
    if *req.method() == tiny_http::Method::Head {
        // What a GET would answer, without running the export.
        let ok = tiny_http::Response::from_data(Vec::new()).with_header(
            tiny_http::Header::from_bytes("Content-Type", "video/mp4").expect("header"),
        );
        return super::respond(req, ok);
    }
    if EXPORTS.fetch_add(1, Ordering::SeqCst) >= MAX_EXPORTS {
        EXPORTS.fetch_sub(1, Ordering::SeqCst);
        return super::respond(
            req,
            super::json(
                503,
                &serde_json::json!({"error": "too many exports running; try again"}),
            ),
        );
    }
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(8);
    let name = format!(
        "{camera}_{}.mp4",
        crate::time::rfc3339_utc_ns(from).replace(':', "-")
    );
    let producer = std::thread::Builder::new()
        .name("export".into())
        .spawn(move || {
            if let Err(e) = export::run(&plan, Output::Stream(Box::new(ChannelWriter(tx)))) {
                log::warn!("export: {e}");
            }
        });
    let consumer = std::thread::Builder::new()
        .name("export-http".into())
        .spawn(move || {
            let headers = vec![
                tiny_http::Header::from_bytes("Content-Type", "video/mp4").expect("header"),
                tiny_http::Header::from_bytes(
                    "Content-Disposition",
                    format!("attachment; filename=\"{name}\""),
                )
                .expect("header"),
            ];
            let body = ChannelReader {
                rx,
                buf: Vec::new(),
                pos: 0,
            };
            let resp =
                tiny_http::Response::new(tiny_http::StatusCode(200), headers, body, None, None);
            if let Err(e) = req.respond(resp) {
                log::debug!("export: client went away: {e}");
            }
            EXPORTS.fetch_sub(1, Ordering::SeqCst);
        });
    if producer.is_err() || consumer.is_err() {
        log::error!("export: cannot start threads");
    }
}

/// The export pipeline's side: each muxed buffer becomes one message (bounded queue).
struct ChannelWriter(SyncSender<Vec<u8>>);

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0
            .send(data.to_vec())
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))?;
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The HTTP side: reads until the export is done (the sender is dropped).
struct ChannelReader {
    rx: Receiver<Vec<u8>>,
    buf: Vec<u8>,
    pos: usize,
}

impl Read for ChannelReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.pos == self.buf.len() {
            match self.rx.recv() {
                Ok(b) => {
                    self.buf = b;
                    self.pos = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}
