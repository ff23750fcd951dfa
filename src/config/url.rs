//! Camera URLs: validated, and split so credentials never travel inside a URL string.

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
        let shown = redact_url(s);
        let (scheme, after) = s
            .split_once("://")
            .ok_or_else(|| format!("{shown:?} is not a URL (expected rtsp://host/path)"))?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "rtsp" && scheme != "rtsps" {
            return Err(format!(
                "{shown:?}: scheme must be rtsp:// or rtsps://, not {scheme}://"
            ));
        }
        let authority_end = after.find('/').unwrap_or(after.len());
        let (userinfo, rest) = match after[..authority_end].rfind('@') {
            Some(at) => (Some(&after[..at]), &after[at + 1..]),
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
            && port.parse::<u16>().is_err()
        {
            return Err(format!("{shown:?}: port {port:?} is not a number 1-65535"));
        }
        let (username, password) = match userinfo {
            None => (None, None),
            Some(ui) => match ui.split_once(':') {
                Some((u, p)) => (Some(percent_decode(u)), Some(percent_decode(p))),
                None => (Some(percent_decode(ui)), None),
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

/// Replaces any password in a URL-like string with `***` (for messages about bad URLs).
pub fn redact_url(s: &str) -> String {
    let Some((scheme, after)) = s.split_once("://") else {
        return s.to_string();
    };
    let authority_end = after.find('/').unwrap_or(after.len());
    match after[..authority_end].rfind('@') {
        Some(at) => {
            let user = after[..at].split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{}", &after[at + 1..])
        }
        None => s.to_string(),
    }
}

/// `%XX` decoding; everything else (including `+`) is kept as it is.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
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
    }

    #[test]
    fn rejects_other_schemes_and_bad_ports() {
        assert!(
            RtspUrl::parse("http://cam/x")
                .unwrap_err()
                .contains("scheme")
        );
        assert!(
            RtspUrl::parse("rtsp://cam:99999/x")
                .unwrap_err()
                .contains("port")
        );
        assert!(RtspUrl::parse("rtsp:///x").unwrap_err().contains("no host"));
        assert!(RtspUrl::parse("cam/x").unwrap_err().contains("not a URL"));
    }

    #[test]
    fn redaction_hides_the_password_only() {
        assert_eq!(
            redact_url("rtsp://admin:hunter2@cam/x"),
            "rtsp://admin:***@cam/x"
        );
        assert!(
            !RtspUrl::parse("ftp://admin:hunter2@cam/x")
                .unwrap_err()
                .contains("hunter2")
        );
    }
}
