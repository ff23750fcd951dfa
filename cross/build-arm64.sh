#!/bin/bash
# The arm64 build without Docker: an arm64 Debian bookworm sysroot made from Debian's own
# packages (apt with a private state, .debs unpacked; no chroot, no emulation), rustup's
# aarch64 target and gcc-aarch64-linux-gnu. Produces the same binary `cross` builds, then
# the arm64 .deb, and (with --smoke) proves it under qemu-aarch64: `nvr --version`,
# `nvr check` of the packaged config, and a real recording of an RTSP stream.
#
# Usage: cross/build-arm64.sh [--smoke]
# Output: target/aarch64-unknown-linux-gnu/release/nvr and
#         target/debian/nvr_<version>_arm64.deb
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=aarch64-unknown-linux-gnu
WORK=$PWD/target/arm64-sysroot
SYSROOT=$WORK/root
# Build closure (-dev) plus what the pipelines load at run time (for the smoke test).
PACKAGES="libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstrtspserver-1.0-dev
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-libav"

need() { command -v "$1" >/dev/null 2>&1 || { echo "build-arm64: $1 missing: $2" >&2; exit 1; }; }
need aarch64-linux-gnu-gcc "apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross"
need cargo-deb "cargo install cargo-deb --locked"
grep -qx "$TARGET" <<<"$(rustup target list --installed)" || rustup target add "$TARGET"

# --- sysroot (kept between runs; rebuilt when the package list changes) -----------------
stamp=$(echo "$PACKAGES" | sha256sum | cut -c1-16)
if [ "$(cat "$WORK/stamp" 2>/dev/null)" != "$stamp" ]; then
  echo "build-arm64: making the arm64 sysroot in $SYSROOT"
  rm -rf "$WORK"
  mkdir -p "$WORK/state/lists/partial" "$WORK/cache/archives/partial" "$SYSROOT" "$WORK/etc"
  : > "$WORK/status"
  # Bookworm's sources, whatever the host's sources.list looks like.
  echo "deb http://deb.debian.org/debian bookworm main" > "$WORK/etc/sources.list"
  echo "deb http://deb.debian.org/debian-security bookworm-security main" >> "$WORK/etc/sources.list"
  echo "deb http://deb.debian.org/debian bookworm-updates main" >> "$WORK/etc/sources.list"
  APT=(-o APT::Architecture=arm64 -o APT::Architectures=arm64
       -o Dir::State="$WORK/state" -o Dir::State::status="$WORK/status"
       -o Dir::Cache="$WORK/cache" -o Dir::Etc::SourceList="$WORK/etc/sources.list"
       -o Dir::Etc::SourceParts=/nonexistent -o Debug::NoLocking=1 -q)
  apt-get "${APT[@]}" update >/dev/null
  # shellcheck disable=SC2086
  apt-get "${APT[@]}" install -y --download-only --no-install-recommends $PACKAGES >/dev/null
  for d in "$WORK"/cache/archives/*.deb; do dpkg -x "$d" "$SYSROOT"; done
  rm -rf "$WORK/cache/archives"
  echo "$stamp" > "$WORK/stamp"
fi

# Libraries Debian installs through update-alternatives (BLAS/LAPACK, which libav's filters
# link): unpacking runs no maintainer scripts, so make their links here (idempotent).
for lib in "$SYSROOT"/usr/lib/aarch64-linux-gnu/{blas,lapack}/lib*.so.*; do
  [ -e "$lib" ] || continue
  ln -sfn "$(basename "$(dirname "$lib")")/$(basename "$lib")" \
    "$SYSROOT/usr/lib/aarch64-linux-gnu/$(basename "$lib")"
done

# --- build ------------------------------------------------------------------------------
echo "build-arm64: cargo build --release --target $TARGET"
PKG_CONFIG_ALLOW_CROSS=1 \
PKG_CONFIG_SYSROOT_DIR="$SYSROOT" \
PKG_CONFIG_LIBDIR="$SYSROOT/usr/lib/aarch64-linux-gnu/pkgconfig:$SYSROOT/usr/share/pkgconfig" \
CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C link-arg=--sysroot=$SYSROOT" \
  cargo build --release --locked --target "$TARGET" -q
BIN=target/$TARGET/release/nvr
# The binary is stripped at link time (profile.release), so cargo-deb need not strip it.
DEB=$(cargo deb --no-build --no-strip --target "$TARGET" 2>/dev/null | tail -n 1)
echo "build-arm64: $BIN"
echo "build-arm64: $DEB"
[ "${1:-}" = "--smoke" ] || exit 0

# --- smoke test under qemu --------------------------------------------------------------
need qemu-aarch64-static "apt-get install qemu-user-static"
passed=0
failed=0
ok() { echo "  ok   $*"; passed=$((passed + 1)); }
bad() { echo "  FAIL $*"; failed=$((failed + 1)); }
# Whether a file plays as H.264 by GStreamer's discoverer. Its output is captured before it is
# searched: with pipefail, `discoverer | grep -q` fails at random when grep exits at the match
# and the discoverer, still printing, dies of SIGPIPE (16 of 100 runs on a loaded machine).
plays_h264() { local out; out=$(gst-discoverer-1.0 "$1" 2>/dev/null) && [[ $out == *"video #1: H.264"* ]]; }
RUN=$(mktemp -d /tmp/nvr-arm64.XXXXXX)
trap 'pkill -f "$RUN" 2>/dev/null || true; sleep 1; rm -rf "$RUN"' EXIT
# A clip for the recording test, made by the host's GStreamer (x264 is not in the sysroot).
gst-launch-1.0 -q videotestsrc num-buffers=50 ! video/x-raw,width=320,height=240,framerate=10/1 \
  ! x264enc speed-preset=ultrafast key-int-max=10 ! video/x-h264,stream-format=byte-stream \
  ! filesink location="$RUN/clip.h264"
# The arm64 nvr uses GStreamer from the sysroot; its plugin scanner is an arm64 binary, so
# scan in-process.
arm() {
  GST_PLUGIN_SYSTEM_PATH="$SYSROOT/usr/lib/aarch64-linux-gnu/gstreamer-1.0" \
  GST_PLUGIN_SCANNER=/nonexistent GST_REGISTRY_FORK=no GST_REGISTRY="$RUN/registry.bin" \
    qemu-aarch64-static -L "$SYSROOT" "$BIN" "$@"
}

echo "== smoke test of the arm64 build under qemu"
if [ "$(od -An -t x2 -j 18 -N 2 "$BIN" | tr -d ' ')" = "00b7" ]; then ok "ELF machine is aarch64"; else bad "not an aarch64 ELF"; fi
if [ "$(dpkg-deb -f "$DEB" Architecture)" = arm64 ]; then ok "package architecture arm64"; else bad "package architecture"; fi
if v=$(arm --version) && [ "$v" = "nvr $(cargo metadata --no-deps --format-version 1 | sed 's/.*"version":"\([^"]*\)".*/\1/')" ]; then
  ok "nvr --version: $v"
