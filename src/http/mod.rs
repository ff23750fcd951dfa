//! The HTTP server: one thread accepting requests (tiny_http), routes typed in [`path`],
//! handlers written against embedded-svc's server `Connection` ([`conn`]) and answering
//! typed [`Reply`]s or [`HttpError`]s, one module per resource.
//!
//! Long-lived: started once by `nvr run`/`nvr demo`, stopped at shutdown. It only reads
//! state the supervisors publish; a slow client cannot delay recording.

pub mod access;
mod cameras;
pub mod conn;
mod events;
pub mod path;
mod status;
mod ui;

use crate::board::Board;
use access::Access;
use conn::Connection;
use path::Route;
use std::net::SocketAddr;
use std::sync::Arc;

pub struct HttpServer {
    server: Arc<tiny_http::Server>,
    thread: Option<std::thread::JoinHandle<()>>,
    pub addr: SocketAddr,
}

impl HttpServer {
    pub fn start(
        listen: SocketAddr,
        board: Arc<Board>,
        access: Arc<Access>,
    ) -> Result<HttpServer, String> {
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
                    let url: String = req.url().chars().take(100).collect();
                    // A handler that panics answers 500 (the connection's drop); the server
                    // goes on serving.
                    let served = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        if let Some(conn) = handle(conn::Tiny::new(req), &board, &access) {
                            conn.complete();
                        }
                    }));
                    if served.is_err() {
                        log::error!("http: the handler of {url} failed; answered 500");
                    }
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

/// Answers one request: its route parsed in one place, its method, origin and credentials
/// checked ([`access`]), then its handler. The slow ones (a login's password hash, a preview
/// that may need decoding, an export) take the connection to a thread of their own: nothing
/// slow runs on the routing thread.
pub fn handle<C: Connection + conn::Peer + Send + 'static>(
    mut conn: C,
    board: &Board,
    access: &Arc<Access>,
) -> Option<C> {
    let uri = conn.uri().to_string();
    let (path, query) = uri.split_once('?').unwrap_or((&uri, ""));
    let route = match Route::parse(path) {
        None => Err(HttpError::NotFound(not_found_text(path))),
        Some(route) if !route.methods().contains(&conn.method()) => {
            Err(HttpError::MethodNotAllowed(route.allow()))
        }
        Some(route) => Ok(route),
    };
    let route = match route {
        Ok(r) => r,
        Err(e) => {
            send(&mut conn, Err(e));
            return Some(conn);
        }
    };
    let settings = access.settings();
    let client = Access::client(&settings, &conn, conn.peer());
    let refused = if access::cross_origin(&conn, &client) {
        Some(HttpError::Forbidden("cross-origin request refused"))
    } else if route.methods() == [conn::Method::Post] && !access::is_json(&conn) {
        Some(HttpError::Forbidden("send Content-Type: application/json"))
    } else {
        None
    };
    if let Some(e) = refused {
        send(&mut conn, Err(e));
        return Some(conn);
    }
    let who = Access::identify(&settings, &conn);
    let private_status = settings.status == crate::config::StatusAccess::Private;
    if !who.allowed() && (route.shows_footage() || (route == Route::Status && private_status)) {
        send(
            &mut conn,
            Err(HttpError::Unauthorized("log in first".into())),
        );
        return Some(conn);
    }
    let result = {
        match route {
            Route::Page(page) => ui::get(page),
            Route::Status if who.allowed() => {
                let mut s = status::get(board);
                s["logins"] = access.counters();
                Ok(Reply::Json(s))
            }
            Route::Status => Ok(Reply::Bytes {
                content_type: "application/json",
                headers: Vec::new(),
                body: status::public(board).to_vec(),
            }),
            Route::Session => Ok(access.session(&who)),
            Route::Login => return access::login(conn, access, client),
            Route::Logout => access.logout(&conn, &client),
            Route::Events => events::get(board, query),
            Route::EventSnapshot(id) => events::snapshot(board, id),
            Route::LiveEvents => return events::live(conn, board),
            Route::Cameras => Ok(cameras::list(board)),
            Route::Segments(camera) => cameras::segments(board, &camera, query),
            Route::Coverage(camera) => cameras::coverage(board, &camera, query),
            Route::Preview { camera, day, file } => {
                return cameras::preview(conn, board, &camera, &day, &file, query);
            }
            Route::Export(camera) => return cameras::export_mp4(conn, board, &camera, query),
        }
    };
    send(&mut conn, result);
    Some(conn)
}

