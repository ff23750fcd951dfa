//! The `nvr` command line (declared in `nvr::cli`); each command lives in `cmds/`.

use clap::Parser;
use nvr::cli::{Cli, Command, HikvisionCommand};
use nvr::cmds;
use std::process::ExitCode;

fn main() -> ExitCode {
    nvr::limit_malloc_arenas();
    // Usage errors exit 2 with clap's message and usage, like configuration errors.
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Testcam(_)) {
        nvr::logging::init();
    }
    match cli.command {
        Command::Run(c) => cmds::run::main(&c.config),
        Command::Check { config, path } => cmds::check::main(&path.unwrap_or(config.config)),
        Command::Catalog(c) => cmds::catalog::main(&c.config),
        Command::Demo { dir, listen } => cmds::demo::main(&dir, &listen),
        Command::Export(args) => cmds::export::main(&args),
        Command::Hikvision(HikvisionCommand::Sync { once, config }) => {
            cmds::hikvision::sync_main(&config.config, once)
        }
        Command::Hikvision(HikvisionCommand::Scan { folder }) => {
            cmds::hikvision::scan_main(&folder)
        }
        Command::Testcam(args) => cmds::testcam::main(&args),
        Command::User(c) => cmds::accounts::user_main(&c),
        Command::Token(c) => cmds::accounts::token_main(&c),
    }
}
