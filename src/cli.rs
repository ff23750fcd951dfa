//! The command line, declared once (clap derive): parsing, `--help`, the usage text on errors
//! and the man pages (`debian/man/`, checked by a test) all come from these types.

use crate::config::DEFAULT_PATH;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// A network video recorder for the Raspberry Pi: IP cameras over RTSP to crash-safe MP4
/// segments, without re-encoding.
#[derive(Debug, Parser)]
#[command(name = "nvr", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Record the configured cameras until SIGTERM/SIGINT; SIGHUP or a saved edit of the
    /// config reloads it.
    Run(ConfigArg),
    /// Validate a configuration and the machine (GStreamer elements, storage), change nothing.
    /// Exit 0 if nvr would start, 2 for configuration problems, 1 for a missing element.
    Check {
        #[command(flatten)]
        config: ConfigArg,
        /// The configuration file, as an alternative to --config.
        #[arg(value_name = "PATH", conflicts_with = "config")]
        path: Option<PathBuf>,
    },
    /// Record a built-in test camera (with motion detection) and serve the web page.
    Demo {
        /// Where the recordings go.
        #[arg(long, default_value = "nvr-demo")]
        dir: PathBuf,
        /// The web page's address.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
    },
    /// Write one MP4 of any recorded range, without re-encoding. Exit 1 when nothing was
    /// recorded in the range.
    Export(ExportArgs),
    /// What is recorded per camera, and what retention would delete now.
    Catalog(ConfigArg),
    /// Import Hikvision NAS recordings (the cameras' datadir format) as plain MP4 and JPEG files.
    #[command(subcommand)]
    Hikvision(HikvisionCommand),
    /// Serve a test camera over RTSP (a moving pattern, or a file in a loop).
    Testcam(TestcamArgs),
    /// The accounts that may see footage: passwords are stored hashed (argon2id) in the
    /// [http] auth_dir folder. There is no default user.
    #[command(subcommand)]
    User(UserCommand),
    /// API tokens for scripts and home automation (Authorization: Bearer TOKEN), stored
    /// hashed; a token is shown once, when it is made.
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user. The password is asked twice on the terminal, or read as one line from
    /// standard input when that is not a terminal; never taken from an argument.
    Add(NameArg),
    /// The users' names.
    List(ConfigArg),
    /// Set a user's password (read as for add).
    Passwd(NameArg),
    /// Remove a user.
    Remove(NameArg),
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Make a token and print it (the only time it is shown).
    Add(NameArg),
    /// The tokens' names and when they were made.
    List(ConfigArg),
    /// Revoke a token: it stops working at once.
    Revoke(NameArg),
}

#[derive(Debug, Args)]
pub struct NameArg {
    /// A name: 1-32 of a-z 0-9 - _.
    #[arg(value_name = "NAME")]
    pub name: String,
    #[command(flatten)]
    pub config: ConfigArg,
}

#[derive(Debug, Args)]
pub struct ConfigArg {
    /// The configuration file.
    #[arg(short, long, value_name = "PATH", default_value = DEFAULT_PATH)]
    pub config: PathBuf,
}

#[derive(Debug, Args)]
#[command(
    after_help = "TIME: 2026-03-29T08:00:00 (local), 2026-03-29T06:00:00Z, \
                        2026-03-29T08:00:00+02:00, or Unix seconds"
)]
pub struct ExportArgs {
    /// The camera's name.
    #[arg(long)]
    pub camera: String,
    /// Start of the range (the export starts at the keyframe at or before it).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub from: u64,
    /// End of the range.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub to: u64,
    /// The MP4 to write.
    #[arg(short, long = "output", value_name = "OUT.mp4")]
    pub output: PathBuf,
    #[command(flatten)]
    pub config: ConfigArg,
}

fn parse_time(s: &str) -> Result<u64, String> {
    crate::time::parse_time(s)
}

