//! What the fuzz targets (`fuzz/`) and the corpus replay (`tests/fuzz_corpus.rs`) check, for
//! every input: no panic, no allocation out of proportion to the input, and the invariants
//! below. Test code: only with the `fixtures` feature, never in the product.

use std::path::Path;

/// A configuration file's text: parsed or refused, every error naming the file; a camera
/// URL never keeps its credentials (an `@` in the host part; one in the path is the path's).
pub fn config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match crate::config::Config::parse(&text, Some(Path::new("nvr.toml"))) {
        Ok(c) => {
            for cam in &c.cameras {
                let after = cam.url.split_once("://").map_or("", |(_, a)| a);
                let authority = after.split('/').next().unwrap_or("");
                assert!(!authority.contains('@'), "credentials kept in {}", cam.name);
            }
        }
        Err(errors) => {
            assert!(!errors.is_empty());
            for e in errors {
                assert!(e.to_string().starts_with("nvr.toml"), "{e}");
            }
        }
    }
}

/// A request target: routed or not; a route's camera name is one path segment; query values
/// parse as times or are refused.
pub fn http_target(data: &[u8]) {
    use crate::http::path::Route;
    let uri = String::from_utf8_lossy(data);
    let (path, query) = uri.split_once('?').unwrap_or((&uri, ""));
    if let Some(
        Route::Segments(c)
        | Route::Coverage(c)
        | Route::Export(c)
        | Route::Preview { camera: c, .. },
    ) = Route::parse(path)
    {
        assert!(!c.is_empty() && !c.contains('/'), "{c:?}");
    }
    for key in ["from", "to", "day", "camera", "thumb"] {
        if let Some(v) = crate::http::query_param(query, key) {
            let _ = crate::time::parse_time(&v);
        }
    }
}

/// The body of a `moov` box (or any bytes): walked and read as sample tables.
pub fn mp4(data: &[u8]) {
    use crate::storage::{mp4, samples};
    // Sample entries become GStreamer caps.
    gst::init().expect("GStreamer");
    let mut walked = 0;
    for (_, body) in mp4::children(data) {
        walked += body.len();
    }
    assert!(walked <= data.len());
    let _ = mp4::mvhd(data);
    if let Ok(m) = samples::movie(data) {
        assert!(m.video.samples.len() <= samples::MAX_SAMPLES);
    }
}
