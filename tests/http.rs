//! HTTP as clients break it: times out of range, methods, HEAD, huge and slow headers,
//! huge paths, and a preview left empty by a power cut.

mod common;
use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// One raw request; returns everything the server sent before closing (or 10 s passing).
fn raw(addr: &str, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // The server may answer (431) and close before taking all of a huge request.
    let _ = s.write_all(request);
    let mut resp = Vec::new();
    let _ = s.read_to_end(&mut resp);
    String::from_utf8_lossy(&resp).into_owned()
}

fn request(addr: &str, method: &str, path: &str) -> String {
    raw(
        addr,
        format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{}Connection: close\r\n\r\n",
            auth_header(addr)
        )
        .as_bytes(),
    )
}

fn status_of(resp: &str) -> u16 {
    resp.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// nvr serving one camera "cam" with one placed segment, nothing recording.
fn serve(dir: &TempDir) -> (Nvr, std::path::PathBuf, std::path::PathBuf) {
    let storage = dir.path().join("rec");
    let sample = dir.path().join("sample.mp4");
    sample_mp4(&sample, 20);
    let now = (nvr::time::unix_now_ns() / 1_000_000_000) as i64;
    let seg = place_segment(&storage, "cam", &sample, now - 3600);
    let cfg = format!(
        "[storage]\npath = {:?}\n[http]\nlisten = \"127.0.0.1:0\"\n",
        storage.display().to_string()
    );
    (Nvr::start(dir.path(), &cfg), storage, seg)
}

#[test]
fn times_out_of_range_are_400_not_wrapped_around() {
    let dir = TempDir::new("http-times");
    let (nvr, _, _) = serve(&dir);
    let addr = nvr.addr().to_string();
    let (_, all) = http_get(&addr, "/api/cameras/cam/segments?from=0&to=4102444800");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&all).unwrap()["segments"]
            .as_array()
            .map_or(0, Vec::len),
        1,
        "{all}"
    );
    for q in [
        "segments?from=0&to=18446744073",
        "segments?from=0&to=18446744074",
        "segments?from=2600-01-01T00:00:00Z",
        "segments?from=0&to=99999999999999999999",
        "coverage?day=2600-01-01",
        "export.mp4?from=0&to=18446744073",
    ] {
        let resp = request(&addr, "GET", &format!("/api/cameras/cam/{q}"));
        assert_eq!(status_of(&resp), 400, "{q}: {resp}");
        assert!(
            resp.contains("out of range") || resp.contains("not a day"),
            "{q}: {resp}"
        );
    }
    let resp = request(&addr, "GET", "/api/events?from=2600-01-01T00:00:00Z");
    assert_eq!(status_of(&resp), 400, "{resp}");
}

#[test]
fn wrong_methods_get_405_and_head_works() {
    let dir = TempDir::new("http-methods");
    let (nvr, _, seg) = serve(&dir);
    let addr = nvr.addr().to_string();
    let day = seg.parent().unwrap().file_name().unwrap().to_str().unwrap();
    let file = seg.file_stem().unwrap().to_str().unwrap();
    let preview = format!("/api/cameras/cam/preview/{day}/{file}.jpg");
    // Every route there is (the table the server parses with), and a real preview.
    let table = nvr::http::path::Route::TABLE.iter().map(|(p, _)| *p);
    let paths: Vec<&str> = table
        .chain(["/api/cameras/cam/export.mp4?from=0&to=1", preview.as_str()])
        .collect();
    assert!(paths.len() >= 11);
    for path in paths {
        let route = nvr::http::path::Route::parse(path.split('?').next().unwrap()).unwrap();
        let allow = route.allow();
        for method in ["GET", "POST", "DELETE", "PUT"] {
            if allow.contains(method) {
                continue;
            }
            let resp = request(&addr, method, path);
            assert_eq!(status_of(&resp), 405, "{method} {path}: {resp}");
            assert!(
                resp.contains(&format!("Allow: {allow}")),
                "{method} {path}: {resp}"
            );
            assert!(!resp.contains("image/jpeg"), "{method} {path}: {resp}");
        }
    }
    for path in ["/status", "/", "/api/cameras", preview.as_str()] {
        let get = request(&addr, "GET", path);
        let head = request(&addr, "HEAD", path);
        assert_eq!(status_of(&head), 200, "HEAD {path}: {head}");
        assert_eq!(status_of(&get), 200, "GET {path}: {get}");
        let body = |r: &str| r.split_once("\r\n\r\n").map(|(_, b)| b.len()).unwrap_or(0);
        assert_eq!(body(&head), 0, "HEAD {path} sent a body");
        assert!(body(&get) > 0, "GET {path} sent no body");
    }
    // An export asked with HEAD answers without running one.
    let now = nvr::time::unix_now_ns() / 1_000_000_000;
    let head = request(
        &addr,
        "HEAD",
        &format!("/api/cameras/cam/export.mp4?from={}&to={now}", now - 7200),
    );
    assert_eq!(status_of(&head), 200, "{head}");
    assert!(head.contains("video/mp4"), "{head}");
    assert_eq!(status_of(&request(&addr, "POST", "/nothing-here")), 404);
}