#[derive(Debug, Subcommand)]
pub enum HikvisionCommand {
    /// Import once (--once) or every interval_minutes of the [hikvision] section.
    Sync {
        /// One run, then exit (for cron or a systemd timer).
        #[arg(long)]
        once: bool,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// List what a camera folder (or a folder of them) holds, changing nothing.
    Scan {
        #[arg(value_name = "FOLDER")]
        folder: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CodecArg {
    H264,
    H265,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum AudioArg {
    Aac,
    Pcma,
    None,
}

#[derive(Debug, Args)]
pub struct TestcamArgs {
    /// The RTSP port (0: any free one; the URL is printed).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    #[arg(long, value_enum, default_value_t = CodecArg::H264)]
    pub codec: CodecArg,
    #[arg(long, value_enum, default_value_t = AudioArg::None)]
    pub audio: AudioArg,
    /// Ask RTSP clients for this user (with --password).
    #[arg(long, requires = "password")]
    pub user: Option<String>,
    #[arg(long, requires = "user")]
    pub password: Option<String>,
    /// Picture size, WxH.
    #[arg(long, value_name = "WxH", value_parser = parse_size)]
    pub size: Option<(u32, u32)>,
    #[arg(long)]
    pub fps: Option<u32>,
    /// Keyframe interval in frames.
    #[arg(long, value_name = "FRAMES")]
    pub gop: Option<u32>,
    /// B-frames between reference frames (0-4; 0: none).
    #[arg(long, value_parser = clap::value_parser!(u32).range(0..=4))]
    pub bframes: Option<u32>,
    #[arg(long)]
    pub kbps: Option<u32>,
    /// The stream's path.
    #[arg(long, value_name = "/path")]
    pub mount: Option<String>,
    /// A videotestsrc pattern: ball (moving, the default), checkers-8 (still), ...
    #[arg(long)]
    pub pattern: Option<String>,
    /// Serve this H.264 Annex B file in a loop instead of encoding a pattern.
    #[arg(long, value_name = "CLIP.h264")]
    pub file: Option<PathBuf>,
    /// Change the picture size mid-stream, SECS after the stream starts, to WxH (a camera
    /// reconfigured while streaming): `--resize 6:640x360`.
    #[arg(long, value_name = "SECS:WxH", value_parser = parse_resize)]
    pub resize: Option<(u32, (u32, u32))>,
    /// Jump the video's RTP timestamps SECS after the stream starts by DELTA seconds (a
    /// camera whose clock reset or jumped): `--rtp-jump 6:3600`; DELTA may be negative.
    #[arg(long, value_name = "SECS:DELTA", value_parser = parse_jump, allow_hyphen_values = true)]
    pub rtp_jump: Option<(u32, i64)>,
}

fn parse_jump(s: &str) -> Result<(u32, i64), String> {
    let bad = || format!("{s:?} is not SECS:DELTA, e.g. 6:3600 or 6:-600");
    let (secs, delta) = s.split_once(':').ok_or_else(bad)?;
    Ok((
        secs.parse().map_err(|_| bad())?,
        delta.parse().map_err(|_| bad())?,
    ))
}

fn parse_resize(s: &str) -> Result<(u32, (u32, u32)), String> {
    let (secs, size) = s
        .split_once(':')
        .ok_or_else(|| format!("{s:?} is not SECS:WxH, e.g. 6:640x360"))?;
    let secs = secs
        .parse()
        .map_err(|_| format!("{secs:?} is not a number of seconds"))?;
    Ok((secs, parse_size(size)?))
}

fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let bad = || format!("{s:?} is not WxH, e.g. 320x240");
    let (w, h) = s.split_once('x').ok_or_else(bad)?;
    Ok((w.parse().map_err(|_| bad())?, h.parse().map_err(|_| bad())?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_declaration_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn commands_parse_as_the_readme_writes_them() {
        let p = |line: &str| Cli::try_parse_from(line.split_whitespace());
        assert!(matches!(
            p("nvr check /etc/nvr/nvr.toml").unwrap().command,
            Command::Check { path: Some(_), .. }
        ));
        assert!(
            p("nvr check --config a b").is_err(),
            "both --config and PATH"
        );
        let Command::Export(e) = p("nvr export --camera door --from 10 --to 20 -o x.mp4")
            .unwrap()
            .command
        else {
            panic!()
        };
        assert_eq!((e.from, e.to), (10_000_000_000, 20_000_000_000));
        assert_eq!(e.config.config, PathBuf::from(DEFAULT_PATH));
        assert!(p("nvr export --camera door --from x --to 20 -o x.mp4").is_err());
        assert!(
            p("nvr testcam --user a").is_err(),
            "--user without --password"
        );
        assert!(p("nvr testcam --bframes 9").is_err());
        assert!(p("nvr hikvision sync --once -c /tmp/x.toml").is_ok());
        assert!(p("nvr frobnicate").is_err());
    }

    /// Man pages for `nvr` and each command (`nvr-run.1`, …), rendered into `pages`.
    fn render(cmd: clap::Command, name: String, pages: &mut Vec<(String, Vec<u8>)>) {
        // A test: leaking a few names is fine (clap wants 'static names without its string feature).
        let cmd = cmd
            .name(&*name.clone().leak())
            .bin_name(name.replace('-', " "));
        for sub in cmd.get_subcommands() {
            render(sub.clone(), format!("{name}-{}", sub.get_name()), pages);
        }
        let mut out = Vec::new();
        clap_mangen::Man::new(cmd)
            .date("2026")
            .source(format!("nvr {}", env!("CARGO_PKG_VERSION")))
            .render(&mut out)
            .unwrap();
        pages.push((format!("{name}.1"), out));
    }

    /// The man pages shipped in the .deb (`debian/man/`) are generated from the declaration
    /// above; this test fails when they differ. Regenerate: `NVR_WRITE_MAN=1 cargo test --lib cli`.
    #[test]
    fn the_man_pages_are_current() {
        let mut pages = Vec::new();
        render(Cli::command(), "nvr".into(), &mut pages);
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("debian/man");
        if std::env::var_os("NVR_WRITE_MAN").is_some() {
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            for (name, page) in &pages {
                std::fs::write(dir.join(name), page).unwrap();
            }
        }
        let shipped = std::fs::read_dir(&dir).map_or(0, |d| d.count());
        assert_eq!(
            shipped,
            pages.len(),
            "debian/man: NVR_WRITE_MAN=1 cargo test --lib cli"
        );
        for (name, page) in &pages {
            let on_disk = std::fs::read(dir.join(name)).unwrap_or_default();
            assert!(
                on_disk == *page,
                "debian/man/{name} is stale: NVR_WRITE_MAN=1 cargo test --lib cli"
            );
        }
    }
}
