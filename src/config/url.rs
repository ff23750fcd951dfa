//! Camera URLs: validated, and split so credentials never travel inside a URL string.
//!
//! Every message about a URL shows it through [`redact_url`]: users type passwords into URLs,
//! with `/`, `@`, `%` and non-ASCII characters in them, and an error must never echo one.

/// `rtsp[s]://[user[:pass]@]host[:port][/path]`, with the user info taken apart.
#[derive(Debug, Clone, PartialEq)]
pub struct RtspUrl {
    scheme: String,
    /// `host[:port]/path?query`: everything after the user info.
    rest: String,
    pub username: Option<String>,
    pub password: Option<String>,
}

impl RtspUrl {
    pub fn parse(s: &str) -> Result<RtspUrl, String> {
        let shown = super::shorten(&redact_url(s));
        let (scheme, after) = split_scheme(s)
            .ok_or_else(|| format!("{shown:?} is not a URL (expected rtsp://host/path)"))?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "rtsp" && scheme != "rtsps" {
            return Err(format!(
                "{shown:?}: scheme must be rtsp:// or rtsps://, not {}://",
                super::shorten(&scheme)
            ));
        }
        let authority_end = after.find('/').unwrap_or(after.len());
        let (userinfo, rest) = match after[..authority_end].rfind('@') {
            Some(at) => (Some(&after[..at]), &after[at + 1..]),
            None if after[authority_end..].contains('@') => {
                // `user:pa/ss@host`: the '/' ended the authority early. Guessing where the
                // password ends could send it to the wrong host; say how to write it instead.
                return Err(format!(
                    "{shown:?}: a '/' before the '@' ends the host part; write a '/' in the \
                     user name or password as %2F (or use the username/password keys)"
                ));
            }
            None => (None, after),
        };
        let host_end = rest.find('/').unwrap_or(rest.len());
        let host = &rest[..host_end];
        if host.is_empty() || host.starts_with(':') {
            return Err(format!("{shown:?} has no host"));
        }
        if host.chars().any(char::is_whitespace) {
            return Err(format!("{shown:?}: the host contains white space"));
        }
        if let Some((_, port)) = host.rsplit_once(':').filter(|_| !host.ends_with(']'))
            && !matches!(port.parse::<u16>(), Ok(1..))
        {
            return Err(format!(
                "{shown:?}: port {:?} is not a number 1-65535",
                super::shorten(port)
            ));
        }
        let decode = |part: &str, what: &str| {
            percent_decode(part).map_err(|why| format!("{shown:?}: the {what} {why}"))
        };
        let (username, password) = match userinfo {
            None => (None, None),
            Some(ui) => match ui.split_once(':') {
                Some((u, p)) => (Some(decode(u, "user name")?), Some(decode(p, "password")?)),
                None => (Some(decode(ui, "user name")?), None),
            },
        };
        Ok(RtspUrl {
            scheme,
            rest: rest.to_string(),
            username: username.filter(|u| !u.is_empty()),
            password,
        })
    }

    pub fn without_credentials(&self) -> String {
        format!("{}://{}", self.scheme, self.rest)
    }
}

/// `(host, port)` of a URL without user info (`rtsp://host[:port]/...`); IPv6 hosts without
/// their brackets. RTSP's default port is 554, RTSPS's 322.
pub fn host_port(url: &str) -> Option<(String, u16)> {
    let (scheme, after) = url.split_once("://")?;
    let default = if scheme.eq_ignore_ascii_case("rtsps") {
        322
    } else {
        554
    };
    let authority = &after[..after.find('/').unwrap_or(after.len())];
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(v6) = authority.strip_prefix('[') {
        let (host, tail) = v6.split_once(']')?;
        let port = match tail.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None => default,
        };
        return Some((host.to_string(), port));
    }
    match authority.rsplit_once(':') {
        Some((h, p)) => Some((h.to_string(), p.parse().ok()?)),
        None => Some((authority.to_string(), default)),
    }
}

/// Replaces the user info's password in a URL-like string with `***` (for messages about bad
/// URLs). Errs on the side of hiding: everything up to the last `@` is user info, even past
/// a `/` (a password may hold one), and a string without `://` is treated the same way.
pub fn redact_url(s: &str) -> String {
    let (scheme, after) = match split_scheme(s) {
        Some((scheme, after)) => (format!("{scheme}://"), after),
        None => (String::new(), s),
    };
    match after.rfind('@') {
        Some(at) => {
            let user = after[..at].split([':', '/']).next().unwrap_or("");
            format!("{scheme}{user}:***@{}", &after[at + 1..])
        }
        None => s.to_string(),
    }
}