else
  bad "nvr --version: ${v:-}"
fi
sed "s|/var/lib/nvr/recordings|$RUN/rec|" debian/nvr.toml > "$RUN/default.toml"
if arm check "$RUN/default.toml" > "$RUN/check.out" 2>&1; then
  ok "nvr check of the packaged config (every GStreamer element found)"
else
  bad "nvr check"; cat "$RUN/check.out"
fi

# A real recording: the arm64 test camera serves the pre-encoded clip made above (no encoder
# needed in the sysroot), the arm64 recorder records it.
arm testcam --file "$RUN/clip.h264" --fps 10 > "$RUN/cam.out" 2>&1 &
cam=$!
for _ in $(seq 300); do grep -q '^url ' "$RUN/cam.out" && break; sleep 0.1; done
url=$(sed -n 's/^url //p' "$RUN/cam.out")
printf '[storage]\npath = "%s/rec"\nsegment_seconds = 2\n[http]\nlisten = "127.0.0.1:0"\n[[camera]]\nname = "arm"\nurl = "%s"\n' \
  "$RUN" "$url" > "$RUN/rec.toml"
arm run --config "$RUN/rec.toml" > "$RUN/run.log" 2>&1 &
run=$!
# Emulation is slow: give it time to connect before counting seconds of recording.
# Wait for what is being tested (two finished segments: a third file has been opened), not
# for a fixed time: under emulation on a loaded machine 8 s of wall clock held one segment.
for _ in $(seq 1200); do
  [ "$(find "$RUN/rec/arm" -name '*.mp4' 2>/dev/null | wc -l)" -ge 3 ] && break
  sleep 0.1
done
kill -TERM "$run"; wait "$run" || true
kill -TERM "$cam"; wait "$cam" || true
n=0
for f in "$RUN"/rec/arm/*/*.mp4; do
  [ -e "$f" ] || continue
  plays_h264 "$f" && n=$((n + 1))
done
if [ "$n" -ge 2 ]; then ok "arm64 nvr recorded $n playable segments"; else bad "recorded $n segments"; cat "$RUN/run.log"; fi

echo "arm64: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
