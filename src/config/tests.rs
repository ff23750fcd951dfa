use super::*;

fn errors(text: &str) -> Vec<String> {
    Config::parse(text, Some(Path::new("nvr.toml")))
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn minimal_config_gets_defaults() {
    let c = Config::parse(
        "[[camera]]\nname = \"front\"\nurl = \"rtsp://cam/live\"\n",
        None,
    )
    .unwrap();
    assert_eq!(c.storage.segment_seconds, 60);
    assert_eq!(c.http.listen.to_string(), "0.0.0.0:8080");
    assert_eq!(c.cameras[0].segment_seconds, 60);
    assert!(c.cameras[0].enabled);
}

#[test]
fn per_camera_override_beats_global_default() {
    let c = Config::parse(
        "[storage]\nsegment_seconds = 30\n[[camera]]\nname = \"a\"\nurl = \"rtsp://a/\"\n\
         [[camera]]\nname = \"b\"\nurl = \"rtsp://b/\"\nsegment_seconds = 10\n",
        None,
    )
    .unwrap();
    assert_eq!(c.cameras[0].segment_seconds, 30);
    assert_eq!(c.cameras[1].segment_seconds, 10);
}

#[test]
fn bad_name_names_file_line_and_key() {
    let text = "[storage]\npath = \"/tmp\"\n\n[[camera]]\nname = \"a\"\nurl = \"rtsp://a/\"\n\n\
                [[camera]]\nname = \"front door\"\nurl = \"rtsp://b/\"\n";
    assert_eq!(
        errors(text),
        vec!["nvr.toml:9: camera[1].name: \"front door\" may only contain a-z 0-9 - _"]
    );
}

#[test]
fn duplicate_names_point_at_both() {
    let text = "[[camera]]\nname = \"a\"\nurl = \"rtsp://a/\"\n[[camera]]\nname = \"a\"\nurl = \"rtsp://b/\"\n";
    assert_eq!(
        errors(text),
        vec!["nvr.toml:5: camera[1].name: \"a\" is already used by camera[0] (line 2)"]
    );
}

#[test]
fn unknown_key_is_named_with_its_table() {
    let text = "[[camera]]\nname = \"a\"\nurl = \"rtsp://a/\"\nsegment_secs = 5\n";
    let e = errors(text);
    assert_eq!(e.len(), 1);
    assert!(
        e[0].starts_with("nvr.toml:4: camera[0].segment_secs: unknown field \"segment_secs\""),
        "{e:?}"
    );
}

#[test]
fn missing_url_and_bad_listen_are_reported_together() {
    let text = "[http]\nlisten = \"localhost\"\n[[camera]]\nname = \"a\"\n";
    let e = errors(text);
    assert_eq!(e.len(), 2, "{e:?}");
    assert!(e[0].starts_with("nvr.toml:2: http.listen: \"localhost\" is not an address:port"));
    assert!(
        e[1].starts_with("nvr.toml:3: camera[0].url: missing"),
        "{e:?}"
    );
}

#[test]
fn wrong_type_is_a_clear_error() {
    let e = errors("[storage]\nsegment_seconds = \"sixty\"\n");
    assert!(
        e[0].starts_with("nvr.toml:2: storage.segment_seconds: invalid type"),
        "{e:?}"
    );
}

#[test]
fn syntax_error_has_a_line() {
    let e = errors("[storage\npath = 1\n");
    assert!(e[0].starts_with("nvr.toml:1"), "{e:?}");
}

#[test]
fn password_never_appears_in_errors_or_debug() {
    let e = errors("[[camera]]\nname = \"a\"\nurl = \"http://admin:hunter2@cam/x\"\n");
    assert!(!e[0].contains("hunter2"), "{e:?}");
    let c = Config::parse(
        "[[camera]]\nname = \"a\"\nurl = \"rtsp://admin:hunter2@cam/x\"\n",
        None,
    )
    .unwrap();
    assert_eq!(c.cameras[0].url, "rtsp://cam/x");
    assert_eq!(c.cameras[0].password.as_ref().unwrap().expose(), "hunter2");
    assert!(!format!("{c:?}").contains("hunter2"));
}

#[test]
fn unwritable_storage_is_rejected_without_writing() {
    // A path below a regular file can never be created, even by root.
    let mut c = Config::parse("[storage]\npath = \"/etc/hostname/rec\"\n", None).unwrap();
    let e = c.check_environment().unwrap_err();
    assert_eq!(e[0].key, "storage.path");
    c.storage.path = std::env::temp_dir().join("nvr-not-created-by-check/x");
    c.check_environment().unwrap();
    assert!(!c.storage.path.exists());
}

#[test]
fn retention_limits_parse_with_units_and_per_camera_overrides() {
    let c = Config::parse(
        "[retention]\nmax_age_days = 30\nmotion_max_age_days = 90\nmax_bytes = \"200G\"\n\
         keep_free_bytes = \"5GB\"\n[[camera]]\nname = \"a\"\nurl = \"rtsp://a/\"\n\
         max_age_days = 7\nmax_bytes = 1000\n",
        None,
    )
    .unwrap();
    let day = std::time::Duration::from_secs(86_400);
    assert_eq!(c.retention.global.max_age, Some(30 * day));
    assert_eq!(c.retention.global.motion_max_age, Some(90 * day));
    assert_eq!(c.retention.global.max_bytes, Some(200 << 30));
    assert_eq!(c.retention.keep_free_bytes, Some(5_000_000_000));
    assert_eq!(c.retention.cameras["a"].max_age, Some(7 * day));
    assert_eq!(c.retention.cameras["a"].max_bytes, Some(1000));
    // Defaults: a 1 GiB free-space floor and nothing else.
    let d = Config::parse("", None).unwrap();
    assert_eq!(d.retention.keep_free_bytes, Some(1 << 30));
    assert_eq!(d.retention.global.max_age, None);
}

#[test]
fn bad_sizes_name_their_key() {
    let e = errors("[retention]\nmax_bytes = \"lots\"\n");
    assert!(
        e[0].starts_with("nvr.toml:2: retention.max_bytes: \"lots\" is not a size"),
        "{e:?}"
    );
    assert_eq!(parse_size("1.5T"), Some((1.5 * 1024f64.powi(4)) as u64));
    assert_eq!(parse_size("12 MB"), Some(12_000_000));
    assert_eq!(parse_size("-1G"), None);
}

#[test]
fn sub_url_takes_its_own_credentials_or_the_cameras() {
    let c = Config::parse(
        "[[camera]]\nname = \"a\"\nurl = \"rtsp://admin:main@cam/main\"\nmotion = true\n\
         sub_url = \"rtsp://cam/sub\"\n\
         [[camera]]\nname = \"b\"\nurl = \"rtsp://admin:main@cam2/main\"\nmotion = true\n\
         sub_url = \"rtsp://viewer:other@cam2/sub\"\nmotion_decoder = \"software\"\n",
        None,
    )
    .unwrap();
    let a = c.cameras[0].sub.as_ref().unwrap();
    assert_eq!(a.url, "rtsp://cam/sub");
    assert_eq!(a.username.as_deref(), Some("admin"));
    assert_eq!(a.password.as_ref().unwrap().expose(), "main");
    assert_eq!(c.cameras[0].motion_decoder, DecoderChoice::Auto);
    let b = c.cameras[1].sub.as_ref().unwrap();
    assert_eq!(b.url, "rtsp://cam2/sub");
    assert_eq!(b.username.as_deref(), Some("viewer"));
    assert_eq!(b.password.as_ref().unwrap().expose(), "other");
    assert_eq!(c.cameras[1].motion_decoder, DecoderChoice::Software);
}

#[test]
fn bad_sub_url_and_decoder_name_file_line_and_key() {
    let text = "[[camera]]\nname = \"a\"\nurl = \"rtsp://cam/main\"\n\
                sub_url = \"http://cam/sub\"\nmotion_decoder = \"v4l2 dec\"\n";
    let e = errors(text);
    assert_eq!(e.len(), 2, "{e:?}");
    assert!(e[0].starts_with("nvr.toml:4: camera[0].sub_url: "), "{e:?}");
    assert!(
        e[1].starts_with("nvr.toml:5: camera[0].motion_decoder: \"v4l2 dec\" is not"),
        "{e:?}"
    );
}

mod properties {
    //! No input may panic the config path, and no message may show a password.
    use super::*;
    use proptest::prelude::*;

    /// A TOML string literal holding `s` exactly.
    fn lit(s: &str) -> String {
        toml::Value::String(s.to_string()).to_string()
    }

    fn messages(text: &str) -> Vec<String> {
        match Config::parse(text, Some(Path::new("nvr.toml"))) {
            Ok(_) => Vec::new(),
            Err(e) => e.iter().map(ToString::to_string).collect(),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn any_text_is_an_error_or_a_config(text in "\\PC{0,200}") {
            let _ = messages(&text);
        }

        #[test]
        fn any_camera_url_is_judged_without_showing_its_password(
            pw in "Zq[^@]{0,12}",
            host in "\\PC{0,16}",
            path in "\\PC{0,16}",
            scheme in "(rtsp://|rtsps://|http://|)",
        ) {
            // The password's text may not be elsewhere in the URL, where a message may show it.
            prop_assume!(!host.contains(&pw) && !path.contains(&pw));
            let url = format!("{scheme}admin:{pw}@{host}/{path}");
            for text in [
                format!("[[camera]]\nname = \"a\"\nurl = {}\n", lit(&url)),
                format!("[[camera]]\nname = \"a\"\nurl = \"rtsp://h/x\"\nsub_url = {}\n", lit(&url)),
            ] {
                for m in messages(&text) {
                    prop_assert!(!m.contains(&pw), "{m}");
                }
            }
            // The password key: never echoed either, whatever its type.
            for value in [lit(&pw), "12345678".into(), format!("[{}]", lit(&pw))] {
                let text = format!(
                    "[[camera]]\nname = \"a\"\nurl = \"rtsp://h/x\"\npassword = {value}\n"
                );
                for m in messages(&text) {
                    prop_assert!(!m.contains(&pw) && !m.contains("12345678"), "{m}");
                }
            }
        }

        #[test]
        fn any_userinfo_decodes_or_errs(s in "\\PC{0,24}") {
            let _ = url::percent_decode(&s);
            let _ = RtspUrl::parse(&format!("rtsp://{s}@h/x"));
            let _ = RtspUrl::parse(&s);
        }
    }
}

#[test]
fn http_auth_policy_status_access_and_trusted_proxies() {
    let c = Config::parse("", None).unwrap();
    assert_eq!(c.http.auth, AuthPolicy::Required, "logins by default");
    assert_eq!(c.http.status, StatusAccess::Public);
    assert!(c.http.trusted_proxies.is_empty());
    let c = Config::parse(
        "[http]\nauth = \"off\"\nstatus = \"private\"\ntrusted_proxies = [\"127.0.0.1\", \"::1\"]\n",
        None,
    )
    .unwrap();
    assert_eq!(c.http.auth, AuthPolicy::Off);
    assert_eq!(c.http.status, StatusAccess::Private);
    assert_eq!(c.http.trusted_proxies.len(), 2);
    let e =
        errors("[http]\nauth = \"none\"\nstatus = \"open\"\ntrusted_proxies = [\"proxy.lan\"]\n");
    assert_eq!(e.len(), 3, "{e:?}");
    assert!(
        e[0].starts_with("nvr.toml:2: http.auth: \"none\" is not a policy"),
        "{e:?}"
    );
    assert!(
        e[1].starts_with("nvr.toml:3: http.status: \"open\" is not"),
        "{e:?}"
    );
    assert!(
        e[2].starts_with("nvr.toml:4: http.trusted_proxies: \"proxy.lan\" is not an IP"),
        "{e:?}"
    );
}
