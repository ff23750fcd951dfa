//! `nvr user` and `nvr token` as an administrator runs them: passwords from standard input
//! (never an argument), stored hashed and 0600, tokens shown once and revocable.

mod common;
use common::*;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output};

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}

#[test]
fn users_and_tokens_are_managed_from_the_command_line_and_stored_hashed() {
    let dir = TempDir::new("accounts");
    let auth = dir.path().join("state/auth");
    let config = dir.path().join("nvr.toml");
    std::fs::write(
        &config,
        format!(
            "[storage]\npath = {:?}\n[http]\nauth_dir = {:?}\n",
            dir.path().join("rec").display().to_string(),
            auth.display().to_string()
        ),
    )
    .unwrap();
    let accounts = nvr::auth::Accounts::new(&auth);

    // A password with `%` and non-ASCII, from standard input.
    let pw = "Grüße 100% sicher";
    let o = nvr_with_input(&config, &["user", "add", "ann"], &format!("{pw}\n"));
    assert!(o.status.success(), "{}", text(&o));
    assert!(!text(&o).contains(pw));
    let users = auth.join("users");
    let mode = std::fs::metadata(&users).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let stored = std::fs::read_to_string(&users).unwrap();
    assert!(stored.starts_with("ann:$argon2id$") && !stored.contains(pw));
    assert!(accounts.login("ann", pw).unwrap());

    // Refused: too short, an existing name, a bad name. Nothing is echoed.
    let o = nvr_with_input(&config, &["user", "add", "bob"], "short\n");
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("at least 8 characters") && !text(&o).contains("short\n"));
    let o = nvr_with_input(&config, &["user", "add", "ann"], "long enough\n");
    assert!(text(&o).contains("\"ann\" already exists"), "{}", text(&o));
    let o = nvr_with_input(&config, &["user", "add", "Bad Name"], "long enough\n");
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("is not a name"), "{}", text(&o));

    let o = nvr_with_input(&config, &["user", "passwd", "ann"], "another long one\n");
    assert!(o.status.success(), "{}", text(&o));
    assert!(!accounts.login("ann", pw).unwrap());
    assert!(accounts.login("ann", "another long one").unwrap());
    let o = nvr_with_input(&config, &["user", "list"], "");
    assert_eq!(String::from_utf8_lossy(&o.stdout), "ann\n");

    // A token is printed once, on standard output, and never again.
    let o = nvr_with_input(&config, &["token", "add", "home-assistant"], "");
    assert!(o.status.success(), "{}", text(&o));
    let token = String::from_utf8_lossy(&o.stdout).trim().to_string();
    assert_eq!(token.len(), 64);
    assert!(
        !std::fs::read_to_string(auth.join("tokens"))
            .unwrap()
            .contains(&token)
    );
    assert_eq!(
        accounts.token_name(&token).unwrap().as_deref(),
        Some("home-assistant")
    );
    let o = nvr_with_input(&config, &["token", "list"], "");
    let listed = text(&o);
    assert!(listed.starts_with("home-assistant\tmade "), "{listed}");
    assert!(!listed.contains(&token));
    let o = nvr_with_input(&config, &["token", "revoke", "home-assistant"], "");
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(accounts.token_name(&token).unwrap(), None);

    let o = nvr_with_input(&config, &["user", "remove", "ann"], "");
    assert!(o.status.success());
    assert!(accounts.users().unwrap().is_empty());
    let o = nvr_with_input(&config, &["user", "remove", "ann"], "");
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("no user \"ann\""));
}

#[test]
fn a_configuration_error_is_reported_and_nothing_is_written() {
    let dir = TempDir::new("accounts-bad-config");
    let config = dir.path().join("nvr.toml");
    std::fs::write(&config, "[http]\nauth_dir = 7\n").unwrap();
    let o = nvr_with_input(&config, &["user", "add", "ann"], "long enough\n");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("nvr.toml:2"), "{}", text(&o));
}

/// `nvr check` says when nobody can log in yet, and warns loudly when logins are off.
#[test]
fn nvr_check_says_how_to_log_in_and_warns_when_auth_is_off() {
    let dir = TempDir::new("accounts-check");
    let config = dir.path().join("nvr.toml");
    let base = format!(
        "[storage]\npath = {:?}\n[http]\nauth_dir = {:?}\n",
        dir.path().join("rec").display().to_string(),
        dir.path().join("auth").display().to_string()
    );
    std::fs::write(&config, &base).unwrap();
    let check = || {
        let o = Command::new(NVR)
            .arg("check")
            .arg(&config)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o));
        text(&o)
    };
    assert!(check().contains("no user yet: create one with `nvr user add NAME`"));
    assert!(
        nvr_with_input(&config, &["user", "add", "ann"], "long enough\n")
            .status
            .success()
    );
    assert!(!check().contains("no user yet"));
    std::fs::write(&config, format!("{base}auth = \"off\"\n")).unwrap();
    let out = check();
    assert!(
        out.contains("warning: http.auth = \"off\": anyone who can reach 0.0.0.0:8080 sees"),
        "{out}"
    );
}