/// `(scheme, rest)` of `scheme://rest`, if what precedes `://` can be a scheme (RFC 3986:
/// a letter, then letters, digits, `+`, `-`, `.`). Otherwise (`user:pw@host://…`) there is
/// none, and the whole string may hold user info.
fn split_scheme(s: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = s.split_once("://")?;
    let mut chars = scheme.chars();
    (chars.next()?.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then_some((scheme, rest))
}

/// Strict `%XX` decoding of URL user info (`+` stays `+`). A `%` not followed by two hex
/// digits is an error, not kept as it is: a user who wrote `50%off` as a password would
/// otherwise be rejected by the camera with no hint why.
pub fn percent_decode(s: &str) -> Result<String, &'static str> {
    let b = s.as_bytes();
    for (i, _) in s.match_indices('%') {
        if !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
            && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
        {
            return Err("has a '%' that is not followed by two hex digits (write a '%' as %25)");
        }
    }
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| "is not UTF-8 once its %-escapes are decoded")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_credentials_out() {
        let u = RtspUrl::parse("rtsp://admin:p%40ss@192.0.2.10:554/Streaming/101").unwrap();
        assert_eq!(u.username.as_deref(), Some("admin"));
        assert_eq!(u.password.as_deref(), Some("p@ss"));
        assert_eq!(
            u.without_credentials(),
            "rtsp://192.0.2.10:554/Streaming/101"
        );
        let u = RtspUrl::parse("rtsp://admin:%C3%BCber%25@cam/x").unwrap();
        assert_eq!(u.password.as_deref(), Some("über%"));
        assert_eq!(
            host_port(&u.without_credentials()),
            Some(("cam".into(), 554))
        );
    }

    #[test]
    fn rejects_other_schemes_and_bad_ports() {
        assert!(
            RtspUrl::parse("http://cam/x")
                .unwrap_err()
                .contains("scheme")
        );
        for bad in ["rtsp://cam:99999/x", "rtsp://cam:0/x", "rtsp://cam:/x"] {
            assert!(RtspUrl::parse(bad).unwrap_err().contains("port"), "{bad}");
        }
        assert!(RtspUrl::parse("rtsp:///x").unwrap_err().contains("no host"));
        assert!(RtspUrl::parse("cam/x").unwrap_err().contains("not a URL"));
    }

    #[test]
    fn invalid_escapes_and_non_ascii_are_errors_without_the_password() {
        for bad in [
            "rtsp://admin:x%1ü@host/cam",
            "rtsp://admin:50%@host/cam",
            "rtsp://admin:a%zzb@host/cam",
            "rtsp://admin:ab%4@host/cam",
            "rtsp://admin:%FF%FE@host/cam",
        ] {
            let e = RtspUrl::parse(bad).unwrap_err();
            assert!(e.contains("password"), "{bad}: {e}");
            let pw = bad.split(':').nth(2).unwrap().split('@').next().unwrap();
            assert!(!e.contains(pw), "{bad}: {e}");
        }
        // A literal non-ASCII password is fine.
        let u = RtspUrl::parse("rtsp://admin:grün@host/cam").unwrap();
        assert_eq!(u.password.as_deref(), Some("grün"));
    }

    #[test]
    fn redaction_hides_the_password_only() {
        assert_eq!(
            redact_url("rtsp://admin:hunter2@cam/x"),
            "rtsp://admin:***@cam/x"
        );
        assert_eq!(
            redact_url("admin:hunter2@192.168.1.64/cam"),
            "admin:***@192.168.1.64/cam"
        );
        assert_eq!(
            redact_url("rtsp://admin:Pa$$w0rd/x@host/cam"),
            "rtsp://admin:***@host/cam"
        );
        for url in [
            "ftp://admin:hunter2@cam/x",
            "admin:hunter2@192.168.1.64/cam",
            "rtsp://admin:hunter2/x@host/cam",
            // Found by the property test: no scheme, "://" after the user info.
            "admin:hunter2@:///",
        ] {
            let e = RtspUrl::parse(url).unwrap_err();
            assert!(!e.contains("hunter2@") && !e.contains(":hunter2"), "{e}");
        }
    }

    #[test]
    fn host_and_port() {
        assert_eq!(host_port("rtsp://cam:8554/x"), Some(("cam".into(), 8554)));
        assert_eq!(host_port("rtsps://cam/x"), Some(("cam".into(), 322)));
        assert_eq!(host_port("rtsp://[::1]:99/x"), Some(("::1".into(), 99)));
        assert_eq!(
            host_port("rtsp://[fe80::1]/x"),
            Some(("fe80::1".into(), 554))
        );
    }
}
