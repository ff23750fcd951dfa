#!/bin/sh
# Installs what nvr needs to build, run and test on Debian bookworm / Raspberry Pi OS:
# GStreamer 1.22 (runtime plugins + development files) from apt, and Rust from rustup if
# cargo is missing. Idempotent: installs only what is missing; safe to run again.
set -eu

PACKAGES="
  build-essential pkg-config curl ca-certificates
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstrtspserver-1.0-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-base-apps
  gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly
  gstreamer1.0-libav
"
# The test suite also needs these (the README's test command passes --test).
TEST_PACKAGES="ffmpeg"

want="$PACKAGES"
[ "${1:-}" = "--test" ] && want="$want $TEST_PACKAGES"

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

missing=""
for p in $want; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "install-deps: apt packages:$missing"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
fi

if ! command -v cargo >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/cargo" ]; then
  echo "install-deps: installing Rust with rustup"
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --component clippy,rustfmt
fi
