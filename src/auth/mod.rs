//! Accounts: who may see footage. Users (argon2id password hashes) and API tokens (stored
//! hashed), in the auth folder (`[http] auth_dir`, `/var/lib/nvr/auth` on the appliance):
//!
//! ```text
//! users     one line per user:     NAME:$argon2id$v=19$m=19456,t=2,p=1$SALT$HASH
//! tokens    one line per token:    NAME:CREATED_UNIX_SECONDS:BLAKE2S_HEX
//! sessions  one line per login:    USER:EXPIRES_UNIX_SECONDS:BLAKE2S_HEX
//! ```
//!
//! All are 0600 and replaced atomically (temp file, fsync, rename). No password, token or
//! session id is ever stored, logged or shown again: a token is printed once, when it is made;
//! a session id lives in the browser's cookie. There is no default user: until one is made
//! (`nvr user add NAME`), nothing that shows footage is served.
//!
//! The files are read at each check, not cached: `nvr user remove` or `nvr token revoke` in
//! another process takes effect at the next request. Sessions are written only at login and
//! logout (the SD card sees no write per request).

pub mod throttle;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::path::{Path, PathBuf};

/// argon2id with 19 MiB, 2 passes, 1 lane: OWASP's minimum for argon2id. `bench/login.sh`
/// measures a login with them (24.8 ms on the 2-core x86 build machine; the target is
/// 100-250 ms on a Raspberry Pi 4, to be measured there).
const MEMORY_KIB: u32 = 19 * 1024;
const PASSES: u32 = 2;
const LANES: u32 = 1;

/// How long a login lasts.
pub const SESSION_SECONDS: u64 = 30 * 24 * 3600;

/// At most this many sessions are kept; a new login beyond it ends the one expiring first.
const MAX_SESSIONS: usize = 256;

/// The shortest password accepted.
pub const MIN_PASSWORD: usize = 8;

/// Why an account operation failed.
#[derive(Debug)]
pub enum AuthError {
    /// A user or token name that is not `a-z 0-9 - _` (1–32 characters).
    BadName(String),
    /// The password is too short (or empty, or has a line break).
    BadPassword(String),
    Exists(String),
    NoSuchUser(String),
    NoSuchToken(String),
    /// A line of the file that is not what nvr writes (its number).
    Corrupt {
        path: PathBuf,
        line: usize,
    },
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
}

impl std::fmt::Display for AuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthError::BadName(n) => write!(
                f,
                "{n:?} is not a name: use 1-32 of a-z 0-9 - _ (a letter or digit first)"
            ),
            AuthError::BadPassword(why) => write!(f, "password refused: {why}"),
            AuthError::Exists(n) => write!(f, "{n:?} already exists"),
            AuthError::NoSuchUser(n) => write!(f, "no user {n:?}"),
            AuthError::NoSuchToken(n) => write!(f, "no token {n:?}"),
            AuthError::Corrupt { path, line } => write!(
                f,
                "{}:{line}: not a line nvr writes (fix or remove it)",
                path.display()
            ),
            AuthError::Io { path, error } => write!(f, "{}: {error}", path.display()),
        }
    }
}

impl std::error::Error for AuthError {}

/// A token as listed: its name and when it was made; never the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub name: String,
    pub created_unix_s: u64,
}

/// The auth folder.
pub struct Accounts {
    dir: PathBuf,
}

fn check_name(name: &str) -> Result<(), AuthError> {
    let ok = (1..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && name.as_bytes()[0].is_ascii_alphanumeric();
    if ok {
        Ok(())
    } else {
        Err(AuthError::BadName(name.chars().take(40).collect()))
    }
}

fn check_password(password: &str) -> Result<(), AuthError> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(AuthError::BadPassword(format!(
            "at least {MIN_PASSWORD} characters"
        )));
    }
    if password.contains(['\n', '\r']) {
        return Err(AuthError::BadPassword("a line break".into()));
    }
    Ok(())
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The PHC string of `password` with a fresh random salt.
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with valid parameters")
        .to_string()
}

/// Whether `password` matches the PHC string (any parameters it was made with).
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| argon2().verify_password(password.as_bytes(), &h).is_ok())
        .unwrap_or(false)
}

/// 32 random bytes as 64 hex digits: a token or a session id.
pub fn random_secret() -> String {
    let mut b = [0u8; 32];
    OsRng.fill_bytes(&mut b);
    hex(&b)
}

