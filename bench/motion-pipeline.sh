#!/bin/bash
# Whole-pipeline cost of motion detection: one 640x360 15 fps camera recorded by nvr without
# motion, with `motion = true` (5 fps branch decoding the recorded stream), and with motion on
# a 320x180 substream (`sub_url`, a second RTSP session), same run. As the reference, a bare
# gst-launch-1.0 pipeline doing the same decoding (rtspsrc, depay, parse, avdec_h264 on one
# thread, videorate 5 fps, videoscale) and nothing else. Prints CPU seconds of each process
# and what motion adds to nvr against what the bare decode costs.
#
# The cameras' own CPU is not counted (only the measured process).
# Usage: bench/motion-pipeline.sh [SECONDS]     (default 30)
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-30}
cargo build --release --locked -q
NVR=$PWD/target/release/nvr
WORK=$(mktemp -d /tmp/nvr-motionpipe.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
TICK=$(getconf CLK_TCK)

camera() {
  "$NVR" testcam "$@" > "$WORK/cam$#.out" 2>&1 &
  for _ in $(seq 50); do grep -q '^url ' "$WORK/cam$#.out" && break; sleep 0.1; done
  sed -n 's/^url //p' "$WORK/cam$#.out"
}
URL=$(camera --size 640x360 --fps 15 --gop 15 --kbps 1000)
SUB=$(camera --size 320x180 --fps 15 --gop 15 --kbps 300 --mount /sub)
cpu() { awk -v t="$TICK" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$1/stat"; }

run() {
  local extra=$1 dir="$WORK/$2"
  mkdir -p "$dir"
  printf '[storage]\npath = "%s/rec"\n[http]\nlisten = "127.0.0.1:0"\n[log]\nlevel = "warn"\n[[camera]]\nname = "c"\nurl = "%s"\n%s\n' \
    "$dir" "$URL" "$extra" > "$dir/nvr.toml"
  "$NVR" run --config "$dir/nvr.toml" 2> "$dir/log" &
  local pid=$!
  sleep "$SECS"
  cpu $pid
  kill -TERM $pid; wait $pid || true
}
reference() {
  gst-launch-1.0 -q rtspsrc location="$1" protocols=tcp ! rtph264depay ! h264parse \
    ! avdec_h264 max-threads=1 output-corrupt=false ! videorate max-rate=5 drop-only=true \
    ! videoscale ! video/x-raw,width=320 ! fakesink sync=false > /dev/null 2>&1 &
  local pid=$!
  sleep "$SECS"
  cpu $pid
  kill -INT $pid; wait $pid || true
}
off=$(run "" off)
on=$(run "motion = true" on)
sub=$(run "motion = true
sub_url = \"$SUB\"" sub)
ref=$(reference "$URL")
refsub=$(reference "$SUB")
echo
echo "bench: one 640x360 15 fps H.264 camera (substream 320x180), ${SECS} s each, $(nproc) cores"
printf '  nvr, recording only                        %6.2f s CPU\n' "$off"
printf '  nvr, recording + motion 5 fps              %6.2f s CPU\n' "$on"
printf '  nvr, recording + motion on the substream   %6.2f s CPU\n' "$sub"
printf '  gst-launch-1.0, bare decode of the stream  %6.2f s CPU\n' "$ref"
printf '  gst-launch-1.0, bare decode of substream   %6.2f s CPU\n' "$refsub"
awk -v a="$off" -v b="$on" -v c="$sub" -v r="$ref" -v q="$refsub" -v s="$SECS" 'BEGIN {
  printf "  motion on the stream costs %.1f%% of one core: %.2fx the bare decode\n", (b - a) / s * 100, (r > 0 ? (b - a) / r : 0)
  printf "  motion on the substream costs %.1f%% of one core: %.2fx the bare decode\n", (c - a) / s * 100, (q > 0 ? (c - a) / q : 0)
}'
