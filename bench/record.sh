#!/bin/bash
# Recording cost: nvr vs. a bare gst-launch-1.0 pipeline per camera, side by side.
#
# A local RTSP server (`nvr testcam --file`) serves a pre-encoded 1080p H.264 clip at about
# 4 Mbit/s in a loop (no encoding on the server side; it is the same process for both runs).
# For N = 1, 4, 8 cameras, records SECONDS seconds with `nvr run` (one process, N cameras) and
# then with N `gst-launch-1.0` processes running the same pipeline nvr renders from
# pipelines/record.pipeline + video-h264.pipeline. Prints CPU seconds and peak RSS of each and
# their ratios, and per-thread CPU by thread name (from /proc/PID/task/*/stat) so the next
# regression shows where it is. Run at least 3 segments (30 s) so previews are included.
#
# Usage: bench/record.sh [SECONDS] [N...]     (default: 40 s, N = 1 4 8 16)
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN=${1:-40}
shift || true
COUNTS=("${@:-1 4 8 16}")
# shellcheck disable=SC2206
COUNTS=(${COUNTS[*]})

cargo build --release --locked -q
NVR=$PWD/target/release/nvr
WORK=$(mktemp -d /tmp/nvr-bench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_clip
clip_kbps=$(( $(stat -c %s "$CLIP") * 8 / 10 / 1000 ))

# The camera: one shared server pipeline, paced at 25 fps.
bench_camera --mount /cam

# The same pipeline nvr builds, as gst-launch text (see pipelines/).
gst_pipeline() {
  local dir=$1
  echo "rtspsrc location=$URL protocols=tcp latency=300 do-rtsp-keep-alive=true tcp-timeout=10000000 \
    ! rtph264depay ! h264parse config-interval=-1 ! h264timestamper \
    ! queue max-size-time=10000000000 max-size-bytes=33554432 max-size-buffers=0 \
    ! splitmuxsink async-finalize=true max-size-time=10500000000 muxer-factory=mp4mux \
      muxer-properties=\"properties,reserved-max-duration=(guint64)70500000000,reserved-moov-update-period=(guint64)1000000000\" \
      sink-factory=filesink sink-properties=\"properties,buffer-mode=2\" location=$dir/seg%05d.mp4"
}

printf '\nbench: %s s per run, clip %d kbit/s 1080p25 H.264, %s\n\n' "$SECONDS_PER_RUN" "$clip_kbps" "$(nproc) cores"
printf '%3s | %9s %9s %6s | %10s %10s %6s | %s\n' N "nvr cpu" "gst cpu" ratio "nvr rss" "gst rss" ratio "MB written nvr/gst"
printf -- '----+--------------------------+-------------------------------+---------------\n'

for n in "${COUNTS[@]}"; do
  # nvr: one process, n cameras on the same stream.
  rec="$WORK/nvr-$n"
  mkdir -p "$rec"
  {
    printf '[storage]\npath = "%s/rec"\nsegment_seconds = 10\n[http]\nlisten = "127.0.0.1:0"\n[log]\nlevel = "warn"\n' "$rec"
    for i in $(seq "$n"); do printf '[[camera]]\nname = "cam%d"\nurl = "%s"\n' "$i" "$URL"; done
  } > "$rec/nvr.toml"
  "$NVR" run --config "$rec/nvr.toml" 2> "$rec/log" &
  pid=$!
  sleep "$SECONDS_PER_RUN"
  nvr_cpu=$(cpu_s $pid); nvr_rss=$(hwm_kb $pid); nvr_now=$(rss_kb $pid)
  nvr_threads=$(nthreads $pid); nvr_by_thread=$(threads_cpu $pid)
  stop_wait TERM $pid
  nvr_mb=$(du -sm "$rec/rec" | cut -f1)

  # gst-launch: n processes, one per camera.
  pids=()
  for i in $(seq "$n"); do
    d="$WORK/gst-$n-$i"; mkdir -p "$d"
    # exec: $! must be gst-launch itself, not a subshell around it.
    eval "exec gst-launch-1.0 -q -e $(gst_pipeline "$d")" > "$d/log" 2>&1 &
    pids+=($!)
  done
  sleep "$SECONDS_PER_RUN"
  gst_cpu=0; gst_rss=0
  gst_threads=$(nthreads "${pids[0]}"); gst_by_thread=$(threads_cpu "${pids[0]}" 5)
  for p in "${pids[@]}"; do
    gst_cpu=$(awk -v a="$gst_cpu" -v b="$(cpu_s "$p")" 'BEGIN { printf "%.2f", a + b }')
    gst_rss=$(( gst_rss + $(hwm_kb "$p") ))
  done
  stop_wait INT "${pids[@]}"
  gst_mb=$(du -smc "$WORK"/gst-"$n"-* | tail -1 | cut -f1)

  awk -v n="$n" -v nc="$nvr_cpu" -v gc="$gst_cpu" -v nr="$nvr_rss" -v gr="$gst_rss" -v mb="$nvr_mb" -v gmb="$gst_mb" 'BEGIN {
    printf "%3d | %8.2fs %8.2fs %5.2fx | %8.1fMB %8.1fMB %5.2fx | %d / %d\n",
      n, nc, gc, (gc > 0 ? nc / gc : 0), nr / 1024, gr / 1024, (gr > 0 ? nr / gr : 0), mb, gmb }'
  printf '      nvr: %d threads, RSS now %.1f MB; CPU by thread:\n%s\n' "$nvr_threads" \
    "$(awk -v k="$nvr_now" 'BEGIN { print k / 1024 }')" "$nvr_by_thread"
  printf '      one gst-launch: %d threads; CPU by thread:\n%s\n' "$gst_threads" "$gst_by_thread"
  grep -E "ERROR|WARN" "$rec/log" | head -3 || true
done
echo
echo "gst rss is the sum over the N gst-launch processes; targets: nvr cpu <= 1.10x gst,"
echo "nvr rss <= 30 MB with one camera and <= +4 MB per extra camera."