/// The stored form of a random secret (token, session id): BLAKE2s-256, hex. A fast hash is
/// enough for 256 random bits; it keeps a stolen file from being a list of working tokens.
pub fn secret_hash(secret: &str) -> String {
    use blake2::Digest;
    hex(&blake2::Blake2s256::digest(secret.as_bytes()))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Equal without telling where the first difference is.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

impl Accounts {
    pub fn new(dir: &Path) -> Accounts {
        Accounts {
            dir: dir.to_path_buf(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn users_file(&self) -> PathBuf {
        self.dir.join("users")
    }

    fn tokens_file(&self) -> PathBuf {
        self.dir.join("tokens")
    }

    fn sessions_file(&self) -> PathBuf {
        self.dir.join("sessions")
    }

    /// `(name, rest)` of every line; a missing file is empty.
    fn read(&self, path: &Path) -> Result<Vec<(String, String)>, AuthError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => {
                return Err(AuthError::Io {
                    path: path.to_path_buf(),
                    error,
                });
            }
        };
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| {
                l.split_once(':')
                    .filter(|(n, _)| check_name(n).is_ok())
                    .map(|(n, r)| (n.to_string(), r.to_string()))
                    .ok_or(AuthError::Corrupt {
                        path: path.to_path_buf(),
                        line: i + 1,
                    })
            })
            .collect()
    }

    /// Replaces the file with `lines`: 0600, atomically, owned like the folder (so a file
    /// written by `sudo nvr user add` stays readable by the service's user).
    fn write(&self, path: &Path, lines: &[(String, String)]) -> Result<(), AuthError> {
        use std::io::Write;
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let io = |error| AuthError::Io {
            path: path.to_path_buf(),
            error,
        };
        if !self.dir.exists() {
            std::fs::create_dir_all(&self.dir).map_err(io)?;
            std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o700))
                .map_err(io)?;
            own_like_parent(&self.dir);
        }
        let tmp = path.with_extension("tmp");
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(io)?;
        for (name, rest) in lines {
            writeln!(f, "{name}:{rest}").map_err(io)?;
        }
        f.sync_all().map_err(io)?;
        drop(f);
        own_like_parent(&tmp);
        std::fs::rename(&tmp, path).map_err(io)?;
        std::fs::File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(io)
    }

    /// User names, in the order they were made.
    pub fn users(&self) -> Result<Vec<String>, AuthError> {
        Ok(self
            .read(&self.users_file())?
            .into_iter()
            .map(|(n, _)| n)
            .collect())
    }

    pub fn add_user(&self, name: &str, password: &str) -> Result<(), AuthError> {
        check_name(name)?;
        check_password(password)?;
        let mut users = self.read(&self.users_file())?;
        if users.iter().any(|(n, _)| n == name) {
            return Err(AuthError::Exists(name.into()));
        }
        users.push((name.to_string(), hash_password(password)));
        self.write(&self.users_file(), &users)
    }

    pub fn set_password(&self, name: &str, password: &str) -> Result<(), AuthError> {
        check_password(password)?;
        let mut users = self.read(&self.users_file())?;
        let user = users
            .iter_mut()
            .find(|(n, _)| n == name)
            .ok_or_else(|| AuthError::NoSuchUser(name.into()))?;
        user.1 = hash_password(password);
        self.write(&self.users_file(), &users)?;
        // A new password logs the user out everywhere.
        self.end_sessions_of(name)
    }

    pub fn remove_user(&self, name: &str) -> Result<(), AuthError> {
        let mut users = self.read(&self.users_file())?;
        let before = users.len();
        users.retain(|(n, _)| n != name);
        if users.len() == before {
            return Err(AuthError::NoSuchUser(name.into()));
        }
        self.write(&self.users_file(), &users)?;
        self.end_sessions_of(name)
    }

    /// Whether `name` exists and `password` is theirs. An unknown name costs a hash too, so
    /// the answer's timing does not tell which names exist.
    pub fn login(&self, name: &str, password: &str) -> Result<bool, AuthError> {
        let users = self.read(&self.users_file())?;
        match users.iter().find(|(n, _)| n == name) {
            Some((_, phc)) => Ok(verify_password(password, phc)),
            None => {
                let _ = hash_password(password);
                Ok(false)
            }
        }
    }

    /// Makes a token named `name` and returns it: the only time it is shown.
    pub fn add_token(&self, name: &str, now_unix_s: u64) -> Result<String, AuthError> {
        check_name(name)?;
        let mut tokens = self.read(&self.tokens_file())?;
        if tokens.iter().any(|(n, _)| n == name) {
            return Err(AuthError::Exists(name.into()));
        }
        let token = random_secret();
        tokens.push((
            name.to_string(),
            format!("{now_unix_s}:{}", secret_hash(&token)),
        ));
        self.write(&self.tokens_file(), &tokens)?;
        Ok(token)
    }

    pub fn tokens(&self) -> Result<Vec<TokenInfo>, AuthError> {
        let path = self.tokens_file();
        self.read(&path)?
            .into_iter()
            .enumerate()
            .map(|(i, (name, rest))| {
                let created = rest.split_once(':').and_then(|(c, _)| c.parse().ok());
                created
                    .map(|created_unix_s| TokenInfo {
                        name,
                        created_unix_s,
                    })
                    .ok_or(AuthError::Corrupt {
                        path: path.clone(),
                        line: i + 1,
                    })
            })
            .collect()
    }

    pub fn revoke_token(&self, name: &str) -> Result<(), AuthError> {
        let mut tokens = self.read(&self.tokens_file())?;
        let before = tokens.len();
        tokens.retain(|(n, _)| n != name);
        if tokens.len() == before {
            return Err(AuthError::NoSuchToken(name.into()));
        }
        self.write(&self.tokens_file(), &tokens)
    }

    /// The name of the token `token` is, if it is one.
    pub fn token_name(&self, token: &str) -> Result<Option<String>, AuthError> {
        let hash = secret_hash(token);
        Ok(self
            .read(&self.tokens_file())?
            .into_iter()
            .find(|(_, rest)| rest.split_once(':').is_some_and(|(_, h)| same(h, &hash)))
            .map(|(n, _)| n))
    }
}

