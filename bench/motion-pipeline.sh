#!/bin/bash
# Whole-pipeline cost of motion detection: one 640x360 camera recorded by nvr with and without
# `motion = true` (5 fps branch), same stream, same run. Prints nvr's CPU seconds for both and
# the difference per second: what motion costs on this machine (decode dominates).
#
# The camera encodes a moving pattern (its own CPU is not counted: only nvr's process is).
# Usage: bench/motion-pipeline.sh [SECONDS]     (default 30)
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-30}
cargo build --release --locked -q
NVR=$PWD/target/release/nvr
WORK=$(mktemp -d /tmp/nvr-motionpipe.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
TICK=$(getconf CLK_TCK)

"$NVR" testcam --size 640x360 --fps 15 --gop 15 --kbps 1000 > "$WORK/cam.out" 2>&1 &
for _ in $(seq 50); do grep -q '^url ' "$WORK/cam.out" && break; sleep 0.1; done
URL=$(sed -n 's/^url //p' "$WORK/cam.out")

run() {
  local extra=$1 dir="$WORK/$2"
  mkdir -p "$dir"
  printf '[storage]\npath = "%s/rec"\n[http]\nlisten = "127.0.0.1:0"\n[log]\nlevel = "warn"\n[[camera]]\nname = "c"\nurl = "%s"\n%s\n' \
    "$dir" "$URL" "$extra" > "$dir/nvr.toml"
  "$NVR" run --config "$dir/nvr.toml" 2> "$dir/log" &
  local pid=$!
  sleep "$SECS"
  awk -v t="$TICK" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$pid/stat"
  kill -TERM $pid; wait $pid || true
}
off=$(run "" off)
on=$(run "motion = true" on)
echo
echo "bench: one 640x360 15 fps H.264 camera, ${SECS} s each, $(nproc) cores"
printf '  nvr, recording only            %6.2f s CPU\n' "$off"
printf '  nvr, recording + motion 5 fps  %6.2f s CPU\n' "$on"
awk -v a="$off" -v b="$on" -v s="$SECS" 'BEGIN { printf "  motion costs %.1f%% of one core (%.2fx the recording-only CPU)\n", (b - a) / s * 100, (a > 0 ? b / a : 0) }'