#[test]
fn huge_paths_and_headers_are_refused_cheaply() {
    let dir = TempDir::new("http-huge");
    let (nvr, _, _) = serve(&dir);
    let addr = nvr.addr().to_string();
    // A 100 KB path: 404, and the body does not echo it.
    let long = format!("/{}", "a".repeat(100_000));
    let resp = request(&addr, "GET", &long);
    assert!(resp.len() < 2000, "{} bytes", resp.len());
    // 100 KB of headers: 431, connection closed.
    let mut req = format!("GET /status HTTP/1.1\r\nHost: {addr}\r\n").into_bytes();
    for i in 0..2000 {
        req.extend_from_slice(format!("X-Filler-{i}: {}\r\n", "b".repeat(40)).as_bytes());
    }
    req.extend_from_slice(b"\r\n");
    let resp = raw(&addr, &req);
    assert_eq!(status_of(&resp), 431, "{resp}");
    // Still serving.
    assert_eq!(status_of(&request(&addr, "GET", "/status")), 200);
}

#[test]
fn a_client_sending_its_header_slowly_is_cut_off() {
    let dir = TempDir::new("http-slow");
    let (nvr, _, _) = serve(&dir);
    let addr = nvr.addr().to_string();
    let mut s = TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    s.write_all(b"GET /status HTTP/1.1\r\n").unwrap();
    let started = Instant::now();
    let mut closed = None;
    let mut buf = [0u8; 512];
    // One header byte a second, forever: the server must end it by its header deadline.
    while started.elapsed() < Duration::from_secs(60) {
        if s.write_all(b"x").is_err() {
            closed = Some(started.elapsed());
            break;
        }
        match s.read(&mut buf) {
            Ok(0) => {
                closed = Some(started.elapsed());
                break;
            }
            Ok(_) => {
                closed = Some(started.elapsed());
                break;
            }
            Err(_) => std::thread::sleep(Duration::from_millis(900)),
        }
    }
    let closed = closed.expect("a slow header held the connection for a minute");
    assert!(closed >= Duration::from_secs(15), "closed after {closed:?}");
    assert_eq!(status_of(&request(&addr, "GET", "/status")), 200);
}

/// After a power cut a preview can be left as an empty file. It is made again, never
/// served empty.
#[test]
fn an_empty_preview_on_disk_is_made_again() {
    let dir = TempDir::new("http-preview");
    let (nvr, _, seg) = serve(&dir);
    let addr = nvr.addr().to_string();
    let day = seg.parent().unwrap().file_name().unwrap().to_str().unwrap();
    let file = seg.file_stem().unwrap().to_str().unwrap();
    for (suffix, query) in [("jpg", ""), ("thumb.jpg", "?thumb=1")] {
        let on_disk = seg.with_extension(suffix);
        std::fs::write(&on_disk, b"").unwrap();
        let (head, body) = http_get_raw(
            &addr,
            &format!("/api/cameras/cam/preview/{day}/{file}.jpg{query}"),
        );
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(
            body.len() > 100 && body.starts_with(&[0xFF, 0xD8]),
            "{} bytes",
            body.len()
        );
        assert!(
            std::fs::metadata(&on_disk).unwrap().len() > 100,
            "not remade on disk"
        );
    }
}

/// Issue: the HTTP library buffered a response of unknown length whole in memory for an
/// HTTP/1.0 client, or any client sending `TE: identity`, so one request for a long export
/// could hold gigabytes on a Pi. The body is streamed: to HTTP/1.0 without a length, ending
/// at close; to HTTP/1.1 chunked whatever `TE` says.
#[test]
fn exports_stream_to_any_client_without_buffering_the_body() {
    let dir = TempDir::new("http-stream");
    let (nvr, _, seg) = serve(&dir);
    let addr = nvr.addr().to_string();
    let from = nvr::time::parse_time(&segment_start(&seg)).unwrap() / 1_000_000_000;
    let path = format!("/api/cameras/cam/export.mp4?from={from}&to={}", from + 1);
    let raw_bytes = |req: String| {
        let mut s = TcpStream::connect(&addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        s.write_all(req.as_bytes()).unwrap();
        let mut resp = Vec::new();
        let _ = s.read_to_end(&mut resp);
        let at = resp.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        (
            String::from_utf8_lossy(&resp[..at]).into_owned(),
            resp[at..].to_vec(),
        )
    };
    let auth = auth_header(&addr);
    let (head, body) = raw_bytes(format!("GET {path} HTTP/1.0\r\n{auth}\r\n"));
    assert!(head.starts_with("HTTP/1.0 200"), "{head}");
    assert!(
        !head.to_ascii_lowercase().contains("content-length"),
        "{head}"
    );
    assert!(head.contains("Connection: close"), "{head}");
    assert_eq!(&body[4..8], b"ftyp", "an MP4 streamed to the end");
    assert!(body.len() > 1000);
    let (head, _) = raw_bytes(format!(
        "GET {path} HTTP/1.1\r\nHost: x\r\n{auth}TE: identity\r\nConnection: close\r\n\r\n"
    ));
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("Transfer-Encoding: chunked"), "{head}");
}