impl Accounts {
    /// Starts a session for `user` (who has just logged in) and returns its id: the only
    /// time it exists outside the browser's cookie.
    pub fn new_session(&self, user: &str, now_unix_s: u64) -> Result<String, AuthError> {
        let path = self.sessions_file();
        let mut sessions: Vec<(String, String)> = self
            .read(&path)?
            .into_iter()
            .filter(|(_, rest)| expires(rest).is_some_and(|e| e > now_unix_s))
            .collect();
        if sessions.len() >= MAX_SESSIONS {
            sessions.sort_by_key(|(_, rest)| std::cmp::Reverse(expires(rest)));
            sessions.truncate(MAX_SESSIONS - 1);
        }
        let id = random_secret();
        sessions.push((
            user.to_string(),
            format!("{}:{}", now_unix_s + SESSION_SECONDS, secret_hash(&id)),
        ));
        self.write(&path, &sessions)?;
        Ok(id)
    }

    /// The user whose live session `id` is: not expired, and the user still exists.
    pub fn session_user(&self, id: &str, now_unix_s: u64) -> Result<Option<String>, AuthError> {
        let hash = secret_hash(id);
        let found = self
            .read(&self.sessions_file())?
            .into_iter()
            .find(|(_, rest)| {
                rest.split_once(':').is_some_and(|(_, h)| {
                    same(h, &hash) && expires(rest).is_some_and(|e| e > now_unix_s)
                })
            });
        let Some((user, _)) = found else {
            return Ok(None);
        };
        Ok(self.users()?.contains(&user).then_some(user))
    }

    /// Logs session `id` out (nothing when it is not one).
    pub fn end_session(&self, id: &str) -> Result<(), AuthError> {
        let hash = secret_hash(id);
        self.rewrite_sessions(|_, rest| !rest.split_once(':').is_some_and(|(_, h)| same(h, &hash)))
    }

    fn end_sessions_of(&self, user: &str) -> Result<(), AuthError> {
        self.rewrite_sessions(|u, _| u != user)
    }

    /// Keeps the sessions `keep` says, writing only when one goes.
    fn rewrite_sessions(&self, keep: impl Fn(&str, &str) -> bool) -> Result<(), AuthError> {
        let path = self.sessions_file();
        let mut sessions = self.read(&path)?;
        let before = sessions.len();
        sessions.retain(|(u, rest)| keep(u, rest));
        if sessions.len() == before {
            return Ok(());
        }
        self.write(&path, &sessions)
    }
}

/// A session line's expiry (`EXPIRES:HASH`).
fn expires(rest: &str) -> Option<u64> {
    rest.split_once(':').and_then(|(e, _)| e.parse().ok())
}

/// Run as root (`sudo nvr user add`), a new file or folder gets the owner of the folder it is
/// in (the service's user owns `/var/lib/nvr`); otherwise nothing changes.
fn own_like_parent(path: &Path) {
    use std::os::unix::fs::MetadataExt;
    if !rustix::process::geteuid().is_root() {
        return;
    }
    let Some(meta) = path.parent().and_then(|p| std::fs::metadata(p).ok()) else {
        return;
    };
    let _ = std::os::unix::fs::chown(path, Some(meta.uid()), Some(meta.gid()));
}

#[cfg(test)]
mod tests;
