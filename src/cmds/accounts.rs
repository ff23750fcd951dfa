//! `nvr user add|list|passwd|remove NAME` and `nvr token add|list|revoke NAME`: the accounts
//! in `[http] auth_dir` (`auth`). Passwords come from the terminal (asked twice, not echoed)
//! or, when standard input is not a terminal, as one line from it; never from an argument,
//! which other users of the machine could see in the process list.

use crate::auth::{Accounts, AuthError};
use crate::cli::{TokenCommand, UserCommand};
use std::io::{BufRead, IsTerminal};
use std::path::Path;
use std::process::ExitCode;

fn accounts(config: &Path) -> Result<Accounts, ExitCode> {
    match crate::config::Config::load(config) {
        Ok(c) => Ok(Accounts::new(&c.http.auth_dir)),
        Err(errors) => {
            super::print_errors(&errors);
            Err(ExitCode::from(super::EXIT_CONFIG))
        }
    }
}

fn done(result: Result<(), AuthError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nvr: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The new password, from the terminal (twice) or one line of standard input.
fn new_password(name: &str) -> Result<String, String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("New password for {name}: "))
            .map_err(|e| e.to_string())?;
        let again = rpassword::prompt_password("Again: ").map_err(|e| e.to_string())?;
        if first != again {
            return Err("the two passwords differ; nothing changed".into());
        }
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        Ok(line.trim_end_matches(['\n', '\r']).to_string())
    }
}

pub fn user_main(command: &UserCommand) -> ExitCode {
    let config = match command {
        UserCommand::Add(a) | UserCommand::Passwd(a) | UserCommand::Remove(a) => &a.config,
        UserCommand::List(c) => c,
    };
    let accounts = match accounts(&config.config) {
        Ok(a) => a,
        Err(code) => return code,
    };
    let with_password =
        |name: &str, f: &dyn Fn(&str) -> Result<(), AuthError>| match new_password(name) {
            Ok(p) => done(f(&p)),
            Err(e) => {
                eprintln!("nvr: {e}");
                ExitCode::FAILURE
            }
        };
    match command {
        UserCommand::Add(a) => {
            let code = with_password(&a.name, &|p| accounts.add_user(&a.name, p));
            if code == ExitCode::SUCCESS {
                println!("user {} added in {}", a.name, accounts.dir().display());
            }
            code
        }
        UserCommand::Passwd(a) => with_password(&a.name, &|p| accounts.set_password(&a.name, p)),
        UserCommand::Remove(a) => done(accounts.remove_user(&a.name)),
        UserCommand::List(_) => match accounts.users() {
            Ok(users) => {
                for u in users {
                    println!("{u}");
                }
                ExitCode::SUCCESS
            }
            Err(e) => done(Err(e)),
        },
    }
}

pub fn token_main(command: &TokenCommand) -> ExitCode {
    let config = match command {
        TokenCommand::Add(a) | TokenCommand::Revoke(a) => &a.config,
        TokenCommand::List(c) => c,
    };
    let accounts = match accounts(&config.config) {
        Ok(a) => a,
        Err(code) => return code,
    };
    match command {
        TokenCommand::Add(a) => {
            let now = crate::time::unix_now_ns() / 1_000_000_000;
            match accounts.add_token(&a.name, now) {
                Ok(token) => {
                    // The only time it is shown: on standard output, for a script to take.
                    println!("{token}");
                    eprintln!(
                        "token {} made; use it as 'Authorization: Bearer <token>'. It is not \
                         shown again.",
                        a.name
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => done(Err(e)),
            }
        }
        TokenCommand::Revoke(a) => done(accounts.revoke_token(&a.name)),
        TokenCommand::List(_) => match accounts.tokens() {
            Ok(tokens) => {
                for t in tokens {
                    println!(
                        "{}\tmade {}",
                        t.name,
                        crate::time::rfc3339_utc_ns(t.created_unix_s * 1_000_000_000)
                    );
                }
                ExitCode::SUCCESS
            }
            Err(e) => done(Err(e)),
        },
    }
}
