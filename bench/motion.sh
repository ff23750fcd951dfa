#!/bin/bash
# Motion detection: nvr's detector vs an OpenCV implementation of the seeds' detector, over the
# same decoded frames (GRAY8, from GStreamer).
#
# 1. Speed: ms/frame of both at 640x360 and 1280x720 (best of 3, alternating), the ratio, and
#    precision/recall on that clip, so speed is never bought with quality.
# 2. Quality: a set of clips with known motion intervals (bench/motion_clips.py: the test ball
#    with lights switching, a slow light ramp, low contrast, and a real street scene, OpenCV's
#    sample vtest.avi from Debian's opencv-doc package), scored per frame and per event
#    (bench/motion_score.py), for both detectors.
#
# Needs PyPI (opencv-python-headless, numpy) for the reference and the clips; installs them in
# a venv under bench/.cache, where vtest.avi is kept too (skipped with a message when the
# package cannot be had).
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
PY=$CACHE/venv/bin/python
cargo build --release --locked -q --example motion_bench
BIN=target/release/examples/motion_bench
WORK=$(mktemp -d /tmp/nvr-motionbench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# Moving test ball, 300 frames at 5 fps, as GRAY8.
ball() {
  gst-launch-1.0 -q videotestsrc pattern=ball num-buffers=300 \
    ! "video/x-raw,width=$1,height=$2,framerate=5/1" ! videoconvert ! video/x-raw,format=GRAY8 \
    ! filesink location="$WORK/ball-$1x$2.raw"
}
# The real street scene: vtest.avi from Debian's opencv-doc (OpenCV's sample data).
VTEST=$CACHE/vtest.avi
if [ ! -s "$VTEST" ]; then
  ( cd "$WORK" && apt-get download opencv-doc > /dev/null 2>&1 \
    && dpkg-deb --fsys-tarfile opencv-doc_*.deb | tar -xO ./usr/share/doc/opencv-doc/examples/data/vtest.avi ) \
    > "$VTEST.part" 2> /dev/null && mv "$VTEST.part" "$VTEST" || rm -f "$VTEST.part"
fi
street=()
if [ -s "$VTEST" ]; then
  gst-launch-1.0 -q filesrc location="$VTEST" ! decodebin ! videorate ! videoscale ! videoconvert \
    ! video/x-raw,format=GRAY8,width=640,height=480,framerate=5/1 ! filesink location="$WORK/street.raw"
  street=("$WORK/street.raw" 640 480)
else
  echo "bench: no vtest.avi (apt-get download opencv-doc failed): the real street clip is skipped"
fi

best() { sort -n | head -1; }
# Scores "nvr|cv" on clip $1 in $2: prints "ms_nvr ms_cv score_nvr score_cv".
run_clip() {
  local dir=$1 name=$2 w=$3 h=$4 n c
  n=$(for _ in 1 2 3; do "$BIN" "$dir/$name.raw" "$w" "$h" "$dir/$name.nvr"; done | best)
  c=$(for _ in 1 2 3; do "$PY" bench/motion_opencv.py "$dir/$name.raw" "$w" "$h" "$dir/$name.cv"; done | best)
  echo "$n $c $(python3 bench/motion_score.py "$dir/$name.truth" "$dir/$name.nvr") $(python3 bench/motion_score.py "$dir/$name.truth" "$dir/$name.cv")"
}

printf '\nbench: motion detection speed, 400 frames, best of 3, %s cores\n' "$(nproc)"
printf '%-10s | %12s %12s %7s | %-23s | %-23s\n' size "nvr ms/frame" "cv ms/frame" ratio \
  "nvr frame p/r event p/r" "cv frame p/r event p/r"
for size in 640x360 1280x720; do
  w=${size%x*}; h=${size#*x}
  ball "$w" "$h"
  mkdir -p "$WORK/$size"
  "$PY" bench/motion_clips.py "$WORK/$size" "$WORK/ball-$size.raw" "$w" "$h" --only ball
  read -r nms cms np nr nep ner _ _ cp cr cep cer _ _ <<< "$(run_clip "$WORK/$size" ball "$w" "$h")"
  printf '%-10s | %12s %12s %6.1fx | %5s %5s  %5s %5s | %5s %5s  %5s %5s\n' "$size" "$nms" "$cms" \
    "$(echo "$cms / $nms" | bc -l)" "$np" "$nr" "$nep" "$ner" "$cp" "$cr" "$cep" "$cer"
done
echo "ratio = OpenCV time / nvr time (higher is better for nvr); target >= 5x at equal or better precision/recall"

printf '\nbench: motion detection quality, events = active frames less than 2 s apart\n'
mkdir -p "$WORK/q"
"$PY" bench/motion_clips.py "$WORK/q" "$WORK/ball-640x360.raw" 640 360 "${street[@]}"
printf '%-7s | %-23s | %-23s | %s\n' clip "nvr frame p/r event p/r" "cv frame p/r event p/r" "events nvr/cv/true; what"
tot=(0 0 0 0 0 0)
while read -r name w h what; do
  read -r _ _ np nr nep ner ne nt cp cr cep cer ce _ <<< "$(run_clip "$WORK/q" "$name" "$w" "$h")"
  printf '%-7s | %5s %5s  %5s %5s | %5s %5s  %5s %5s | %s/%s/%s; %s\n' "$name" "$np" "$nr" "$nep" "$ner" \
    "$cp" "$cr" "$cep" "$cer" "$ne" "$ce" "$nt" "$what"
  # Totals over all clips: right events and found intervals, for both.
  tot=($(echo "${tot[0]} + $nep * $ne" | bc) $(echo "${tot[1]} + $ne" | bc) \
       $(echo "${tot[2]} + $cep * $ce" | bc) $(echo "${tot[3]} + $ce" | bc) \
       $(echo "${tot[4]} + $ner * $nt" | bc) $(echo "${tot[5]} + $cer * $nt" | bc))
  ntrue=$(( ${ntrue:-0} + nt ))
done < "$WORK/q/clips.txt"
printf 'all clips: nvr event precision %.3f recall %.3f; OpenCV event precision %.3f recall %.3f (%d true intervals)\n' \
  "$(echo "${tot[0]} / ${tot[1]}" | bc -l)" "$(echo "${tot[4]} / $ntrue" | bc -l)" \
  "$(echo "${tot[2]} / ${tot[3]}" | bc -l)" "$(echo "${tot[5]} / $ntrue" | bc -l)" "$ntrue"
