#!/bin/bash
# Hikvision NAS import throughput, three ways over the same generated camera folder, same run:
#   nvr   : `nvr hikvision sync --once` (index, remux in-process with GStreamer, audio kept)
#   seed  : the seed's method per segment: byte-range copy to a temp file in 4 KiB chunks,
#           `ffmpeg -i tmp -threads auto -c:v copy -an out.mp4`, delete the temp file
#   cat   : `cat` of the same containers into one file (the I/O floor)
# Prints MB/s of each and the ratios. The folder (1280x720 H.265 + AAC, ~7 Mbit/s, 30 s
# segments in 256 MiB containers) is generated once into bench/.cache.
#
# Usage: bench/hikvision.sh [SIZE_MB]     (default 1100)
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${1:-1100}
cargo build --release --locked -q --bin nvr --example hik_datadir
NVR=$PWD/target/release/nvr
CAM=bench/.cache/hik-$SIZE/Camera-Bench
TSV=bench/.cache/hik-$SIZE/segments.tsv
WORK=$(mktemp -d /tmp/nvr-hikbench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
if [ ! -s "$TSV" ]; then
  echo "bench: generating a ${SIZE} MB camera folder (once; cached in bench/.cache)"
  rm -rf "bench/.cache/hik-$SIZE"
  mkdir -p "$CAM"
  target/release/examples/hik_datadir "$CAM" "$SIZE" "$TSV" > /dev/null
fi
BYTES=$(awk -F'\t' '{s += $3 - $2} END {print s}' "$TSV")
NSEG=$(wc -l < "$TSV")
cat "$CAM"/datadir*/hiv*.mp4 > /dev/null   # all three start from the page cache

now() { date +%s.%N; }
mbps() { awk -v b="$BYTES" -v t="$1" 'BEGIN {printf "%.0f", b / 1e6 / t}'; }

# nvr as configured by default (two remux threads on a 2+ core machine), then with one.
nvr_run() {
  printf '[hikvision]\nsources = ["%s"]\noutput = "%s/nvr"\nlookback_days = 0\nretention_days = 0\nimages = false\n%s\n' \
    "$PWD/$CAM" "$WORK" "$1" > "$WORK/nvr.toml"
  local t0
  t0=$(now)
  "$NVR" hikvision sync --once --config "$WORK/nvr.toml" 2> "$WORK/nvr.log"
  awk -v a="$t0" -v b="$(now)" 'BEGIN {print b - a}'
  grep -q "video $NSEG new" "$WORK/nvr.log" || { echo "nvr did not import $NSEG segments:" >&2; cat "$WORK/nvr.log" >&2; exit 1; }
  rm -rf "$WORK/nvr"
}
t_nvr=$(nvr_run "")
t_nvr1=$(nvr_run "workers = 1")

mkdir -p "$WORK/seed"
t0=$(now)
i=0
while IFS=$'\t' read -r path start end; do
  python3 - "$path" "$start" "$end" "$WORK/seed/tmp.h264" <<'PY'
import sys
src, start, end, dst = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
with open(src, "rb") as f, open(dst, "wb") as o:
    f.seek(start)
    left = end - start
    while left > 0:
        chunk = f.read(min(4096, left))
        if not chunk:
            break
        o.write(chunk)
        left -= len(chunk)
PY
  ffmpeg -nostdin -v error -i "$WORK/seed/tmp.h264" -threads auto -c:v copy -an "$WORK/seed/$i.mp4" -hide_banner
  rm "$WORK/seed/tmp.h264"
  i=$((i + 1))
done < "$TSV"
t_seed=$(awk -v a="$t0" -v b="$(now)" 'BEGIN {print b - a}')
rm -rf "$WORK/seed"

t0=$(now)
cat "$CAM"/datadir*/hiv*.mp4 > "$WORK/cat.out"
sync "$WORK/cat.out" 2>/dev/null || true
t_cat=$(awk -v a="$t0" -v b="$(now)" 'BEGIN {print b - a}')
rm -f "$WORK/cat.out"

echo "segments: $NSEG, $((BYTES / 1000000)) MB of MPEG-PS"
printf '%-12s %8.2f s %6s MB/s\n' nvr "$t_nvr" "$(mbps "$t_nvr")" "nvr 1 thread" "$t_nvr1" "$(mbps "$t_nvr1")" \
  seed "$t_seed" "$(mbps "$t_seed")" cat "$t_cat" "$(mbps "$t_cat")"
awk -v n="$t_nvr" -v n1="$t_nvr1" -v s="$t_seed" -v c="$t_cat" 'BEGIN {
  printf "nvr vs seed: %.2fx faster (1 thread: %.2fx; target >= 5x)\n", s / n, s / n1
  printf "nvr vs cat:  %.0f%% of cat throughput (1 thread: %.0f%%; target >= 50%%)\n", 100 * c / n, 100 * c / n1 }'
