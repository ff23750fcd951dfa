//! The HTTP server (tiny_http): one thread accepting requests, one module per resource.
//!
//! Long-lived: started once by `nvr run`/`nvr demo`, stopped at shutdown. It only reads
//! state the supervisors publish; a slow client cannot delay recording.

mod cameras;
mod events;
pub mod path;
mod status;
mod ui;

use crate::board::Board;
use path::Route;
use std::net::SocketAddr;
use std::sync::Arc;

pub struct HttpServer {
    server: Arc<tiny_http::Server>,
    thread: Option<std::thread::JoinHandle<()>>,
    pub addr: SocketAddr,
}

impl HttpServer {
    pub fn start(listen: SocketAddr, board: Arc<Board>) -> Result<HttpServer, String> {
        let server = tiny_http::Server::http(listen)
            .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        let addr = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| format!("cannot listen on {listen}: not an IP socket"))?;
        let server = Arc::new(server);
        let s = server.clone();
        let thread = std::thread::Builder::new()
            .name("http".into())
            .spawn(move || {
                for req in s.incoming_requests() {
                    route(req, &board);
                }
            })
            .map_err(|e| e.to_string())?;
        Ok(HttpServer {
            server,
            thread: Some(thread),
            addr,
        })
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn route(req: tiny_http::Request, board: &Board) {
    let url = req.url().to_string();
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    let Some(route) = Route::parse(path) else {
        return respond(req, not_found(path));
    };
    // Every resource here is read-only. HEAD is GET without the body (tiny_http drops it).
    if !matches!(
        req.method(),
        tiny_http::Method::Get | tiny_http::Method::Head
    ) {
        let response = json(405, &serde_json::json!({"error": "method not allowed"}))
            .with_header(tiny_http::Header::from_bytes("Allow", "GET, HEAD").expect("header"));
        return respond(req, response);
    }
    let response = match route {
        Route::Page(page) => ui::get(page),
        Route::Status => status::get(board),
        Route::Events => events::get(board, query),
        Route::EventSnapshot(id) => events::snapshot(board, id),
        Route::Cameras => cameras::list(board),
        Route::Segments(camera) => cameras::segments(board, &camera, query),
        Route::Coverage(camera) => cameras::coverage(board, &camera, query),
        // These two answer from threads of their own (a preview may be decoded, an export
        // streams for a while): nothing slow on the routing thread.
        Route::Preview { camera, day, file } => {
            return cameras::preview(req, board, &camera, &day, &file, query);
        }
        Route::Export(camera) => return cameras::export_mp4(req, board, &camera, query),
    };
    respond(req, response);
}

/// 404, naming at most the first 100 characters of the path asked for.
fn not_found(path: &str) -> Response {
    let shown: String = path.chars().take(100).collect();
    json(
        404,
        &serde_json::json!({"error": "not found", "path": shown}),
    )
}

fn respond(req: tiny_http::Request, response: Response) {
    if let Err(e) = req.respond(response) {
        log::debug!("http: client went away: {e}");
    }
}

/// A query parameter, `%XX`-decoded (`+` stays `+`: write `%2B` for a UTC offset).
fn query_param(query: &str, key: &str) -> Option<String> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key).then(|| {
            percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .into_owned()
        })
    })
}

type Response = tiny_http::Response<std::io::Cursor<Vec<u8>>>;

fn json(code: u16, value: &serde_json::Value) -> Response {
    let body = serde_json::to_vec_pretty(value).unwrap_or_default();
    tiny_http::Response::from_data(body)
        .with_status_code(code)
        .with_header(
            tiny_http::Header::from_bytes("Content-Type", "application/json").expect("header"),
        )
}
