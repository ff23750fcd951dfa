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
# The test suite also needs these (the README's test command passes --test): the package
# test builds a bookworm root (mmdebstrap) and checks the .deb (lintian, dpkg-dev); the
# arm64 cross build links with gcc-aarch64-linux-gnu and runs under qemu-user-static; the
# image builder's offline test makes FAT and ext4 partitions in a file (dosfstools, mtools,
# fdisk, e2fsprogs); libfaketime sets the wall clock of nvr alone (the clock-step test).
TEST_PACKAGES="mmdebstrap lintian dpkg-dev fakeroot unzip
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static chromium
  dosfstools mtools fdisk e2fsprogs libfaketime"

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

if [ "${1:-}" = "--test" ]; then
  [ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
  if ! command -v cargo-deb >/dev/null 2>&1; then
    echo "install-deps: installing cargo-deb"
    cargo install cargo-deb --locked --version 3.8.0
  fi
fi
