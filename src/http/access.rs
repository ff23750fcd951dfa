//! Who is asking, and may they: the accounts check in front of every route that shows
//! footage (`Route::shows_footage`), logins and logouts, and the cross-origin guard.
//!
//! Invariants:
//! - A route that shows footage answers 401 unless the request carries a live session
//!   cookie or an API token, or `[http] auth = "off"`.
//! - A password is hashed only after the client's address passed the throttle, on a login
//!   thread of its own (at most [`MAX_LOGINS`] at once); the routing thread never hashes.
//! - No password, token or session id is logged or answered back; a failed login is logged
//!   with the client's address and, only when it exists, the user's name.
//! - A request whose `Origin` is not this server is refused, and a state-changing request
//!   must be JSON (a type a plain HTML form cannot send); nothing grants CORS.

use super::conn::{Connection, Headers};
use super::{HttpError, Reply};
use crate::auth::Accounts;
use crate::auth::throttle::Throttle;
use crate::config::{AuthPolicy, StatusAccess};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Logins being checked at once (each holds ~19 MiB while hashing).
pub const MAX_LOGINS: usize = 2;
/// The session cookie's name.
pub const COOKIE: &str = "nvr_session";
/// The largest login request body read.
const MAX_LOGIN_BODY: usize = 4096;

/// The policy in force, replaced on a reload.
#[derive(Debug, Clone)]
pub struct Settings {
    pub auth: AuthPolicy,
    pub status: StatusAccess,
    pub trusted_proxies: Vec<IpAddr>,
    pub auth_dir: PathBuf,
}

impl From<&crate::config::Http> for Settings {
    fn from(h: &crate::config::Http) -> Settings {
        Settings {
            auth: h.auth,
            status: h.status,
            trusted_proxies: h.trusted_proxies.clone(),
            auth_dir: h.auth_dir.clone(),
        }
    }
}

pub struct Access {
    /// Shared, not copied: a request takes the policy in force once (an `Arc` clone).
    settings: Mutex<Arc<Settings>>,
    throttle: Mutex<Throttle>,
    logins: AtomicUsize,
    /// Passwords checked since start, those wrong, and attempts refused by the throttle
    /// (shown in `/status` to a logged-in user).
    hashed: AtomicUsize,
    failed: AtomicUsize,
    throttled: AtomicUsize,
}

/// Who a request is from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    Nobody,
    User(String),
    Token(String),
    /// `auth = "off"`: everyone.
    Anyone,
}

impl Who {
    pub fn allowed(&self) -> bool {
        !matches!(self, Who::Nobody)
    }
}

/// Where a request came from, a trusted proxy's word taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub ip: IpAddr,
    /// Over HTTPS (said by a trusted proxy): cookies get `Secure`.
    pub https: bool,
    /// The host the client asked for (`Host`, or a trusted proxy's `X-Forwarded-Host`).
    pub host: Option<String>,
}

impl Access {
    pub fn new(settings: Settings) -> Access {
        Access {
            settings: Mutex::new(Arc::new(settings)),
            throttle: Mutex::new(Throttle::default()),
            logins: AtomicUsize::new(0),
            hashed: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
            throttled: AtomicUsize::new(0),
        }
    }

    /// A reload's new policy; sessions and the throttle carry over.
    pub fn update(&self, settings: Settings) {
        *self.settings.lock().unwrap() = Arc::new(settings);
    }

    /// The policy in force.
    pub fn settings(&self) -> Arc<Settings> {
        self.settings.lock().unwrap().clone()
    }

    /// `/status`'s `logins`: passwords checked, wrong, and refused unchecked.
    pub fn counters(&self) -> serde_json::Value {
        serde_json::json!({
            "checked": self.hashed.load(Ordering::Relaxed),
            "failed": self.failed.load(Ordering::Relaxed),
            "throttled": self.throttled.load(Ordering::Relaxed),
        })
    }

    fn accounts(&self) -> Accounts {
        Accounts::new(&self.settings().auth_dir)
    }

    pub fn client<C: Headers>(settings: &Settings, conn: &C, peer: Option<IpAddr>) -> Client {
        let peer = peer.unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let trusted = settings.trusted_proxies.contains(&peer);
        let forwarded = |name| trusted.then(|| conn.header(name)).flatten();
        Client {
            // The proxy appends the address it saw: the last entry is the one to believe.
            ip: forwarded("X-Forwarded-For")
                .and_then(|v| v.rsplit(',').next())
                .and_then(|a| a.trim().parse().ok())
                .unwrap_or(peer),
            https: forwarded("X-Forwarded-Proto").is_some_and(|p| p.eq_ignore_ascii_case("https")),
            host: forwarded("X-Forwarded-Host")
                .or_else(|| conn.header("Host"))
                .map(str::to_string),
        }
    }

