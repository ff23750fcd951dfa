#!/bin/sh
# Sets up a fresh Debian bookworm / Raspberry Pi OS machine and runs `nvr demo`: a built-in
# test camera recorded into ./nvr-demo/ with /status on http://127.0.0.1:8080.
set -eu
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
cargo build --release --locked
exec ./target/release/nvr demo "$@"
