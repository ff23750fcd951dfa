# Shared by the benchmarks (sourced from the repository's root): the test clip and the camera
# that serves it, and what they read of a running process.
#
# The clip: 10 s of 1080p25 H.264 at ~4 Mbit/s, encoded once and cached. Serving it costs the
# camera no encoding, so the same process can feed nvr and its reference alike.
CLIP=bench/.cache/clip-1080p-4M.h264

bench_clip() {
  [ -s "$CLIP" ] && return
  mkdir -p bench/.cache
  echo "bench: encoding a 10 s 1080p H.264 clip at ~4 Mbit/s (once; cached in $CLIP)"
  gst-launch-1.0 -q videotestsrc num-buffers=250 pattern=snow \
    ! video/x-raw,width=1920,height=1080,framerate=25/1 \
    ! x264enc bitrate=4000 key-int-max=25 speed-preset=ultrafast \
    ! video/x-h264,stream-format=byte-stream ! filesink location="$CLIP"
}

# A scene for motion, looped by `nvr testcam --file`: STILL frames of a still picture, then
# MOVING frames of a moving ball; H.264 at a constant KBPS with filler, so a still scene costs
# the disk what a moving one does.   scene_clip OUT WxH FPS GOP KBPS STILL MOVING
scene_clip() {
  local out=$1 fps=$3 gop=$4 kbps=$5 still=$6 moving=$7
  local caps="video/x-raw,width=${2%x*},height=${2#*x},framerate=$fps/1"
  local enc="x264enc speed-preset=ultrafast tune=zerolatency key-int-max=$gop bitrate=$kbps \
    pass=cbr vbv-buf-capacity=1000 option-string=nal-hrd=cbr:filler \
    ! video/x-h264,stream-format=byte-stream,profile=constrained-baseline"
  # shellcheck disable=SC2086
  gst-launch-1.0 -q videotestsrc pattern=ball num-buffers=1 ! imagefreeze num-buffers="$still" \
    ! $caps ! $enc ! filesink location="$out.still"
  # shellcheck disable=SC2086
  gst-launch-1.0 -q videotestsrc pattern=ball num-buffers="$moving" ! $caps ! $enc \
    ! filesink location="$out.moving"
  cat "$out.still" "$out.moving" > "$out"
  rm -f "$out.still" "$out.moving"
}

# Starts `nvr testcam` looping the clip at 25 fps, its output in $WORK/cam.out, and sets URL
# (exits when it does not answer). Needs NVR and WORK.
bench_camera() {
  bench_clip
  "$NVR" testcam --file "$CLIP" --fps 25 "$@" > "$WORK/cam.out" 2>&1 &
  for _ in $(seq 50); do grep -q '^url ' "$WORK/cam.out" && break; sleep 0.1; done
  URL=$(sed -n 's/^url //p' "$WORK/cam.out")
  [ -n "$URL" ] || { cat "$WORK/cam.out"; exit 1; }
}

TICK=$(getconf CLK_TCK)

# CPU seconds (user+sys, all threads) and peak RSS in KiB of a running process.
cpu_s() { awk -v t="$TICK" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$1/stat"; }
hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
nthreads() { ls "/proc/$1/task" | wc -l; }
# CPU seconds per thread name (summed over threads of the same name), busiest first: where a
# regression is. The name is the field in parentheses of /proc/PID/task/TID/stat.
threads_cpu() {
  for t in /proc/"$1"/task/*/stat; do
    sed -E 's/^[0-9]+ \((.*)\) [A-Z] (.*)$/\1\t\2/' "$t" 2>/dev/null
  done | awk -F'\t' -v t="$TICK" '{ split($2, f, " "); cpu[$1] += (f[12] + f[13]) / t; n[$1]++ }
    END { for (k in cpu) printf "%.2f %s x%d\n", cpu[k], k, n[k] }' | sort -rn | head -"${2:-8}" \
    | awk '{ printf "      %6.2fs  %s %s\n", $1, $2, $3 }'
}

# Signal processes, give them 10 s to finalize, then kill what is left.
stop_wait() {
  local sig=$1; shift
  kill "-$sig" "$@" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$@" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$@" 2>/dev/null || true
  wait "$@" 2>/dev/null || true
}
