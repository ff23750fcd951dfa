//! Handlers over an in-memory connection: no socket, the same code as the server runs.

use super::conn::{Memory, Method};
use super::path::Route;
use crate::board::Board;
use crate::camera::Shared;
use std::sync::Arc;

struct Store(std::path::PathBuf, Board);

fn store(name: &str) -> Store {
    let root = std::env::temp_dir().join(format!("nvr-http-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let shared = Shared::for_test(&root, Arc::new(crate::time::RealClock));
    Store(root, Board::new(Arc::new(shared)))
}

impl Drop for Store {
    fn drop(&mut self) {
        self.1.shared.writer.flush();
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn ask(board: &Board, method: Method, uri: &str) -> Memory {
    super::handle(Memory::new(method, uri), board).expect("answered on the routing thread")
}

#[test]
fn every_route_refuses_other_methods_and_unknown_paths_are_404() {
    let s = store("methods");
    for (path, _) in Route::TABLE {
        for method in [Method::Post, Method::Put, Method::Delete, Method::Unlink] {
            let m = ask(&s.1, method, path);
            assert_eq!(m.status, Some(405), "{method:?} {path}");
            assert_eq!(m.header_out("Allow"), Some("GET, HEAD"), "{path}");
            assert_eq!(m.json()["error"], "method not allowed");
        }
    }
    let long = format!("/{}", "x".repeat(10_000));
    let m = ask(&s.1, Method::Get, &long);
    assert_eq!(m.status, Some(404));
    assert!(m.out.len() < 300, "the body does not echo a long path");
}

#[test]
fn handlers_answer_typed_replies_and_errors() {
    let s = store("replies");
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
