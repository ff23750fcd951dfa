//! The `nvr` command line. Each command lives in `cmds/`.

use nvr::cmds;
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
usage: nvr run [--config PATH]        record the configured cameras (default /etc/nvr/nvr.toml)
       nvr check [--config PATH|PATH] validate a configuration, change nothing
       nvr demo [--dir DIR] [--listen ADDR]
                                      record a built-in test camera into ./nvr-demo
       nvr export --camera NAME --from TIME --to TIME -o OUT.mp4 [--config PATH]
                                      one MP4 of any recorded range, no re-encoding
       nvr catalog [--config PATH]    what is recorded per camera, and what retention would delete
       nvr hikvision sync [--once] [--config PATH]
                                      import Hikvision NAS recordings ([hikvision] section)
       nvr hikvision scan FOLDER      what a Hikvision camera folder holds, changing nothing
       nvr testcam [options]          serve a test camera over RTSP (see nvr testcam --help)
       nvr --version";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = args.first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let rest = &args[1..];
    match cmd.as_str() {
        "--version" | "-V" | "version" => {
            println!("nvr {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        "--help" | "-h" | "help" => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        "run" | "check" | "catalog" => {
            let path = match config_arg(rest, cmd != "run") {
                Ok(p) => p,
                Err(e) => return usage_error(&e),
            };
            nvr::logging::init();
            match cmd.as_str() {
                "run" => cmds::run::main(&path),
                "check" => cmds::check::main(&path),
                _ => cmds::catalog::main(&path),
            }
        }
        "demo" => {
            let mut dir = PathBuf::from("nvr-demo");
            let mut listen = "127.0.0.1:8080".to_string();
            let mut it = rest.iter();
            while let Some(a) = it.next() {
                match (a.as_str(), it.next()) {
                    ("--dir", Some(v)) => dir = v.into(),
                    ("--listen", Some(v)) => listen = v.clone(),
                    _ => return usage_error(&format!("demo: unexpected {a:?}")),
                }
            }
            nvr::logging::init();
            cmds::demo::main(&dir, &listen)
        }
        "export" => {
            nvr::logging::init();
            cmds::export::main(rest)
        }
        "hikvision" => {
            nvr::logging::init();
            cmds::hikvision::main(rest)
        }
        "testcam" => {
            if rest.iter().any(|a| a == "--help") {
                println!("usage: {}", cmds::testcam::USAGE);
                return ExitCode::SUCCESS;
            }
            cmds::testcam::main(rest)
        }
        other => usage_error(&format!("unknown command {other:?}")),
    }
}

/// `--config PATH`, or (for `check`) a bare `PATH`; default `/etc/nvr/nvr.toml`.
fn config_arg(rest: &[String], positional_ok: bool) -> Result<PathBuf, String> {
    match rest {
        [] => Ok(nvr::config::DEFAULT_PATH.into()),
        [flag, path] if flag == "--config" || flag == "-c" => Ok(path.into()),
        [path] if positional_ok && !path.starts_with('-') => Ok(path.into()),
        _ => Err(format!("unexpected arguments {rest:?}")),
    }
}

fn usage_error(msg: &str) -> ExitCode {
    eprintln!("nvr: {msg}\n{USAGE}");
    ExitCode::from(2)
}