/// A handler's answer, written to the connection in one place.
#[derive(Debug)]
pub enum Reply {
    Json(serde_json::Value),
    /// A file: its content type, extra headers, and the bytes.
    Bytes {
        content_type: &'static str,
        headers: Vec<(&'static str, String)>,
        body: Vec<u8>,
    },
}

/// Every way a request fails, each with its status code.
#[derive(Debug)]
pub enum HttpError {
    BadRequest(String),
    /// No valid session or token (or a wrong password).
    Unauthorized(String),
    /// Refused whoever asks (another site's page).
    Forbidden(&'static str),
    NotFound(String),
    /// With the methods the route answers, for `Allow`.
    MethodNotAllowed(&'static str),
    /// Too many failed logins: try again in this many seconds (`Retry-After`).
    TooMany(u64),
    /// Try again later (too many exports, the preview worker busy).
    Busy(String),
}

impl HttpError {
    pub fn status(&self) -> u16 {
        match self {
            HttpError::BadRequest(_) => 400,
            HttpError::Unauthorized(_) => 401,
            HttpError::Forbidden(_) => 403,
            HttpError::NotFound(_) => 404,
            HttpError::MethodNotAllowed(_) => 405,
            HttpError::TooMany(_) => 429,
            HttpError::Busy(_) => 503,
        }
    }

    fn text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            HttpError::BadRequest(t)
            | HttpError::Unauthorized(t)
            | HttpError::NotFound(t)
            | HttpError::Busy(t) => t.into(),
            HttpError::Forbidden(t) => (*t).into(),
            HttpError::MethodNotAllowed(_) => "method not allowed".into(),
            HttpError::TooMany(s) => format!("too many failed logins: try again in {s} s").into(),
        }
    }

    /// The header the status needs, if any.
    fn header(&self) -> Option<(&'static str, String)> {
        match self {
            HttpError::MethodNotAllowed(allow) => Some(("Allow", allow.to_string())),
            // Bearer, not Basic: a browser shows no password dialog of its own.
            HttpError::Unauthorized(_) => Some(("WWW-Authenticate", "Bearer realm=\"nvr\"".into())),
            HttpError::TooMany(s) => Some(("Retry-After", s.to_string())),
            _ => None,
        }
    }
}

/// Writes a handler's result: the reply, or the error as `{"error": …}` with its status.
fn send<C: Connection>(conn: &mut C, result: Result<Reply, HttpError>) {
    let written = match result {
        Ok(Reply::Json(value)) => write_json(conn, 200, &value),
        Ok(Reply::Bytes {
            content_type,
            headers,
            body,
        }) => {
            let mut all: Vec<(&str, &str)> = vec![("Content-Type", content_type)];
            all.extend(headers.iter().map(|(k, v)| (*k, v.as_str())));
            conn.initiate_response(200, None, &all)
                .and_then(|()| conn.write_all(&body))
        }
        Err(e) => {
            let body = serde_json::json!({ "error": e.text() });
            match e.header() {
                Some((name, value)) => {
                    let bytes = serde_json::to_vec_pretty(&body).unwrap_or_default();
                    conn.initiate_response(
                        e.status(),
                        None,
                        &[("Content-Type", "application/json"), (name, &value)],
                    )
                    .and_then(|()| conn.write_all(&bytes))
                }
                None => write_json(conn, e.status(), &body),
            }
        }
    };
    if let Err(e) = written {
        log::debug!("http: cannot answer: {e:?}");
    }
}

fn write_json<C: Connection>(
    conn: &mut C,
    status: u16,
    value: &serde_json::Value,
) -> Result<(), C::Error> {
    let body = serde_json::to_vec_pretty(value).unwrap_or_default();
    conn.initiate_response(status, None, &[("Content-Type", "application/json")])?;
    conn.write_all(&body)
}

/// "not found", naming at most the first 100 characters of the path asked for.
fn not_found_text(path: &str) -> String {
    let shown: String = path.chars().take(100).collect();
    format!("not found: {shown}")
}

/// A query parameter, `%XX`-decoded (`+` stays `+`: write `%2B` for a UTC offset).
pub(crate) fn query_param(query: &str, key: &str) -> Option<String> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key).then(|| {
            percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .into_owned()
        })
    })
}

#[cfg(test)]
mod tests;
