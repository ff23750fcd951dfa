//! Logging in as a browser and a script do, against a running `nvr run`: the session cookie
//! and its flags, logout ending it on the server, tokens for the API and exports, failed
//! logins throttled per client before any hashing, and no secret in the log.

mod common;
use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// One HTTP/1.1 request with `headers` and `body`; (status, head, body).
fn ask(addr: &str, method: &str, path: &str, headers: &str, body: &str) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut resp = String::new();
    let _ = s.read_to_string(&mut resp);
    let (head, body) = resp.split_once("\r\n\r\n").unwrap_or((&resp, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

fn login(addr: &str, extra: &str, user: &str, password: &str) -> (u16, String, String) {
    let body = serde_json::json!({ "user": user, "password": password }).to_string();
    ask(
        addr,
        "POST",
        "/api/login",
        &format!("Content-Type: application/json\r\nOrigin: http://{addr}\r\n{extra}"),
        &body,
    )
}

fn nvr_cmd(config: &std::path::Path, args: &[&str], stdin: &str) -> String {
    let out = nvr_with_input(config, args, stdin);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const PASSWORD: &str = "Grüße 100% sicher";

#[test]
fn a_browser_logs_in_and_out_and_a_script_uses_a_token() {
    let dir = TempDir::new("login");
    let storage = dir.path().join("rec");
    let nvr = Nvr::start(dir.path(), &config(&storage, 60, ""));
    let addr = nvr.addr().to_string();

    // No user yet: the page is told so, and footage is refused.
    let (_, _, me) = ask(&addr, "GET", "/api/session", "", "");
    let me: serde_json::Value = serde_json::from_str(&me).unwrap();
    assert_eq!(me["users_exist"], false, "{me}");
    assert_eq!(me["auth"], "required");
    assert_eq!(ask(&addr, "GET", "/api/cameras", "", "").0, 401);

    nvr_cmd(
        &nvr.config,
        &["user", "add", "ann"],
        &format!("{PASSWORD}\n"),
    );
    let (status, _, body) = login(&addr, "", "ann", "wrong password");
    assert_eq!(status, 401, "{body}");
    let (status, head, body) = login(&addr, "", "ann", PASSWORD);
    assert_eq!(status, 200, "{head}\n{body}");
    let cookie_line = head
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .unwrap_or_else(|| panic!("no cookie: {head}"))
        .to_string();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=2592000"] {
        assert!(cookie_line.contains(flag), "{flag}: {cookie_line}");
    }
    assert!(!cookie_line.contains("Secure"), "plain HTTP: {cookie_line}");
    let id = cookie_line
        .split_once("nvr_session=")
        .and_then(|(_, r)| r.split(';').next())
        .unwrap()
        .to_string();
    assert_eq!(id.len(), 64);
    let cookie = format!("Cookie: nvr_session={id}\r\n");

    let (status, _, me) = ask(&addr, "GET", "/api/session", &cookie, "");
    assert_eq!(status, 200);
    assert!(me.contains("\"ann\""), "{me}");
    assert_eq!(ask(&addr, "GET", "/api/cameras", &cookie, "").0, 200);
    // Full /status for her, with the login counters; the public one has neither.
    let (_, _, full) = ask(&addr, "GET", "/status", &cookie, "");
    let full: serde_json::Value = serde_json::from_str(&full).unwrap();
    assert_eq!(full["logins"]["checked"], 2, "{full}");
    assert!(full["storage"]["path"].is_string());
    let (_, _, public) = ask(&addr, "GET", "/status", "", "");
    assert!(!public.contains(storage.to_str().unwrap()), "{public}");
    assert!(!public.contains("logins"), "{public}");

    // Logout ends the session on the server: the same id, copied, no longer works. It
    // survived nothing but needs nothing else: no restart in between.
    let json = format!("Content-Type: application/json\r\n{cookie}");
    let (status, head, _) = ask(&addr, "POST", "/api/logout", &json, "{}");
    assert_eq!(status, 200);
    assert!(head.contains("Max-Age=0"), "{head}");
    assert_eq!(ask(&addr, "GET", "/api/cameras", &cookie, "").0, 401);

    // A script's token: the API and an export; revoked, refused at the next request.
    let token = nvr_cmd(&nvr.config, &["token", "add", "homeassistant"], "");
    let token = token
        .split_whitespace()
        .find(|w| w.len() == 64)
        .unwrap()
        .to_string();
    let bearer = format!("Authorization: Bearer {token}\r\n");
    assert_eq!(ask(&addr, "GET", "/api/cameras", &bearer, "").0, 200);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let export = format!("/api/cameras/none/export.mp4?from={}&to={now}", now - 60);
    let (status, _, body) = ask(&addr, "GET", &export, &bearer, "");
    assert_eq!(status, 404, "past the login, to the export itself: {body}");
    assert!(body.contains("no footage"), "{body}");
    nvr_cmd(&nvr.config, &["token", "revoke", "homeassistant"], "");
    assert_eq!(ask(&addr, "GET", "/api/cameras", &bearer, "").0, 401);

    // Sessions survive a restart of nvr.
    let (_, head, _) = login(&addr, "", "ann", PASSWORD);
    let id = head.split_once("nvr_session=").unwrap().1[..64].to_string();
    drop(nvr);
    let nvr = Nvr::start_with(dir.path(), &dir.path().join("nvr.toml"));
    let cookie = format!("Cookie: nvr_session={id}\r\n");
    assert_eq!(ask(nvr.addr(), "GET", "/api/cameras", &cookie, "").0, 200);

    // Nothing secret in the log: not the password, the token, or a session id.
    let log = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect::<String>();
    assert!(log.contains("ann logged in from 127.0.0.1"), "{log}");
    assert!(
        log.contains("login failed from 127.0.0.1: wrong password for ann"),
        "{log}"
    );
    for secret in [PASSWORD, "wrong password\"", token.as_str(), id.as_str()] {
        assert!(!log.contains(secret), "{secret:?} in the log");
    }
}

#[test]
fn failed_logins_are_throttled_per_client_before_hashing() {
    let dir = TempDir::new("login-throttle");
    let storage = dir.path().join("rec");
    // Behind a proxy on this machine: its X-Forwarded-For names the client.
    let cfg =
        config(&storage, 60, "").replace("[http]\n", "[http]\ntrusted_proxies = [\"127.0.0.1\"]\n");
    let nvr = Nvr::start(dir.path(), &cfg);
    let addr = nvr.addr().to_string();
    nvr_cmd(
        &nvr.config,
        &["user", "add", "ann"],
        &format!("{PASSWORD}\n"),
    );
    let from = |ip: &str| format!("X-Forwarded-For: {ip}\r\n");

    let mut hashed = Vec::new();
    let mut refused = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let (status, head, body) = login(&addr, &from("198.51.100.7"), "ann", "guess");
        match status {
            401 => hashed.push(t.elapsed()),
            429 => {
                assert!(head.contains("Retry-After: "), "{head}");
                assert!(body.contains("too many failed logins"), "{body}");
                refused.push(t.elapsed());
            }
            s => panic!("{s}: {head}{body}"),
        }
    }
    assert_eq!((hashed.len(), refused.len()), (5, 15));
    // Even the right password waits now; another client does not.
    assert_eq!(login(&addr, &from("198.51.100.7"), "ann", PASSWORD).0, 429);
    assert_eq!(login(&addr, &from("198.51.100.8"), "ann", PASSWORD).0, 200);
    let token = format!("Authorization: Bearer {}\r\n", test_token_of(&nvr));
    let (_, _, st) = ask(&addr, "GET", "/status", &token, "");
    let st: serde_json::Value = serde_json::from_str(&st).unwrap();
    assert_eq!(
        st["logins"],
        serde_json::json!({"checked": 6, "failed": 5, "throttled": 16}),
        "refused attempts were never hashed"
    );
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    println!(
        "login: refused by the throttle in {:?} (median), a checked password {:?}",
        median(&mut refused),
        median(&mut hashed)
    );
    assert!(nvr.log_text().contains("login failed from 198.51.100.7"));
}

/// The test token of a running server (the harness made it).
fn test_token_of(nvr: &Nvr) -> String {
    auth_header(nvr.addr())
        .trim()
        .trim_start_matches("Authorization: Bearer ")
        .to_string()
}
