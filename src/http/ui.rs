//! `GET /` and `GET /ui/*`: the web page (`ui/index.html`, `app.js`, `app.css`), compiled in.
//! It reads only the JSON API; nothing here touches recordings. Served with a strict content
//! security policy: the page loads nothing but its own files and the API.

/// The page's files: (path, content type, body).
const FILES: &[(&str, &str, &str)] = &[
    (
        "/",
        "text/html; charset=utf-8",
        include_str!("ui/index.html"),
    ),
    (
        "/ui/app.js",
        "text/javascript; charset=utf-8",
        include_str!("ui/app.js"),
    ),
    (
        "/ui/app.css",
        "text/css; charset=utf-8",
        include_str!("ui/app.css"),
    ),
];

/// The file at `path`, if it is one of the page's.
pub fn get(path: &str) -> Option<super::Response> {
    let path = if path == "/index.html" { "/" } else { path };
    let (_, kind, body) = FILES.iter().find(|(p, _, _)| *p == path)?;
    let header = |k: &str, v: &str| tiny_http::Header::from_bytes(k, v).expect("header");
    Some(
        tiny_http::Response::from_data(body.as_bytes().to_vec())
            .with_header(header("Content-Type", kind))
            .with_header(header(
                "Content-Security-Policy",
                "default-src 'self'; img-src 'self'; media-src 'self'; object-src 'none'; \
                 frame-ancestors 'none'",
            ))
            .with_header(header("X-Content-Type-Options", "nosniff"))
            .with_header(header("Cache-Control", "no-cache")),
    )
}