    /// Who sent the request: an API token (`Authorization: Bearer …`), else a session cookie.
    pub fn identify<C: Headers>(settings: &Settings, conn: &C) -> Who {
        if settings.auth == AuthPolicy::Off {
            return Who::Anyone;
        }
        let accounts = Accounts::new(&settings.auth_dir);
        let now = crate::time::unix_now_ns() / 1_000_000_000;
        let found = if let Some(token) = bearer(conn) {
            accounts.token_name(token).map(|n| n.map(Who::Token))
        } else if let Some(id) = session_cookie(conn) {
            accounts.session_user(id, now).map(|n| n.map(Who::User))
        } else {
            return Who::Nobody;
        };
        match found {
            Ok(who) => who.unwrap_or(Who::Nobody),
            Err(e) => {
                log::error!("http: cannot check credentials: {e}");
                Who::Nobody
            }
        }
    }

    /// `GET /api/session`: who the page is, and what it needs to know to log in.
    pub fn session(&self, who: &Who) -> Reply {
        let settings = self.settings();
        let users = match self.accounts().users() {
            Ok(u) => Some(!u.is_empty()),
            Err(e) => {
                log::error!("http: {e}");
                None
            }
        };
        let (user, via) = match who {
            Who::User(u) => (Some(u.as_str()), Some("session")),
            Who::Token(t) => (Some(t.as_str()), Some("token")),
            Who::Nobody | Who::Anyone => (None, None),
        };
        Reply::Json(serde_json::json!({
            "user": user,
            "via": via,
            "auth": match settings.auth { AuthPolicy::Required => "required", AuthPolicy::Off => "off" },
            "users_exist": users,
        }))
    }

    /// `POST /api/logout`: the session ends on the server; the cookie is cleared.
    pub fn logout<C: Headers>(&self, conn: &C, client: &Client) -> Result<Reply, HttpError> {
        if let Some(id) = session_cookie(conn)
            && let Err(e) = self.accounts().end_session(id)
        {
            log::error!("http: logout: {e}");
            return Err(HttpError::Busy("cannot end the session now".into()));
        }
        Ok(Reply::Bytes {
            content_type: "application/json",
            headers: vec![("Set-Cookie", cookie("", 0, client.https))],
            body: b"{\"user\": null}".to_vec(),
        })
    }
}

/// `POST /api/login` with `{"user": …, "password": …}`: refused without hashing while the
/// client is throttled; otherwise checked on a login thread, answering a session cookie.
pub fn login<C: Connection + Send + 'static>(
    mut conn: C,
    access: &Arc<Access>,
    client: Client,
) -> Option<C> {
    let wait = access
        .throttle
        .lock()
        .unwrap()
        .wait(client.ip, Instant::now());
    if let Some(wait) = wait {
        log::debug!("login from {} refused: throttled", client.ip);
        access.throttled.fetch_add(1, Ordering::Relaxed);
        super::send(&mut conn, Err(HttpError::TooMany(wait.as_secs().max(1))));
        return Some(conn);
    }
    if access.logins.fetch_add(1, Ordering::AcqRel) >= MAX_LOGINS {
        access.logins.fetch_sub(1, Ordering::AcqRel);
        super::send(
            &mut conn,
            Err(HttpError::Busy("busy: log in again in a moment".into())),
        );
        return Some(conn);
    }
    let access = access.clone();
    let spawned = std::thread::Builder::new()
        .name("http-login".into())
        .spawn(move || {
            let result = check_login(&mut conn, &access, &client);
            access.logins.fetch_sub(1, Ordering::AcqRel);
            super::send(&mut conn, result);
        });
    if let Err(e) = spawned {
        log::error!("http: cannot start a login thread: {e}");
    }
    None
}

