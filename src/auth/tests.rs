use super::*;

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let p = std::env::temp_dir().join(format!("nvr-auth-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        Dir(p)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn users_are_stored_hashed_0600_and_checked() {
    use std::os::unix::fs::PermissionsExt;
    let d = Dir::new("users");
    let a = Accounts::new(&d.0.join("auth"));
    assert!(a.users().unwrap().is_empty(), "no default user");
    a.add_user("ann", "correct horse").unwrap();
    let file = std::fs::read_to_string(d.0.join("auth/users")).unwrap();
    assert!(!file.contains("correct horse"));
    assert!(
        file.starts_with("ann:$argon2id$v=19$m=19456,t=2,p=1$"),
        "{file}"
    );
    let mode = std::fs::metadata(d.0.join("auth/users"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(a.login("ann", "correct horse").unwrap());
    assert!(!a.login("ann", "correct horsf").unwrap());
    assert!(!a.login("bob", "correct horse").unwrap());
    assert!(matches!(
        a.add_user("ann", "another one"),
        Err(AuthError::Exists(_))
    ));
    a.set_password("ann", "battery staple").unwrap();
    assert!(!a.login("ann", "correct horse").unwrap());
    assert!(a.login("ann", "battery staple").unwrap());
    a.add_user("door401", "12345678").unwrap();
    assert_eq!(a.users().unwrap(), ["ann", "door401"]);
    a.remove_user("ann").unwrap();
    assert_eq!(a.users().unwrap(), ["door401"]);
    assert!(matches!(
        a.remove_user("ann"),
        Err(AuthError::NoSuchUser(_))
    ));
}

#[test]
fn names_and_passwords_are_checked_and_never_echoed_whole() {
    let d = Dir::new("names");
    let a = Accounts::new(&d.0);
    for bad in ["", "Ann", "a:b", "-x", "ü", &"x".repeat(33), "a b"] {
        assert!(
            matches!(a.add_user(bad, "long enough"), Err(AuthError::BadName(_))),
            "{bad:?}"
        );
    }
    for bad in ["short", "two\nlines!"] {
        let e = a.add_user("ann", bad).unwrap_err().to_string();
        assert!(e.starts_with("password refused"), "{e}");
        assert!(!e.contains(bad), "{e}");
    }
    // Non-ASCII and `%` are fine in a password.
    a.add_user("ann", "pässwörd%41").unwrap();
    assert!(a.login("ann", "pässwörd%41").unwrap());
}

#[test]
fn tokens_are_shown_once_stored_hashed_and_revocable() {
    let d = Dir::new("tokens");
    let a = Accounts::new(&d.0);
    let t = a.add_token("home-assistant", 1_800_000_000).unwrap();
    assert_eq!(t.len(), 64);
    let file = std::fs::read_to_string(d.0.join("tokens")).unwrap();
    assert!(!file.contains(&t));
    assert_eq!(a.token_name(&t).unwrap().as_deref(), Some("home-assistant"));
    assert_eq!(a.token_name(&t[1..]).unwrap(), None);
    assert_eq!(
        a.tokens().unwrap(),
        [TokenInfo {
            name: "home-assistant".into(),
            created_unix_s: 1_800_000_000
        }]
    );
    a.revoke_token("home-assistant").unwrap();
    assert_eq!(a.token_name(&t).unwrap(), None);
    assert!(matches!(
        a.revoke_token("home-assistant"),
        Err(AuthError::NoSuchToken(_))
    ));
}

#[test]
fn a_line_nvr_did_not_write_is_an_error_naming_the_line() {
    let d = Dir::new("corrupt");
    std::fs::create_dir_all(&d.0).unwrap();
    std::fs::write(d.0.join("users"), "ann:$argon2id$x\nnonsense\n").unwrap();
    let e = Accounts::new(&d.0).users().unwrap_err().to_string();
    assert!(
        e.ends_with("users:2: not a line nvr writes (fix or remove it)"),
        "{e}"
    );
}

#[test]
fn sessions_are_stored_hashed_expire_and_end_with_logout_passwd_and_removal() {
    let d = Dir::new("sessions");
    let a = Accounts::new(&d.0.join("auth"));
    a.add_user("ann", "correct horse").unwrap();
    a.add_user("bob", "battery staple").unwrap();
    let now = 2_000_000_000;
    let s1 = a.new_session("ann", now).unwrap();
    let s2 = a.new_session("ann", now).unwrap();
    let s3 = a.new_session("bob", now).unwrap();
    assert_ne!(s1, s2);
    let file = std::fs::read_to_string(d.0.join("auth/sessions")).unwrap();
    assert!(
        !file.contains(&s1) && file.contains(&secret_hash(&s1)),
        "{file}"
    );
    assert_eq!(
        a.session_user(&s1, now + 1).unwrap().as_deref(),
        Some("ann")
    );
    assert_eq!(
        a.session_user(&s3, now + 1).unwrap().as_deref(),
        Some("bob")
    );
    assert_eq!(a.session_user("nonsense", now).unwrap(), None);
    // Thirty days later it is over.
    assert_eq!(a.session_user(&s1, now + SESSION_SECONDS).unwrap(), None);
    a.end_session(&s1).unwrap();
    assert_eq!(a.session_user(&s1, now + 1).unwrap(), None);
    assert_eq!(
        a.session_user(&s2, now + 1).unwrap().as_deref(),
        Some("ann")
    );
    a.set_password("ann", "a new password").unwrap();
    assert_eq!(
        a.session_user(&s2, now + 1).unwrap(),
        None,
        "logged out everywhere"
    );
    assert!(a.session_user(&s3, now + 1).unwrap().is_some(), "bob stays");
    a.remove_user("bob").unwrap();
    assert_eq!(a.session_user(&s3, now + 1).unwrap(), None);
}

#[test]
fn sessions_are_bounded_and_expired_ones_are_dropped_at_the_next_login() {
    let d = Dir::new("sessions-bound");
    let a = Accounts::new(&d.0.join("auth"));
    a.add_user("ann", "correct horse").unwrap();
    let first = a.new_session("ann", 1000).unwrap();
    for i in 0..MAX_SESSIONS + 5 {
        a.new_session("ann", 2000 + i as u64).unwrap();
    }
    let lines = std::fs::read_to_string(d.0.join("auth/sessions"))
        .unwrap()
        .lines()
        .count();
    assert_eq!(lines, MAX_SESSIONS);
    assert_eq!(
        a.session_user(&first, 3000).unwrap(),
        None,
        "the oldest went first"
    );
    let later = 2000 + 10 * SESSION_SECONDS;
    a.new_session("ann", later).unwrap();
    let lines = std::fs::read_to_string(d.0.join("auth/sessions"))
        .unwrap()
        .lines()
        .count();
    assert_eq!(lines, 1, "expired sessions are not kept");
}
