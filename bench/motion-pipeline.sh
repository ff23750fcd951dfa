#!/bin/bash
# Whole-pipeline cost of motion detection: one 640x360 15 fps camera recorded by nvr without
# motion, with `motion = true` (5 fps branch decoding the recorded stream), and with motion on
# a 320x180 substream (`sub_url`, a second RTSP session), same run. As the reference, a bare
# gst-launch-1.0 pipeline doing the same decoding (rtspsrc, depay+parse or parsebin, leaky
# queue, avdec_h264 on one thread, videorate 5 fps, videoscale, videoconvert) and nothing else. Prints CPU seconds of each process
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
CAMS=()
trap 'kill "${CAMS[@]}" $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
TICK=$(getconf CLK_TCK)

# Started in this shell (not in a $(...) subshell), so the trap can stop them: cameras left
# running would encode on and load the next measurements.
camera() {
  local out="$WORK/$1.out"; shift
  "$NVR" testcam "$@" > "$out" 2>&1 &
  CAMS+=($!)
  for _ in $(seq 50); do grep -q '^url ' "$out" && break; sleep 0.1; done
}
camera main --size 640x360 --fps 15 --gop 15 --kbps 1000
camera sub --size 320x180 --fps 15 --gop 15 --kbps 300 --mount /sub
URL=$(sed -n 's/^url //p' "$WORK/main.out")
SUB=$(sed -n 's/^url //p' "$WORK/sub.out")
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
# The branch's own chain (pipelines/motion*.pipeline) in gst-launch, without nvrmotion: the
# substream through rtspsrc ! parsebin as nvr opens it, the recorded stream depayloaded and
# parsed as the recording pipeline hands it over.
reference() {
  local head="rtph264depay ! h264parse"
  [ "$1" = "$SUB" ] && head="parsebin"
  # shellcheck disable=SC2086
  gst-launch-1.0 -q rtspsrc location="$1" protocols=tcp latency=300 ! $head \
    ! queue leaky=downstream max-size-buffers=30 max-size-bytes=0 max-size-time=0 \
    ! avdec_h264 max-threads=1 output-corrupt=false ! videorate max-rate=5 drop-only=true \
    ! videoscale ! videoconvert ! video/x-raw,width=320 ! fakesink sync=false async=false \
    > /dev/null 2>&1 &
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
