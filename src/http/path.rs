//! Every resource of the HTTP server as a typed route, parsed from the request path in one
//! place (Moonfire's `web/path.rs`). A handler gets its route's fields, never the raw path;
//! [`Route::TABLE`] lists one example of each, so a test can request every route there is.

use super::conn::Method;

/// A request path that names a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// The web page's files: `/` (also `/index.html`), `/ui/app.js`, `/ui/app.css`.
    Page(&'static str),
    /// `/status`: health of the recorder, its cameras and storage.
    Status,
    /// `/api/events`: closed motion events.
    Events,
    /// `/api/events/ID/snapshot.jpg`: the frame at an event's peak.
    EventSnapshot(u64),
    /// `/api/events/live`: what cameras publish, as it happens (server-sent events).
    LiveEvents,
    /// `/api/cameras`: cameras and their recordings.
    Cameras,
    /// `/api/cameras/NAME/segments`: a camera's recorded segments.
    Segments(String),
    /// `/api/cameras/NAME/coverage`: seconds recorded vs expected on a day, and the gaps.
    Coverage(String),
    /// `/api/cameras/NAME/preview/DAY/FILE.jpg`: a segment's first keyframe as JPEG.
    Preview {
        camera: String,
        day: String,
        file: String,
    },
    /// `/api/cameras/NAME/export.mp4`: one MP4 of a range.
    Export(String),
    /// `/api/session`: who is logged in, and whether logins are needed.
    Session,
    /// `POST /api/login`: `{"user", "password"}` in, a session cookie out.
    Login,
    /// `POST /api/logout`: ends the session.
    Logout,
}

/// The web page's files (paths as served).
pub const PAGES: [&str; 3] = ["/", "/ui/app.js", "/ui/app.css"];

impl Route {
    /// One example path per route (every variant, every page), with whether the route shows
    /// footage or what was recorded.
    pub const TABLE: &'static [(&'static str, bool)] = &[
        ("/", false),
        ("/ui/app.js", false),
        ("/ui/app.css", false),
        ("/status", false),
        ("/api/events", true),
        ("/api/events/1/snapshot.jpg", true),
        ("/api/events/live", true),
        ("/api/cameras", true),
        ("/api/cameras/cam/segments", true),
        ("/api/cameras/cam/coverage", true),
        (
            "/api/cameras/cam/preview/2026-01-01/00-00-00+0000.jpg",
            true,
        ),
        ("/api/cameras/cam/export.mp4", true),
        ("/api/session", false),
        ("/api/login", false),
        ("/api/logout", false),
    ];

    /// The route a path (without its query) names, if any.
    pub fn parse(path: &str) -> Option<Route> {
        let path = if path == "/index.html" { "/" } else { path };
        if let Some(page) = PAGES.iter().find(|p| **p == path) {
            return Some(Route::Page(page));
        }
        match path {
            "/status" => return Some(Route::Status),
            "/api/events" => return Some(Route::Events),
            "/api/events/live" => return Some(Route::LiveEvents),
            "/api/session" => return Some(Route::Session),
            "/api/login" => return Some(Route::Login),
            "/api/logout" => return Some(Route::Logout),
            _ => {}
        }
        if let Some(rest) = path.strip_prefix("/api/events/") {
            let id = rest.strip_suffix("/snapshot.jpg")?;
            return id.parse().ok().map(Route::EventSnapshot);
        }
        let rest = path.strip_prefix("/api/cameras")?;
        let rest = match rest {
            "" | "/" => return Some(Route::Cameras),
            r => r.strip_prefix('/')?,
        };
        let parts: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
        let name = |c: &str| (!c.is_empty()).then(|| c.to_string());
        Some(match parts.as_slice() {
            [camera, "segments"] => Route::Segments(name(camera)?),
            [camera, "coverage"] => Route::Coverage(name(camera)?),
            [camera, "export.mp4"] => Route::Export(name(camera)?),
            [camera, "preview", day, file] if !day.is_empty() && !file.is_empty() => {
                Route::Preview {
                    camera: name(camera)?,
                    day: day.to_string(),
                    file: file.to_string(),
                }
            }
            _ => return None,
        })
    }

    /// Whether the route shows footage or what was recorded (everything but the page's own
    /// files and the health summary).
    pub fn shows_footage(&self) -> bool {
        match self {
            Route::Page(_) | Route::Status | Route::Session | Route::Login | Route::Logout => false,
            Route::Events
            | Route::EventSnapshot(_)
            | Route::LiveEvents
            | Route::Cameras
            | Route::Segments(_)
            | Route::Coverage(_)
            | Route::Preview { .. }
            | Route::Export(_) => true,
        }
    }

    /// The methods the route answers: logging in and out change state (POST); everything
    /// else is read-only (HEAD is GET without the body).
    pub fn methods(&self) -> &'static [Method] {
        match self {
            Route::Login | Route::Logout => &[Method::Post],
            _ => &[Method::Get, Method::Head],
        }
    }

    /// The `Allow` header's value for [`Route::methods`].
    pub fn allow(&self) -> &'static str {
        match self.methods() {
            [Method::Post] => "POST",
            _ => "GET, HEAD",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_lists_every_route_once_and_says_what_shows_footage() {
        let routes: Vec<Route> = Route::TABLE
            .iter()
            .map(|(p, footage)| {
                let r = Route::parse(p).unwrap_or_else(|| panic!("{p} is not a route"));
                assert_eq!(r.shows_footage(), *footage, "{p}");
                r
            })
            .collect();
        // Every variant is in the table (the match fails to compile when one is added).
        for want in [
            Route::Page("/"),
            Route::Status,
            Route::Events,
            Route::EventSnapshot(1),
            Route::LiveEvents,
            Route::Cameras,
            Route::Segments("cam".into()),
            Route::Coverage("cam".into()),
            Route::Export("cam".into()),
            Route::Session,
            Route::Login,
            Route::Logout,
        ] {
            match &want {
                Route::Session | Route::Login | Route::Logout => {
                    assert!(routes.contains(&want), "{want:?}")
                }
                Route::Page(_)
                | Route::Status
                | Route::Events
                | Route::EventSnapshot(_)
                | Route::LiveEvents
                | Route::Cameras
                | Route::Segments(_)
                | Route::Coverage(_)
                | Route::Preview { .. }
                | Route::Export(_) => assert!(routes.contains(&want), "{want:?}"),
            }
        }
        assert!(routes.iter().any(|r| matches!(r, Route::Preview { .. })));
        for page in PAGES {
            assert!(routes.contains(&Route::Page(page)));
        }
    }

    #[test]
    fn parses_fields_and_refuses_what_is_not_a_route() {
        assert_eq!(Route::parse("/index.html"), Some(Route::Page("/")));
        assert_eq!(Route::parse("/api/cameras/"), Some(Route::Cameras));
        assert_eq!(
            Route::parse("/api/cameras/door401/preview/2026-03-29/01-30-00+0000.jpg"),
            Some(Route::Preview {
                camera: "door401".into(),
                day: "2026-03-29".into(),
                file: "01-30-00+0000.jpg".into()
            })
        );
        assert_eq!(
            Route::parse("/api/events/42/snapshot.jpg"),
            Some(Route::EventSnapshot(42))
        );
        for bad in [
            "",
            "/nothing",
            "/statusx",
            "/api/camerasx",
            "/api/cameras//segments",
            "/api/cameras/cam",
            "/api/cameras/cam/preview/day",
            "/api/events/x/snapshot.jpg",
            "/api/events/1",
            "/ui/other.js",
        ] {
            assert_eq!(Route::parse(bad), None, "{bad}");
        }
    }
}