fn check_login<C: Connection>(
    conn: &mut C,
    access: &Access,
    client: &Client,
) -> Result<Reply, HttpError> {
    #[derive(serde::Deserialize)]
    struct Form {
        user: String,
        password: String,
    }
    let mut body = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match conn.read(&mut buf) {
            Ok(0) => break,
            Ok(n) if body.len() + n <= MAX_LOGIN_BODY => body.extend_from_slice(&buf[..n]),
            Ok(_) => return Err(HttpError::BadRequest("login request too large".into())),
            Err(_) => {
                return Err(HttpError::BadRequest(
                    "cannot read the login request".into(),
                ));
            }
        }
    }
    // The error never echoes the body: it holds a password.
    let form: Form = serde_json::from_slice(&body).map_err(|_| {
        HttpError::BadRequest("expected {\"user\": \"NAME\", \"password\": \"…\"}".into())
    })?;
    let accounts = access.accounts();
    access.hashed.fetch_add(1, Ordering::Relaxed);
    let ok = accounts.login(&form.user, &form.password).map_err(|e| {
        log::error!("http: login: {e}");
        HttpError::Busy("cannot check the password now".into())
    })?;
    if !ok {
        access.failed.fetch_add(1, Ordering::Relaxed);
        access
            .throttle
            .lock()
            .unwrap()
            .failed(client.ip, Instant::now());
        let known = accounts.users().unwrap_or_default().contains(&form.user);
        if known {
            log::warn!(
                "login failed from {}: wrong password for {}",
                client.ip,
                form.user
            );
        } else {
            // The name is not logged: people type their password there.
            log::warn!("login failed from {}: no such user", client.ip);
        }
        return Err(HttpError::Unauthorized("wrong name or password".into()));
    }
    access.throttle.lock().unwrap().succeeded(client.ip);
    let now = crate::time::unix_now_ns() / 1_000_000_000;
    let id = accounts.new_session(&form.user, now).map_err(|e| {
        log::error!("http: login: {e}");
        HttpError::Busy("cannot start a session now".into())
    })?;
    log::info!("{} logged in from {}", form.user, client.ip);
    Ok(Reply::Bytes {
        content_type: "application/json",
        headers: vec![(
            "Set-Cookie",
            cookie(&id, crate::auth::SESSION_SECONDS, client.https),
        )],
        body: serde_json::to_vec(&serde_json::json!({ "user": form.user })).unwrap_or_default(),
    })
}

/// The session cookie: script cannot read it, other sites' pages do not send it.
fn cookie(id: &str, max_age: u64, secure: bool) -> String {
    format!(
        "{COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    )
}

fn bearer<C: Headers>(conn: &C) -> Option<&str> {
    let v = conn.header("Authorization")?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn session_cookie<C: Headers>(conn: &C) -> Option<&str> {
    conn.header("Cookie")?
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

/// Whether the request comes from a page of another origin: its `Origin` names another
/// host (a request without `Origin` is not from another site's page).
pub fn cross_origin<C: Headers>(conn: &C, client: &Client) -> bool {
    let Some(origin) = conn.header("Origin") else {
        return false;
    };
    let authority = origin
        .split_once("://")
        .map(|(_, a)| a.trim_end_matches('/'))
        .unwrap_or("");
    !client
        .host
        .as_deref()
        .is_some_and(|h| h.eq_ignore_ascii_case(authority))
}

/// Whether a state-changing request says it is JSON (a plain HTML form cannot).
pub fn is_json<C: Headers>(conn: &C) -> bool {
    conn.header("Content-Type")
        .and_then(|t| t.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

/// `/status` for someone not logged in: the health fields only; camera URLs, segment names,
/// error texts, disk paths and what motion saw need a login. A whitelist: a field added later
/// stays private until it is listed here.
pub fn public_status(mut status: serde_json::Value) -> serde_json::Value {
    const CAMERA: &[&str] = &[
        "name",
        "enabled",
        "mode",
        "state",
        "since",
        "last_error_at",
        "codec",
        "width",
        "height",
        "audio",
        "bitrate_bps",
        "segments_written",
        "reconnects",
        "retry_in_s",
        "today",
        "supervisor_idle_ms",
        "motion",
    ];
    const MOTION: &[&str] = &["source", "branch", "decoder", "detector_fps"];
    const STORAGE: &[&str] = &[
        "segments",
        "bytes_used",
        "free_bytes",
        "total_bytes",
        "counters",
        "store_writes_dropped",
    ];
    fn keep(v: &mut serde_json::Value, keys: &[&str]) {
        if let Some(o) = v.as_object_mut() {
            o.retain(|k, _| keys.contains(&k.as_str()));
        }
    }
    if let Some(cams) = status["cameras"].as_array_mut() {
        for c in cams {
            keep(c, CAMERA);
            if c["motion"].is_object() {
                keep(&mut c["motion"], MOTION);
            }
        }
    }
    keep(&mut status["storage"], STORAGE);
    status["public"] = serde_json::Value::Bool(true);
    status
}
