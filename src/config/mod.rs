//! Configuration: `/etc/nvr/nvr.toml`, parsed and validated before anything is touched.
//!
//! Every problem becomes a [`ConfigError`] that names the file, the line and the key
//! (`nvr.toml:14: camera[1].name: "front door" may only contain a-z 0-9 - _`). Loading collects
//! all problems it can find instead of stopping at the first, so one `nvr check` shows them all.
//! Passwords are held in [`Secret`], whose `Debug` prints `***`.

mod error;
pub mod hikvision;
pub mod modes;
pub mod retention;
mod url;

pub use error::ConfigError;
pub use url::{RtspUrl, host_port, redact_url};

use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// Where `nvr run` and `nvr check` look without `--config`.
pub const DEFAULT_PATH: &str = "/etc/nvr/nvr.toml";
/// Camera names become directory names and appear in URLs: keep them short and plain.
pub const MAX_NAME_LEN: usize = 32;
pub type CameraName = heapless::String<MAX_NAME_LEN>;

/// The validated configuration. Cheap to clone; compared field by field on reload.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The file this came from (for messages); `None` for built-in configs (`nvr demo`).
    pub file: Option<PathBuf>,
    pub storage: Storage,
    pub http: Http,
    pub log_level: Option<log::LevelFilter>,
    /// Directory whose `*.pipeline` files override the compiled-in pipeline descriptions.
    pub pipeline_dir: PathBuf,
    pub retention: retention::Policy,
    pub cameras: Vec<CameraConfig>,
    /// The Hikvision NAS import job (`[hikvision]`), when configured.
    pub hikvision: Option<hikvision::Settings>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Storage {
    pub path: PathBuf,
    pub segment_seconds: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Http {
    pub listen: SocketAddr,
    /// The accounts folder: users, API tokens and sessions (`auth`).
    pub auth_dir: PathBuf,
    /// Whether footage needs a login (`auth = "required"`, the default) or not (`"off"`).
    pub auth: AuthPolicy,
    /// Whether `/status` answers anyone with its health fields (`"public"`, the default) or
    /// only logged-in users (`"private"`).
    pub status: StatusAccess,
    /// Reverse proxies whose `X-Forwarded-For` and `X-Forwarded-Proto` are believed (for the
    /// client's address when throttling logins, and `Secure` cookies over HTTPS).
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthPolicy {
    Required,
    /// Anyone who can reach the port sees everything (`nvr check` warns; the page says so).
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusAccess {
    /// Health (states, coverage, storage, versions) for anyone; URLs, paths and error texts
    /// only after a login.
    Public,
    Private,
}

/// One camera as the supervisor needs it: defaults applied, credentials out of the URL.
#[derive(Debug, Clone, PartialEq)]
pub struct CameraConfig {
    pub name: CameraName,
    /// `rtsp://host[:port]/path` without user info: safe to log.
    pub url: String,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub enabled: bool,
    pub segment_seconds: u32,
    /// rtspsrc jitterbuffer latency.
    pub latency_ms: u32,
    /// No media for this long while recording means the stream stalled: rebuild it.
    pub stall_seconds: u32,
    /// This camera's retention overrides (applied by `storage::retention`).
    pub retention: retention::Limits,
    /// Motion detection on a decoded branch of the stream, at this many frames per second.
    pub motion_fps: Option<u32>,
    /// Decode only keyframes for motion detection (weak boards).
    pub motion_keyframes_only: bool,
    /// The camera's low-resolution substream: when set, motion detection reads it through
    /// a second RTSP session instead of decoding the recorded stream.
    pub sub: Option<SubStream>,
    /// Which decoder the motion branch uses.
    pub motion_decoder: DecoderChoice,
    /// What footage to keep (applied by `storage::modes`).
    pub mode: modes::Mode,
    /// Footage kept before and after a motion event in `motion`/`schedule` modes.
    pub pre_seconds: u32,
    pub post_seconds: u32,
    /// The most RAM the pre-event ring of a `motion`/`schedule` camera may hold, in bytes;
    /// a faster stream gets a shorter pre-roll (said in `/status` and the log).
    pub pre_memory: u64,
}

/// Default `pre_memory`: 30 s of a 8 Mbit/s stream.
pub const DEFAULT_PRE_MEMORY: u64 = 32 << 20;

/// A second stream of the same camera (RTSP), for motion detection only.
#[derive(Debug, Clone, PartialEq)]
pub struct SubStream {
    /// Without user info: safe to log.
    pub url: String,
    /// Its own credentials when `sub_url` carries them, else the camera's.
    pub username: Option<String>,
    pub password: Option<Secret>,
}

/// `motion_decoder`: how the motion branch decodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecoderChoice {
    /// The hardware decoder when the board has one and it passes a self-test on the camera's
    /// stream, else software (`avdec_h264` / `avdec_h265`).
    Auto,
    /// Always software.
    Software,
    /// This GStreamer element, with the same self-test and software fallback as `Auto`.
    Element(String),
}

/// A password. Never printed: `Debug` shows `***`; use [`Secret::expose`] only to hand it
/// to rtspsrc.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

pub const DEFAULT_SEGMENT_SECONDS: u32 = 60;
pub const DEFAULT_STORAGE: &str = "/var/lib/nvr/recordings";
pub const DEFAULT_LISTEN: &str = "0.0.0.0:8080";
/// Where users and API tokens are kept, by default (the service's state directory).
pub const DEFAULT_AUTH_DIR: &str = "/var/lib/nvr/auth";
pub const DEFAULT_PIPELINE_DIR: &str = "/etc/nvr/pipelines";
const DEFAULT_LATENCY_MS: u32 = 300;
const DEFAULT_STALL_SECONDS: u32 = 8;
/// Free space nvr keeps on the recordings disk unless told otherwise.
pub const DEFAULT_KEEP_FREE: u64 = 1 << 30;

// --- The file as written. `Spanned` keeps byte offsets so errors can name the line. -------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    storage: Option<RawStorage>,
    http: Option<RawHttp>,
    log: Option<RawLog>,
    pipelines: Option<RawPipelines>,
    retention: Option<RawRetention>,
    hikvision: Option<Spanned<RawHikvision>>,
    #[serde(default)]
    camera: Vec<Spanned<RawCamera>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHikvision {
    sources: Option<Spanned<Vec<Spanned<String>>>>,
    output: Option<Spanned<String>>,
    tags: Option<BTreeMap<String, Spanned<String>>>,
    translation: Option<Spanned<String>>,
    interval_minutes: Option<Spanned<i64>>,
    retention_days: Option<Spanned<i64>>,
    lookback_days: Option<Spanned<i64>>,
    images: Option<bool>,
    workers: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRetention {
    check_seconds: Option<Spanned<i64>>,
    max_age_days: Option<Spanned<i64>>,
    motion_max_age_days: Option<Spanned<i64>>,
    max_bytes: Option<Spanned<toml::Value>>,
    keep_free_bytes: Option<Spanned<toml::Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStorage {
    path: Option<Spanned<String>>,
    segment_seconds: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    listen: Option<Spanned<String>>,
    auth_dir: Option<Spanned<String>>,
    auth: Option<Spanned<String>>,
    status: Option<Spanned<String>>,
    trusted_proxies: Option<Spanned<Vec<Spanned<String>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLog {
    level: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPipelines {
    dir: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCamera {
    name: Option<Spanned<String>>,
    url: Option<Spanned<String>>,
    username: Option<Spanned<String>>,
    password: Option<Spanned<String>>,
    enabled: Option<bool>,
    segment_seconds: Option<Spanned<i64>>,
    latency_ms: Option<Spanned<i64>>,
    stall_seconds: Option<Spanned<i64>>,
    max_age_days: Option<Spanned<i64>>,
    motion_max_age_days: Option<Spanned<i64>>,
    max_bytes: Option<Spanned<toml::Value>>,
    motion: Option<bool>,
    motion_fps: Option<Spanned<i64>>,
    motion_keyframes_only: Option<bool>,
    motion_decoder: Option<Spanned<String>>,
    sub_url: Option<Spanned<String>>,
    mode: Option<Spanned<String>>,
    schedule: Option<Spanned<Vec<String>>>,
    pre_seconds: Option<Spanned<i64>>,
    post_seconds: Option<Spanned<i64>>,
    pre_memory: Option<Spanned<toml::Value>>,
}

impl Config {
    /// Reads and validates `path`. Touches nothing on disk but the file itself.
    pub fn load(path: &Path) -> Result<Config, Vec<ConfigError>> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            vec![ConfigError::whole_file(
                path,
                format!("cannot read configuration: {e}"),
            )]
        })?;
        Self::parse(&text, Some(path))
    }

    /// Parses configuration text; `file` is only used to name the source in errors.
    pub fn parse(text: &str, file: Option<&Path>) -> Result<Config, Vec<ConfigError>> {
        let shown = file
            .map(Path::to_path_buf)
            .unwrap_or_else(|| "<config>".into());
        let raw: RawConfig =
            toml::from_str(text).map_err(|e| vec![ConfigError::from_toml(&shown, text, &e)])?;
        let mut v = Validator {
            file: shown,
            text,
            errors: Vec::new(),
        };
        let config = v.config(raw, file);
        if v.errors.is_empty() {
            Ok(config)
        } else {
            Err(v.errors)
        }
    }

    /// Checks that need the machine, not just the text: the storage path is (or can be
    /// made) writable by this user. Leaves nothing behind (a missing storage folder is tried
    /// by creating and removing a folder where it would go).
    pub fn check_environment(&self) -> Result<(), Vec<ConfigError>> {
        let file = self.file.clone().unwrap_or_else(|| "<config>".into());
        let path = &self.storage.path;
        // The nearest existing ancestor decides: `run` creates the missing rest.
        let mut probe = path.as_path();
        while !probe.exists() {
            match probe.parent() {
                Some(p) if !p.as_os_str().is_empty() => probe = p,
                _ => {
                    probe = Path::new(".");
                    break;
                }
            }
        }
        let problem = if !probe.is_dir() {
            Some(format!("{} is not a directory", probe.display()))
        } else if !is_writable(probe) {
            Some(format!(
                "{} is not writable by this user (uid {})",
                probe.display(),
                rustix::process::geteuid().as_raw()
            ))
        } else if probe != path.as_path() {
            // `run` will create the missing folders: try the first one, as `run` would
            // (access() says yes to root on /proc, where mkdir fails), and take it away again.
            let trial = probe.join(format!(".nvr-check-{}", std::process::id()));
            match std::fs::create_dir(&trial) {
                Ok(()) => {
                    let _ = std::fs::remove_dir(&trial);
                    None
                }
                Err(e) => Some(format!(
                    "cannot create a folder in {}: {e}",
                    probe.display()
                )),
            }
        } else {
            None
        };
        match problem {
            None => Ok(()),
            Some(why) => Err(vec![ConfigError {
                file,
                line: self.storage_line(),
                key: "storage.path".into(),
                message: format!("cannot record to {}: {why}", path.display()),
            }]),
        }
    }

    fn storage_line(&self) -> Option<usize> {
        let file = self.file.as_ref()?;
        let text = std::fs::read_to_string(file).ok()?;
        text.lines()
            .position(|l| l.trim_start().starts_with("path"))
            .map(|i| i + 1)
    }

    /// Cameras by name, for diffing on reload.
    pub fn cameras_by_name(&self) -> BTreeMap<&str, &CameraConfig> {
        self.cameras.iter().map(|c| (c.name.as_str(), c)).collect()
    }
}

fn is_writable(p: &Path) -> bool {
    use rustix::fs::Access;
    rustix::fs::access(p, Access::WRITE_OK | Access::EXEC_OK).is_ok()
}

struct Validator<'a> {
    file: PathBuf,
    text: &'a str,
    errors: Vec<ConfigError>,
}

impl Validator<'_> {
    fn err(&mut self, span: Option<std::ops::Range<usize>>, key: String, message: String) {
        self.errors.push(ConfigError {
            file: self.file.clone(),
            line: span.map(|s| error::line_of(self.text, s.start)),
            key,
            message: error::cap(message),
        });
    }

    fn config(&mut self, raw: RawConfig, file: Option<&Path>) -> Config {
        let storage_raw = raw.storage.unwrap_or(RawStorage {
            path: None,
            segment_seconds: None,
        });
        let segment_seconds = self
            .seconds(
                storage_raw.segment_seconds.as_ref(),
                "storage.segment_seconds",
                1..=3600,
            )
            .unwrap_or(DEFAULT_SEGMENT_SECONDS);
        let storage_path = match &storage_raw.path {
            Some(p) if p.get_ref().trim().is_empty() => {
                self.err(
                    Some(p.span()),
                    "storage.path".into(),
                    "must not be empty".into(),
                );
                PathBuf::from(DEFAULT_STORAGE)
            }
            Some(p) => PathBuf::from(p.get_ref()),
            None => PathBuf::from(DEFAULT_STORAGE),
        };

        let auth_dir = raw
            .http
            .as_ref()
            .and_then(|h| h.auth_dir.as_ref())
            .map_or_else(
                || PathBuf::from(DEFAULT_AUTH_DIR),
                |d| PathBuf::from(d.get_ref()),
            );
        let http = raw.http.as_ref();
        let auth = self.choice(
            http.and_then(|h| h.auth.as_ref()),
            "http.auth",
            "a policy",
            &[("required", AuthPolicy::Required), ("off", AuthPolicy::Off)],
        );
        let status = self.choice(
            http.and_then(|h| h.status.as_ref()),
            "http.status",
            "an access",
            &[
                ("public", StatusAccess::Public),
                ("private", StatusAccess::Private),
            ],
        );
        let mut trusted_proxies = Vec::new();
        for p in raw
            .http
            .as_ref()
            .and_then(|h| h.trusted_proxies.as_ref())
            .map(|l| l.get_ref().as_slice())
            .unwrap_or_default()
        {
            match p.get_ref().parse() {
                Ok(ip) => trusted_proxies.push(ip),
                Err(_) => self.err(
                    Some(p.span()),
                    "http.trusted_proxies".into(),
                    format!("{:?} is not an IP address", p.get_ref()),
                ),
            }
        }
        let listen = match raw.http.and_then(|h| h.listen) {
            Some(l) => match l.get_ref().parse::<SocketAddr>() {
                Ok(a) => a,
                Err(_) => {
                    self.err(
                        Some(l.span()),
                        "http.listen".into(),
                        format!(
                            "{:?} is not an address:port (e.g. \"0.0.0.0:8080\" or \"127.0.0.1:8080\")",
                            l.get_ref()
                        ),
                    );
                    DEFAULT_LISTEN.parse().expect("default listen address")
                }
            },
            None => DEFAULT_LISTEN.parse().expect("default listen address"),
        };

        let log_level = raw.log.and_then(|l| l.level).and_then(|lvl| {
            match lvl.get_ref().parse::<log::LevelFilter>() {
                Ok(f) => Some(f),
                Err(_) => {
                    self.err(
                        Some(lvl.span()),
                        "log.level".into(),
                        format!(
                            "{:?} is not a level (off, error, warn, info, debug, trace)",
                            lvl.get_ref()
                        ),
                    );
                    None
                }
            }
        });

        let pipeline_dir = raw
            .pipelines
            .and_then(|p| p.dir)
            .map(|d| PathBuf::from(d.into_inner()))
            .unwrap_or_else(|| DEFAULT_PIPELINE_DIR.into());

        let mut retention = self.retention(raw.retention);
        let hikvision = raw.hikvision.and_then(|h| self.hikvision(h, &pipeline_dir));

        let mut cameras = Vec::new();
        let mut seen: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        for (i, cam) in raw.camera.into_iter().enumerate() {
            let table_span = cam.span();
            let cam = cam.into_inner();
            if let Some(c) = self.camera(i, table_span, cam, segment_seconds, &mut seen) {
                cameras.push(c);
            }
        }

        retention.cameras = cameras
            .iter()
            .map(|c: &CameraConfig| (c.name.to_string(), c.retention))
            .collect();
        retention.modes = cameras
            .iter()
            .filter(|c| c.mode != modes::Mode::Continuous)
            .map(|c: &CameraConfig| {
                (
                    c.name.to_string(),
                    retention::ModeKeep {
                        mode: c.mode.clone(),
                        motion: c.motion_fps.is_some(),
                        pre_ns: u64::from(c.pre_seconds) * 1_000_000_000,
                        post_ns: u64::from(c.post_seconds) * 1_000_000_000,
                    },
                )
            })
            .collect();
        Config {
            file: file.map(Path::to_path_buf),
            storage: Storage {
                path: storage_path,
                segment_seconds,
            },
            http: Http {
                listen,
                auth_dir,
                auth,
                status,
                trusted_proxies,
            },
            log_level,
            pipeline_dir,
            retention,
            cameras,
            hikvision,
        }
    }

    fn hikvision(
        &mut self,
        raw: Spanned<RawHikvision>,
        pipeline_dir: &Path,
    ) -> Option<hikvision::Settings> {
        let span = raw.span();
        let raw = raw.into_inner();
        let mut ok = true;
        let mut sources = Vec::new();
        match &raw.sources {
            Some(list) if list.get_ref().is_empty() => {
                self.err(
                    Some(list.span()),
                    "hikvision.sources".into(),
                    "must list at least one folder".into(),
                );
                ok = false;
            }
            Some(list) => {
                sources = list
                    .get_ref()
                    .iter()
                    .map(|s| PathBuf::from(s.get_ref()))
                    .collect()
            }
            None => {
                self.err(
                    Some(span.clone()),
                    "hikvision.sources".into(),
                    "missing: the camera folders (or their parent) on the NAS share, e.g. [\"/mnt/nas/hikvision\"]".into(),
                );
                ok = false;
            }
        }
        let output = match &raw.output {
            Some(o) if !o.get_ref().trim().is_empty() => PathBuf::from(o.get_ref()),
            other => {
                self.err(
                    Some(other.as_ref().map_or(span.clone(), |o| o.span())),
                    "hikvision.output".into(),
                    "missing: the folder that receives <tag>/video and <tag>/images".into(),
                );
                ok = false;
                PathBuf::new()
            }
        };
        let mut tags = BTreeMap::new();
        if let Some(t) = &raw.translation {
            match hikvision::parse_translation(t.get_ref()) {
                Ok(m) => tags.extend(m),
                Err(e) => {
                    self.err(Some(t.span()), "hikvision.translation".into(), e);
                    ok = false;
                }
            }
        }
        for (folder, tag) in raw.tags.iter().flatten() {
            if let Some(why) = hikvision::tag_problem(tag.get_ref()) {
                self.err(
                    Some(tag.span()),
                    format!("hikvision.tags.{folder}"),
                    format!("{:?} {why}", tag.get_ref()),
                );
                ok = false;
            }
            tags.insert(folder.clone(), tag.get_ref().clone());
        }
        let interval = self
            .seconds(
                raw.interval_minutes.as_ref(),
                "hikvision.interval_minutes",
                1..=1440,
            )
            .unwrap_or(10);
        let retention_days = self
            .seconds(
                raw.retention_days.as_ref(),
                "hikvision.retention_days",
                0..=36_500,
            )
            .unwrap_or(90);
        let lookback_days = self
            .seconds(
                raw.lookback_days.as_ref(),
                "hikvision.lookback_days",
                0..=36_500,
            )
            .unwrap_or(7);
        ok.then(|| hikvision::Settings {
            sources,
            output,
            tags,
            interval: std::time::Duration::from_secs(u64::from(interval) * 60),
            retention_days,
            lookback_days,
            images: raw.images.unwrap_or(true),
            workers: self
                .seconds(raw.workers.as_ref(), "hikvision.workers", 1..=8)
                .map_or_else(hikvision::default_workers, |w| w as usize),
            pipeline_dir: pipeline_dir.to_path_buf(),
        })
    }

    fn retention(&mut self, raw: Option<RawRetention>) -> retention::Policy {
        let raw = raw.unwrap_or(RawRetention {
            check_seconds: None,
            max_age_days: None,
            motion_max_age_days: None,
            max_bytes: None,
            keep_free_bytes: None,
        });
        let keep_free = match &raw.keep_free_bytes {
            Some(v) => self.size(v, "retention.keep_free_bytes"),
            None => Some(DEFAULT_KEEP_FREE),
        };
        retention::Policy {
            global: retention::Limits {
                max_age: self.days(raw.max_age_days.as_ref(), "retention.max_age_days"),
                motion_max_age: self.days(
                    raw.motion_max_age_days.as_ref(),
                    "retention.motion_max_age_days",
                ),
                max_bytes: raw
                    .max_bytes
                    .as_ref()
                    .and_then(|v| self.size(v, "retention.max_bytes")),
            },
            keep_free_bytes: keep_free,
            cameras: Default::default(),
            check_every: std::time::Duration::from_secs(u64::from(
                self.seconds(
                    raw.check_seconds.as_ref(),
                    "retention.check_seconds",
                    1..=3600,
                )
                .unwrap_or(60),
            )),
            modes: Default::default(),
        }
    }

    fn days(&mut self, v: Option<&Spanned<i64>>, key: &str) -> Option<std::time::Duration> {
        self.seconds(v, key, 1..=36_500)
            .map(|d| std::time::Duration::from_secs(u64::from(d) * 86_400))
    }

    /// A byte count: an integer, or a string like "500M", "200G", "2T" (powers of 1024) or
    /// "200GB" (powers of 1000).
    fn size(&mut self, v: &Spanned<toml::Value>, key: &str) -> Option<u64> {
        let parsed = match v.get_ref() {
            toml::Value::Integer(n) if *n >= 0 => Some(*n as u64),
            toml::Value::String(s) => parse_size(s),
            _ => None,
        };
        if parsed.is_none() {
            self.err(
                Some(v.span()),
                key.into(),
                format!(
                    "{} is not a size (bytes, or a string like \"500M\", \"200G\", \"2T\", \"200GB\")",
                    v.get_ref()
                ),
            );
        }
        parsed
    }

    fn camera(
        &mut self,
        i: usize,
        table_span: std::ops::Range<usize>,
        raw: RawCamera,
        default_segment: u32,
        seen: &mut BTreeMap<String, (usize, usize)>,
    ) -> Option<CameraConfig> {
        let key = |k: &str| format!("camera[{i}].{k}");
        let before = self.errors.len();

        let name = self.camera_name(raw.name.as_ref(), &table_span, &key("name"), i, seen);
        let url = match &raw.url {
            None => {
                self.err(
                    Some(table_span.clone()),
                    key("url"),
                    "missing: set url = \"rtsp://host:554/path\"".into(),
                );
                None
            }
            Some(u) => self.rtsp_url(u, &key("url")),
        };
        let sub_url = raw
            .sub_url
            .as_ref()
            .and_then(|u| self.rtsp_url(u, &key("sub_url")));
        let motion_decoder =
            self.motion_decoder(raw.motion_decoder.as_ref(), &key("motion_decoder"));
        let segment_seconds = self
            .seconds(
                raw.segment_seconds.as_ref(),
                &key("segment_seconds"),
                1..=3600,
            )
            .unwrap_or(default_segment);
        let latency_ms = self
            .seconds(raw.latency_ms.as_ref(), &key("latency_ms"), 0..=10_000)
            .unwrap_or(DEFAULT_LATENCY_MS);
        let stall_seconds = self
            .seconds(raw.stall_seconds.as_ref(), &key("stall_seconds"), 2..=600)
            .unwrap_or(DEFAULT_STALL_SECONDS);
        let motion_fps = self
            .seconds(raw.motion_fps.as_ref(), &key("motion_fps"), 1..=30)
            .unwrap_or(5);
        let pre_seconds = self
            .seconds(raw.pre_seconds.as_ref(), &key("pre_seconds"), 0..=600)
            .unwrap_or(5);
        let post_seconds = self
            .seconds(raw.post_seconds.as_ref(), &key("post_seconds"), 0..=600)
            .unwrap_or(5);
        let pre_memory = match &raw.pre_memory {
            Some(v) => match self.size(v, &key("pre_memory")) {
                Some(n) if !(1 << 20..=1 << 30).contains(&n) => {
                    self.err(
                        Some(v.span()),
                        key("pre_memory"),
                        format!("{n} bytes: must be between 1M and 1G"),
                    );
                    None
                }
                n => n,
            },
            None => Some(DEFAULT_PRE_MEMORY),
        };
        let mode = self.mode(raw.mode.as_ref(), raw.schedule.as_ref(), &key);
        use modes::Mode;
        // Motion mode needs the detector, so it switches it on.
        let motion_on = raw.motion.unwrap_or(false) || mode == Mode::Motion;
        let retention = retention::Limits {
            max_age: self.days(raw.max_age_days.as_ref(), &key("max_age_days")),
            motion_max_age: self.days(
                raw.motion_max_age_days.as_ref(),
                &key("motion_max_age_days"),
            ),
            max_bytes: raw
                .max_bytes
                .as_ref()
                .and_then(|v| self.size(v, &key("max_bytes"))),
        };

        if self.errors.len() != before {
            return None;
        }
        let url = url?;
        // Credentials given as keys win over ones embedded in the URL.
        let username = raw
            .username
            .map(Spanned::into_inner)
            .or(url.username.clone());
        let password = raw
            .password
            .map(|p| Secret::new(p.into_inner()))
            .or(url.password.clone().map(Secret::new));
        let sub = sub_url.map(|u| SubStream {
            url: u.without_credentials(),
            username: u.username.clone().or_else(|| username.clone()),
            password: u
                .password
                .clone()
                .map(Secret::new)
                .or_else(|| password.clone()),
        });
        Some(CameraConfig {
            name: name?,
            url: url.without_credentials(),
            username,
            password,
            enabled: raw.enabled.unwrap_or(true),
            segment_seconds,
            latency_ms,
            stall_seconds,
            retention,
            motion_fps: motion_on.then_some(motion_fps),
            motion_keyframes_only: raw.motion_keyframes_only.unwrap_or(false),
            sub,
            motion_decoder,
            mode,
            pre_seconds,
            post_seconds,
            pre_memory: pre_memory?,
        })
    }

    /// A camera's name: present, well formed, and not another camera's.
    fn camera_name(
        &mut self,
        raw: Option<&Spanned<String>>,
        table_span: &std::ops::Range<usize>,
        key: &str,
        i: usize,
        seen: &mut BTreeMap<String, (usize, usize)>,
    ) -> Option<CameraName> {
        let Some(n) = raw else {
            self.err(
                Some(table_span.clone()),
                key.to_string(),
                "missing: every camera needs a name (a-z 0-9 - _)".into(),
            );
            return None;
        };
        let s = n.get_ref();
        if let Some(why) = name_problem(s) {
            self.err(
                Some(n.span()),
                key.to_string(),
                format!("{:?} {why}", shorten(s)),
            );
            None
        } else if let Some(&(j, line)) = seen.get(s) {
            self.err(
                Some(n.span()),
                key.to_string(),
                format!("{s:?} is already used by camera[{j}] (line {line})"),
            );
            None
        } else {
            seen.insert(s.clone(), (i, error::line_of(self.text, n.span().start)));
            CameraName::try_from(s.as_str()).ok()
        }
    }

    fn rtsp_url(&mut self, u: &Spanned<String>, key: &str) -> Option<RtspUrl> {
        match RtspUrl::parse(u.get_ref()) {
            Ok(u) => Some(u),
            Err(why) => {
                self.err(Some(u.span()), key.to_string(), why);
                None
            }
        }
    }

    fn motion_decoder(&mut self, raw: Option<&Spanned<String>>, key: &str) -> DecoderChoice {
        let Some(d) = raw else {
            return DecoderChoice::Auto;
        };
        match d.get_ref().as_str() {
            "auto" => DecoderChoice::Auto,
            "software" => DecoderChoice::Software,
            e if !e.is_empty()
                && e.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') =>
            {
                DecoderChoice::Element(e.to_string())
            }
            e => {
                self.err(
                    Some(d.span()),
                    key.to_string(),
                    format!(
                        "{e:?} is not \"auto\", \"software\" or a GStreamer element name \
                         (e.g. \"v4l2h264dec\")"
                    ),
                );
                DecoderChoice::Auto
            }
        }
    }

    /// The recording mode, with the schedule's windows for `schedule`.
    fn mode(
        &mut self,
        raw: Option<&Spanned<String>>,
        schedule: Option<&Spanned<Vec<String>>>,
        key: &dyn Fn(&str) -> String,
    ) -> modes::Mode {
        use modes::Mode;
        let windows: Vec<modes::Window> = match schedule {
            Some(list) => list
                .get_ref()
                .iter()
                .filter_map(|w| match modes::parse_window(w) {
                    Ok(w) => Some(w),
                    Err(e) => {
                        self.err(Some(list.span()), key("schedule"), e);
                        None
                    }
                })
                .collect(),
            None => Vec::new(),
        };
        match raw.map(|m| (m.get_ref().as_str(), m.span())) {
            None | Some(("continuous", _)) => Mode::Continuous,
            Some(("motion", _)) => Mode::Motion,
            Some(("off", _)) => Mode::Off,
            Some(("schedule", span)) => {
                if windows.is_empty() && schedule.is_none() {
                    self.err(
                        Some(span),
                        key("mode"),
                        "\"schedule\" needs schedule = [\"mon-fri 08:00-20:00\", ...]".into(),
                    );
                }
                Mode::Schedule(windows)
            }
            Some((other, span)) => {
                self.err(
                    Some(span),
                    key("mode"),
                    format!("{other:?} is not a mode (continuous, motion, schedule, off)"),
                );
                Mode::Continuous
            }
        }
    }

    /// One of `options` by its name; the first when absent, or (with an error) when unknown.
    fn choice<T: Copy>(
        &mut self,
        value: Option<&Spanned<String>>,
        key: &str,
        what: &str,
        options: &[(&str, T)],
    ) -> T {
        let Some(v) = value else {
            return options[0].1;
        };
        if let Some((_, t)) = options.iter().find(|(name, _)| name == v.get_ref()) {
            return *t;
        }
        let names: Vec<String> = options.iter().map(|(n, _)| format!("{n:?}")).collect();
        self.err(
            Some(v.span()),
            key.into(),
            format!("{:?} is not {what} ({})", v.get_ref(), names.join(" or ")),
        );
        options[0].1
    }

    fn seconds(
        &mut self,
        value: Option<&Spanned<i64>>,
        key: &str,
        range: std::ops::RangeInclusive<i64>,
    ) -> Option<u32> {
        let v = value?;
        if range.contains(v.get_ref()) {
            Some(*v.get_ref() as u32)
        } else {
            self.err(
                Some(v.span()),
                key.into(),
                format!(
                    "{} is out of range ({}..={})",
                    v.get_ref(),
                    range.start(),
                    range.end()
                ),
            );
            None
        }
    }
}

/// "500M" → 500 MiB, "200GB" → 200·10⁹, "1.5T" → 1.5 TiB; a bare number is bytes.
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().ok()?;
    // An f64 this large no longer fits (the cast would quietly saturate).
    const LIMIT: f64 = u64::MAX as f64;
    let mult: f64 = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1.0,
        "K" | "KIB" => 1024.0,
        "M" | "MIB" => 1024.0 * 1024.0,
        "G" | "GIB" => 1024.0 * 1024.0 * 1024.0,
        "T" | "TIB" => 1024f64.powi(4),
        "KB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "TB" => 1e12,
        _ => return None,
    };
    let bytes = n * mult;
    (bytes.is_finite() && (0.0..LIMIT).contains(&bytes)).then_some(bytes as u64)
}

/// `s` for an error message: at most 60 characters (a pasted 10 MB value stays out of logs).
pub(crate) fn shorten(s: &str) -> String {
    match s.char_indices().nth(60) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// Why `s` is not a valid camera name, or `None` if it is.
fn name_problem(s: &str) -> Option<String> {
    if s.is_empty() {
        return Some("must not be empty".into());
    }
    if s.len() > MAX_NAME_LEN {
        return Some(format!("is longer than {MAX_NAME_LEN} characters"));
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    {
        return Some("may only contain a-z 0-9 - _".into());
    }
    None
}

#[cfg(test)]
mod tests;
