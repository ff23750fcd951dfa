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

/// The page's file at `path` (one of [`super::path::PAGES`]).
pub fn get(path: &str) -> Result<super::Reply, super::HttpError> {
    let (_, kind, body) = FILES
        .iter()
        .find(|(p, _, _)| *p == path)
        .ok_or_else(|| super::HttpError::NotFound(super::not_found_text(path)))?;
    Ok(super::Reply::Bytes {
        content_type: kind,
        headers: vec![
            (
                "Content-Security-Policy",
                "default-src 'self'; img-src 'self'; media-src 'self'; object-src 'none'; \
                 frame-ancestors 'none'"
                    .into(),
            ),
            ("X-Content-Type-Options", "nosniff".into()),
            ("Cache-Control", "no-cache".into()),
        ],
        body: body.as_bytes().to_vec(),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_page_route_has_its_file() {
        for page in super::super::path::PAGES {
            assert!(super::FILES.iter().any(|(p, _, _)| *p == page), "{page}");
        }
        assert_eq!(super::FILES.len(), super::super::path::PAGES.len());
    }
}
