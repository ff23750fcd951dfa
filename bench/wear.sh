#!/bin/bash
# Flash wear: what a `motion` camera writes to the card against a `continuous` one, on the
# same scene, in the same run.
#
# A local RTSP server (`nvr testcam --file`) loops a generated 100 s scene: 95 s still, 5 s of
# a moving ball (5 % activity), 1280x720 at 10 fps, a constant 4 Mbit/s (as a camera in CBR
# mode sends: a still picture costs the card as much as a moving one). Two nvr processes read
# it side by side, one camera each, both detecting motion (so the difference is the mode's):
# `continuous` with `motion = true`, and `motion` with pre/post 5 s. After
# SECONDS, for each: the bytes the kernel counted the process writing (write_bytes of
# /proc/PID/io: page cache dirtied, the wear), the bytes kept under its storage folder, peak
# RSS and CPU. Targets (docs/design.md, "Writing only what is kept"): motion writes <= 1.1x
# what it keeps; its RSS above the continuous process's stays within the pre-roll's bound.
#
# Usage: bench/wear.sh [SECONDS]     (default 3600: one hour)
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN=${1:-3600}
cargo build --release --locked -q
NVR=$PWD/target/release/nvr
WORK=$(mktemp -d /tmp/nvr-wear.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
# shellcheck source=bench/lib.sh
. bench/lib.sh

SCENE=bench/.cache/scene-720p-4M-5pct.h264
if [ ! -s "$SCENE" ]; then
  mkdir -p bench/.cache
  echo "bench: encoding the 100 s scene (once; cached in $SCENE)"
  scene_clip "$SCENE" 1280x720 10 20 4000 950 50
fi
"$NVR" testcam --file "$SCENE" --fps 10 > "$WORK/cam.out" 2>&1 &
for _ in $(seq 50); do grep -q '^url ' "$WORK/cam.out" && break; sleep 0.1; done
URL=$(sed -n 's/^url //p' "$WORK/cam.out")
[ -n "$URL" ] || { cat "$WORK/cam.out"; exit 1; }

declare -A PID
for mode in continuous motion; do
  d="$WORK/$mode"; mkdir -p "$d"
  printf '[storage]\npath = "%s/rec"\nsegment_seconds = 60\n[http]\nlisten = "127.0.0.1:0"\nauth = "off"\nauth_dir = "%s/auth"\n[log]\nlevel = "info"\n[[camera]]\nname = "cam"\nurl = "%s"\nmode = "%s"\nmotion = true\npre_seconds = 5\npost_seconds = 5\n' \
    "$d" "$d" "$URL" "$mode" > "$d/nvr.toml"
  "$NVR" run --config "$d/nvr.toml" 2> "$d/log" &
  PID[$mode]=$!
done

write_bytes() { awk '/^write_bytes:/ { print $2 }' "/proc/$1/io"; }
printf '\nbench: %s s, scene 1280x720 10 fps 4 Mbit/s CBR, 5 %% motion, %s cores\n\n' \
  "$SECONDS_PER_RUN" "$(nproc)"
sleep "$SECONDS_PER_RUN"

printf '%-10s | %10s %10s %8s | %8s %8s | %s\n' mode "written MB" "kept MB" ratio "RSS MB" "CPU s" "events"
printf -- '-----------+--------------------------------+-------------------+-------\n'
declare -A W K R
for mode in continuous motion; do
  p=${PID[$mode]}; d="$WORK/$mode"
  W[$mode]=$(write_bytes "$p"); K[$mode]=$(du -sb "$d/rec" | cut -f1); R[$mode]=$(hwm_kb "$p")
  cpu=$(cpu_s "$p"); ev=$(grep -c "motion event .* started" "$d/log" || true)
  awk -v m="$mode" -v w="${W[$mode]}" -v k="${K[$mode]}" -v r="${R[$mode]}" -v c="$cpu" -v e="$ev" 'BEGIN {
    printf "%-10s | %10.1f %10.1f %7.3fx | %8.1f %8.1f | %d\n", m, w / 1e6, k / 1e6, w / k, r / 1024, c, e }'
  printf '      CPU by thread:\n%s\n' "$(threads_cpu "$p" 5)"
done
awk -v wm="${W[motion]}" -v wc="${W[continuous]}" -v rm="${R[motion]}" -v rc="${R[continuous]}" 'BEGIN {
  printf "\nmotion writes %.3fx what continuous writes; RSS motion - continuous: %+.1f MB\n",
    wm / wc, (rm - rc) / 1024 }'
grep -h "writing (event)\|pre_memory\|ERROR" "$WORK/motion/log" | tail -3 || true
stop_wait TERM "${PID[continuous]}" "${PID[motion]}"
echo "targets: motion written/kept <= 1.10x; RSS above continuous within the pre-roll (~5 MB here, cap 32 MiB)"
