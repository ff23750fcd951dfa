#!/bin/bash
# Motion detection: nvr's detector vs an OpenCV implementation of the seeds' detector, over the
# same decoded frames (GRAY8, from GStreamer), at 640x360 and 1280x720. Prints ms/frame for
# both, the ratio, and frame-level precision/recall against the known motion intervals.
#
# The scene: the test ball standing still, then moving, then still and moving again (with
# sensor-like noise added), 400 frames. Truth: moving frames are motion, still ones are not.
# Needs PyPI (opencv-python-headless, numpy) for the reference; installs them in a venv under
# bench/.cache.
#
# Usage: bench/motion.sh
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=bench/.cache
mkdir -p "$CACHE"
if [ ! -x "$CACHE/venv/bin/python" ]; then
  python3 -m venv "$CACHE/venv"
  "$CACHE/venv/bin/pip" install -q opencv-python-headless numpy
fi
cargo build --release --locked -q --example motion_bench
BIN=target/release/examples/motion_bench
WORK=$(mktemp -d /tmp/nvr-motionbench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

printf '\nbench: motion detection, 400 frames per size, %s cores\n' "$(nproc)"
printf '%-10s | %12s %12s %7s | %-17s | %-17s\n' size "nvr ms/frame" "cv ms/frame" ratio "nvr prec/recall" "cv prec/recall"
for size in 640x360 1280x720; do
  w=${size%x*}; h=${size#*x}
  raw="$WORK/$size.raw"; truth="$WORK/$size.truth"
  : > "$raw"; : > "$truth"
  caps="video/x-raw,width=$w,height=$h,framerate=5/1"
  for round in 1 2; do
    # Still: one frame frozen for 100 frames; then 100 frames of motion.
    gst-launch-1.0 -q videotestsrc pattern=ball num-buffers=1 ! imagefreeze num-buffers=100 \
      ! "$caps" ! videoconvert ! video/x-raw,format=GRAY8 ! filesink location="$WORK/part" 
    cat "$WORK/part" >> "$raw"
    # The first still frame after motion is the ball snapping back: that is motion too.
    if [ "$round" = 1 ]; then printf '0 %.0s' $(seq 100) >> "$truth"; else printf '1 ' >> "$truth"; printf '0 %.0s' $(seq 99) >> "$truth"; fi
    gst-launch-1.0 -q videotestsrc pattern=ball num-buffers=100 \
      ! "$caps" ! videoconvert ! video/x-raw,format=GRAY8 ! filesink location="$WORK/part"
    cat "$WORK/part" >> "$raw"
    printf '1 %.0s' $(seq 100) >> "$truth"
  done
  # Sensor noise on every frame (+-12 levels), the same for both detectors.
  python3 - "$raw" <<'PY'
import random, sys
p = sys.argv[1]
d = bytearray(open(p, 'rb').read())
rnd = random.Random(7)
noise = bytes(rnd.randrange(25) for _ in range(1 << 16))
for i in range(len(d)):
    v = d[i] + noise[i & 0xFFFF] - 12
    d[i] = 0 if v < 0 else 255 if v > 255 else v
open(p, 'wb').write(d)
PY
  read -r nms np nr <<< "$("$BIN" "$raw" "$w" "$h" "$truth")"
  read -r cms cp cr <<< "$("$CACHE/venv/bin/python" bench/motion_opencv.py "$raw" "$w" "$h" "$truth")"
  printf '%-10s | %12s %12s %6.1fx | %8s %8s | %8s %8s\n' "$size" "$nms" "$cms" \
    "$(echo "$cms / $nms" | bc -l)" "$np" "$nr" "$cp" "$cr"
done
echo "ratio = OpenCV time / nvr time (higher is better for nvr); target >= 5x at equal or better precision/recall"
