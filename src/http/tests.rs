//! Handlers over an in-memory connection: no socket, the same code as the server runs.

use super::access::{Access, Settings};
use super::conn::{Memory, Method};
use super::path::Route;
use crate::auth::Accounts;
use crate::board::Board;
use crate::camera::Shared;
use crate::config::{AuthPolicy, StatusAccess};
use std::sync::Arc;

/// A recorder's storage and board, with accounts (auth required) in its own folder.
struct Store(std::path::PathBuf, Board, Arc<Access>);

fn store(name: &str) -> Store {
    let root = std::env::temp_dir().join(format!("nvr-http-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let shared = Shared::for_test(&root, Arc::new(crate::time::RealClock));
    let access = Access::new(Settings {
        auth: AuthPolicy::Required,
        status: StatusAccess::Public,
        trusted_proxies: Vec::new(),
        auth_dir: root.join("auth"),
    });
    Store(root, Board::new(Arc::new(shared)), Arc::new(access))
}

impl Store {
    fn accounts(&self) -> Accounts {
        Accounts::new(&self.0.join("auth"))
    }

    /// A working API token's `Authorization` value.
    fn bearer(&self) -> String {
        let t = self.accounts().add_token("tests", 0).unwrap();
        format!("Bearer {t}")
    }

    fn ask(&self, method: Method, uri: &str) -> Memory {
        self.ask_with(Memory::new(method, uri))
    }

    fn ask_with(&self, m: Memory) -> Memory {
        super::handle(m, &self.1, &self.2).expect("answered on the routing thread")
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.1.shared.writer.flush();
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn every_route_refuses_other_methods_and_unknown_paths_are_404() {
    let s = store("methods");
    for (path, _) in Route::TABLE {
        let route = Route::parse(path).unwrap();
        for method in [
            Method::Get,
            Method::Head,
            Method::Post,
            Method::Put,
            Method::Delete,
            Method::Unlink,
        ] {
            if route.methods().contains(&method) {
                continue;
            }
            let m = s.ask(method, path);
            assert_eq!(m.status, Some(405), "{method:?} {path}");
            assert_eq!(m.header_out("Allow"), Some(route.allow()), "{path}");
            assert_eq!(m.json()["error"], "method not allowed");
        }
    }
    let long = format!("/{}", "x".repeat(10_000));
    let m = s.ask(Method::Get, &long);
    assert_eq!(m.status, Some(404));
    assert!(m.out.len() < 300, "the body does not echo a long path");
}

#[test]
fn handlers_answer_typed_replies_and_errors() {
    let s = store("replies");
    let bearer = s.bearer();
    let ask = |_: &Board, method, uri: &str| {
        s.ask_with(Memory::new(method, uri).with("Authorization", &bearer))
    };
    let m = ask(&s.1, Method::Get, "/status");
    assert_eq!(m.status, Some(200));
    assert_eq!(m.header_out("Content-Type"), Some("application/json"));
    assert!(m.json()["cameras"].is_array(), "{}", m.json());
    for page in super::path::PAGES {
        let m = ask(&s.1, Method::Get, page);
        assert_eq!(m.status, Some(200), "{page}");
        assert!(m.header_out("Content-Security-Policy").is_some(), "{page}");
        assert!(!m.out.is_empty(), "{page}");
    }
    assert_eq!(
        ask(&s.1, Method::Get, "/api/cameras").json()["cameras"],
        serde_json::json!([])
    );
    let bad = ask(
        &s.1,
        Method::Get,
        "/api/cameras/cam/segments?from=yesterday",
    );
    assert_eq!(bad.status, Some(400));
    assert!(bad.json()["error"].as_str().unwrap().starts_with("from:"));
    let none = ask(&s.1, Method::Get, "/api/events/7/snapshot.jpg");
    assert_eq!(none.status, Some(404));
    // An export of nothing is 404 with the reason, for GET and HEAD alike, on this thread.
    for method in [Method::Get, Method::Head] {
        let m = ask(&s.1, method, "/api/cameras/cam/export.mp4?from=0&to=60");
        assert_eq!(m.status, Some(404), "{method:?}");
        assert!(m.json()["error"].as_str().unwrap().contains("no footage"));
    }
    let missing = ask(&s.1, Method::Get, "/api/cameras/cam/export.mp4?from=0");
    assert_eq!(missing.status, Some(400));
    assert_eq!(missing.json()["error"], "to= is required");
}

/// The route table, asked by strangers: every route that shows footage answers 401 and
/// nothing else, whatever credential is wrong. A route added to the table unprotected fails
/// here.
#[test]
fn every_route_that_shows_footage_needs_a_login_or_a_token() {
    let s = store("locked");
    let accounts = s.accounts();
    accounts.add_user("ann", "correct horse").unwrap();
    let revoked = accounts.add_token("old-script", 0).unwrap();
    accounts.revoke_token("old-script").unwrap();
    // A session that expired (made 31 days ago), and one logged out.
    let expired = accounts.new_session("ann", 1).unwrap();
    let now = crate::time::unix_now_ns() / 1_000_000_000;
    let ended = accounts.new_session("ann", now).unwrap();
    accounts.end_session(&ended).unwrap();
    let live = accounts.new_session("ann", now).unwrap();
    let token = s.bearer();

    let strangers: Vec<(&str, Option<(&str, String)>)> = vec![
        ("no credentials", None),
        (
            "a made-up token",
            Some(("Authorization", format!("Bearer {}", "0".repeat(64)))),
        ),
        (
            "a revoked token",
            Some(("Authorization", format!("Bearer {revoked}"))),
        ),
        (
            "a password as Basic",
            Some(("Authorization", "Basic YW5uOmNvcnJlY3QgaG9yc2U=".into())),
        ),
        (
            "an expired session",
            Some(("Cookie", format!("nvr_session={expired}"))),
        ),
        (
            "a logged-out session",
            Some(("Cookie", format!("theme=dark; nvr_session={ended}"))),
        ),
    ];
    let mut protected = 0;
    for (path, footage) in Route::TABLE {
        let route = Route::parse(path).unwrap();
        let method = route.methods()[0];
        for (who, header) in &strangers {
            let mut m = Memory::new(method, path).with("Content-Type", "application/json");
            if let Some((k, v)) = header {
                m = m.with(k, v);
            }
            if route == Route::Login {
                continue; // answered on a login thread (tests/http.rs logs in for real)
            }
            let m = s.ask_with(m);
            if *footage {
                assert_eq!(m.status, Some(401), "{who}: {path}");
                assert_eq!(
                    m.json(),
                    serde_json::json!({"error": "log in first"}),
                    "{who}: {path}"
                );
                assert!(m.header_out("WWW-Authenticate").is_some());
            } else {
                assert_ne!(m.status, Some(401), "{who}: {path} needs no login");
            }
        }
        if *footage {
            protected += 1;
            for (how, k, v) in [
                ("token", "Authorization", token.clone()),
                ("session", "Cookie", format!("nvr_session={live}")),
            ] {
                // Streams and slow routes answer on threads of their own (None here): not 401.
                if let Some(m) = super::handle(Memory::new(method, path).with(k, &v), &s.1, &s.2) {
                    assert_ne!(m.status, Some(401), "{how}: {path}");
                }
            }
        }
    }
    assert!(protected >= 8, "{protected} routes show footage");

    // A removed user's session ends with them.
    accounts.remove_user("ann").unwrap();
    let m = s.ask_with(
        Memory::new(Method::Get, "/api/cameras").with("Cookie", &format!("nvr_session={live}")),
    );
    assert_eq!(m.status, Some(401));
}

#[test]
fn public_status_keeps_health_and_drops_urls_paths_and_errors() {
    let s = store("public");
    let mut cam =
        crate::camera::CameraStatus::new("door401", "rtsp://10.0.0.9/Streaming/Channels/101", true);
    cam.last_error = Some("pipeline error: could not read rtsp://10.0.0.9".into());
    cam.reason = Some("camera refused".into());
    cam.current_segment = Some("2026-11-30/01-00-00+0000.mp4".into());
    s.1.publish(vec![Arc::new(std::sync::Mutex::new(cam))]);
    let open = s.ask(Method::Get, "/status");
    assert_eq!(open.status, Some(200));
    let text = String::from_utf8_lossy(&open.out).into_owned();
    for secret in [
        "rtsp://",
        "camera refused",
        "01-00-00",
        s.0.to_str().unwrap(),
    ] {
        assert!(!text.contains(secret), "{secret} in public /status: {text}");
    }
    let body = open.json();
    assert_eq!(body["public"], true);
    assert_eq!(body["cameras"][0]["name"], "door401");
    assert!(body["cameras"][0]["state"].is_string());
    assert!(body["storage"]["bytes_used"].is_number());

    let bearer = s.bearer();
    let full = s.ask_with(Memory::new(Method::Get, "/status").with("Authorization", &bearer));
    let text = String::from_utf8_lossy(&full.out).into_owned();
    assert!(text.contains("rtsp://10.0.0.9/"), "{text}");
    assert!(full.json()["public"].is_null());

    s.2.update(Settings {
        status: StatusAccess::Private,
        ..(*s.2.settings()).clone()
    });
    assert_eq!(s.ask(Method::Get, "/status").status, Some(401));
    s.2.update(Settings {
        auth: AuthPolicy::Off,
        ..(*s.2.settings()).clone()
    });
    assert_eq!(s.ask(Method::Get, "/api/cameras").status, Some(200));
    assert_eq!(s.ask(Method::Get, "/api/session").json()["auth"], "off");
}

#[test]
fn other_sites_pages_are_refused_and_state_changes_must_be_json() {
    let s = store("csrf");
    let bearer = s.bearer();
    // Another origin, even with a credential the browser attached.
    let m = s.ask_with(
        Memory::new(Method::Get, "/api/cameras")
            .with("Host", "nvr.local:8080")
            .with("Origin", "http://evil.example")
            .with("Authorization", &bearer),
    );
    assert_eq!(m.status, Some(403));
    let m = s.ask_with(
        Memory::new(Method::Get, "/api/events/live")
            .with("Host", "nvr.local:8080")
            .with("Origin", "http://nvr.local:8081")
            .with("Upgrade", "websocket")
            .with("Authorization", &bearer),
    );
    assert_eq!(m.status, Some(403), "another port is another origin");
    let m = s.ask_with(
        Memory::new(Method::Post, "/api/logout")
            .with("Host", "nvr.local:8080")
            .with("Origin", "http://evil.example")
            .with("Content-Type", "application/json"),
    );
    assert_eq!(m.status, Some(403));
    // A form post (a type a page of any site may send) is refused; JSON from the page is not.
    let m = s.ask_with(
        Memory::new(Method::Post, "/api/logout")
            .with("Host", "nvr.local:8080")
            .with("Content-Type", "application/x-www-form-urlencoded"),
    );
    assert_eq!(m.status, Some(403));
    let m = s.ask_with(
        Memory::new(Method::Post, "/api/logout")
            .with("Host", "nvr.local:8080")
            .with("Origin", "http://NVR.local:8080")
            .with("Content-Type", "application/json; charset=utf-8"),
    );
    assert_eq!(m.status, Some(200));
    assert!(
        m.header_out("Set-Cookie")
            .is_some_and(|c| c.starts_with("nvr_session=;") && c.contains("Max-Age=0")),
        "{:?}",
        m.headers
    );
    // No route grants CORS.
    assert!(m.header_out("Access-Control-Allow-Origin").is_none());
}

#[test]
fn a_trusted_proxy_tells_the_client_and_https() {
    let s = store("proxy");
    let req = Memory::new(Method::Get, "/")
        .with("Host", "127.0.0.1:8080")
        .with("X-Forwarded-For", "203.0.113.7, 192.168.1.20")
        .with("X-Forwarded-Proto", "https")
        .with("X-Forwarded-Host", "cams.example");
    let untrusted = Access::client(&s.2.settings(), &req, Some([127, 0, 0, 1].into()));
    assert_eq!(untrusted.ip, std::net::IpAddr::from([127, 0, 0, 1]));
    assert!(!untrusted.https);
    assert_eq!(untrusted.host.as_deref(), Some("127.0.0.1:8080"));
    s.2.update(Settings {
        trusted_proxies: vec![[127, 0, 0, 1].into()],
        ..(*s.2.settings()).clone()
    });
    let trusted = Access::client(&s.2.settings(), &req, Some([127, 0, 0, 1].into()));
    assert_eq!(trusted.ip, std::net::IpAddr::from([192, 168, 1, 20]));
    assert!(trusted.https);
    assert_eq!(trusted.host.as_deref(), Some("cams.example"));
}
