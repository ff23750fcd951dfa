#!/bin/bash
# Power cuts while nvr records, moves motion events and imports a Hikvision folder.
#
#   scripts/power_cut.sh [CYCLES]      (root: it mounts a FUSE file system; default 5)
#   NVR_PROFILE=debug scripts/power_cut.sh 2     (the test command's short run)
#
# A kill -9 leaves the page cache to the kernel, so it cannot show what a power cut loses.
# Here nvr's storage is LazyFS, a FUSE file system that keeps every write not fsync'd in
# memory; each cycle kills nvr at a varied moment and at once tells LazyFS to drop that memory
# ("lazyfs::clear-cache"): what is left in the backing folder is what a disk holds after a
# power cut. nvr runs four cameras and an import:
#   h264, h265  continuous (test cameras): lost seconds = cut time - end of the newest
#               playable footage, per codec;
#   yard        mode = "motion", a scene that moves 4 s in every 12: motion events;
#   gate        a camera that is up 6 s, down 3 s: outages, remembered in the history;
#   [hikvision] a generated camera folder imported onto the same disk.
# After each cut: every MP4 plays (gst-discoverer), imported ones too; then nvr starts again
# and must show, consistent with what it showed just before the cut: the catalog (exactly the
# files named before the start), the events (every closed one; the one open at the cut, kept;
# no id given twice), the history (each outage it had persisted still explains its gap) and
# the import (at the end, every segment imported exactly once).
#
# LazyFS is not packaged by Debian: it is built from the source kept beside the project
# (../shared/tools/lazyfs, or $NVR_LAZYFS_SRC); without it, or without root, this says so
# and skips.
set -eu
cd "$(dirname "$0")/.."
CYCLES=${1:-5}
SRC=${NVR_LAZYFS_SRC:-../shared/tools/lazyfs}
if [ ! -f "$SRC/lazyfs-a47a5ba.tar.gz" ]; then
    echo "SKIPPED: power cuts: no LazyFS source at $SRC (set NVR_LAZYFS_SRC)"
    exit 0
fi
[ "$(id -u)" -eq 0 ] || { echo "SKIPPED: power cuts: needs root (FUSE allow_other)"; exit 0; }
CACHE=$PWD/bench/.cache/lazyfs
LAZYFS=$CACHE/lazyfs/lazyfs/build/lazyfs
if [ ! -x "$LAZYFS" ]; then
    echo "== building LazyFS from $SRC"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends g++ cmake \
        libfuse3-dev fuse3 libspdlog-dev libtoml11-dev libfmt-dev >/dev/null
    SRC=$(cd "$SRC" && pwd)
    rm -rf "$CACHE" && mkdir -p "$CACHE/lazyfs"
    tar -xzf "$SRC/lazyfs-a47a5ba.tar.gz" -C "$CACHE/lazyfs"
    (cd "$CACHE/lazyfs/libs/libpcache" && cmake -S . -B build \
        -DFETCHCONTENT_SOURCE_DIR_TOML="$SRC/offline-deps/toml" \
        -DFETCHCONTENT_SOURCE_DIR_SPDLOG="$SRC/offline-deps/spdlog" >"$CACHE/build.log" 2>&1 &&
        cmake --build build -j2 >>"$CACHE/build.log" 2>&1)
    (cd "$CACHE/lazyfs/lazyfs" && cmake -S . -B build -DLAZYFS_BUILD_TESTS=OFF \
        -DCMAKE_CXX_STANDARD_LIBRARIES="-lspdlog -lfmt" >>"$CACHE/build.log" 2>&1 &&
        cmake --build build -j2 >>"$CACHE/build.log" 2>&1)
fi
grep -q '^user_allow_other' /etc/fuse.conf 2>/dev/null || echo user_allow_other >>/etc/fuse.conf
# NVR_PROFILE=debug: the test command's short run, on the build its tests made.
PROFILE=${NVR_PROFILE:-release}
if [ "$PROFILE" = release ]; then
    cargo build --release --locked -q --bin nvr --example hik_datadir
else
    cargo build --locked -q --bin nvr --example hik_datadir
fi
NVR=$PWD/target/$PROFILE/nvr
CHECK="python3 scripts/power_cut_check.py"

# The camera folder to import: 30 s H.265 segments, generated once.
HIK=bench/.cache/hik-power-cut
if [ ! -s "$HIK/segments.tsv" ]; then
    rm -rf "$HIK" && mkdir -p "$HIK/Camera-Cut"
    "target/$PROFILE/examples/hik_datadir" "$HIK/Camera-Cut" 300 "$HIK/segments.tsv.tmp" >/dev/null
    mv "$HIK/segments.tsv.tmp" "$HIK/segments.tsv"
fi
HIK_SEGMENTS=$(wc -l <"$HIK/segments.tsv")
# A new camera folder for each cycle's import to be cut in (hard links where they can be).
camera_folder() { cp -al "$HIK/Camera-Cut" "$W/sources/Camera-Cut-$1" 2>/dev/null ||
    cp -r "$HIK/Camera-Cut" "$W/sources/Camera-Cut-$1"; }

W=$(mktemp -d /tmp/nvr-power-cut.XXXXXX)
mkdir -p "$W/backing" "$W/mnt" "$W/sources"
camera_folder 0
mkfifo "$W/faults.fifo" "$W/faults_done.fifo"
cat >"$W/lazyfs.toml" <<TOML
[faults]
fifo_path="$W/faults.fifo"
fifo_path_completed="$W/faults_done.fifo"
[cache]
apply_eviction=false
[cache.simple]
custom_size="2gb"
blocks_per_page=1
[filesystem]
log_all_operations=false
logfile="$W/lazyfs.log"
TOML
PIDS=()
cleanup() {
    exec 2>/dev/null # not the shell's "Killed" for each helper
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    [ -f "$W/flap.pid" ] && kill -9 "$(cat "$W/flap.pid")" 2>/dev/null || true
    wait 2>/dev/null || true
    fusermount3 -u "$W/mnt" 2>/dev/null || true
}
trap cleanup EXIT
"$LAZYFS" "$W/mnt" --config-path "$W/lazyfs.toml" -o allow_other -o modules=subdir \
    -o subdir="$W/backing" -f >"$W/lazyfs.out" 2>&1 &
PIDS+=($!)
# LazyFS blocks opening its completion fifo until someone reads it.
cat "$W/faults_done.fifo" >/dev/null &
PIDS+=($!)
for _ in $(seq 100); do grep -q "waiting for fault commands" "$W/lazyfs.out" "$W/lazyfs.log" 2>/dev/null && break; sleep 0.1; done

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
url() { for _ in $(seq 100); do u=$(grep -o 'rtsp://[^ ]*' "$1" | head -1); [ -n "$u" ] && { echo "$u"; return; }; sleep 0.1; done; }

# The motion scene: 8 s still, 4 s of a moving ball, 320x240 at 10 fps, looped.
# shellcheck source=bench/lib.sh
. bench/lib.sh
scene_clip "$W/scene.h264" 320x240 10 10 300 80 40

"$NVR" testcam --port 0 >"$W/cam264.out" 2>&1 & PIDS+=($!)
"$NVR" testcam --port 0 --codec h265 >"$W/cam265.out" 2>&1 & PIDS+=($!)
"$NVR" testcam --port 0 --file "$W/scene.h264" --fps 10 >"$W/yard.out" 2>&1 & PIDS+=($!)
GATE_PORT=$(free_port)
(
    while :; do
        "$NVR" testcam --port "$GATE_PORT" --size 320x240 >/dev/null 2>&1 &
        echo $! >"$W/flap.pid"
        sleep 6
        kill "$(cat "$W/flap.pid")" 2>/dev/null || true
        wait
        sleep 3
    done
) & PIDS+=($!)
cat >"$W/hik.toml" <<TOML
[hikvision]
sources = ["$W/sources"]
output = "$W/mnt/hik"
interval_minutes = 1
lookback_days = 0
retention_days = 0
images = false
workers = 1
TOML
HTTP_PORT=$(free_port)
API=http://127.0.0.1:$HTTP_PORT
echo "$API" >"$W/api"
cat >"$W/nvr.toml" <<TOML
[storage]
path = "$W/mnt/rec"
segment_seconds = 10
[retention]
check_seconds = 10
[http]
listen = "127.0.0.1:$HTTP_PORT"
auth = "off"
auth_dir = "$W/auth"
$(cat "$W/hik.toml")
[[camera]]
name = "h264"
url = "$(url "$W/cam264.out")"
[[camera]]
name = "h265"
url = "$(url "$W/cam265.out")"
[[camera]]
name = "yard"
url = "$(url "$W/yard.out")"
mode = "motion"
motion = true
pre_seconds = 3
post_seconds = 2
[[camera]]
name = "gate"
url = "rtsp://127.0.0.1:$GATE_PORT/cam"
TOML

# What nvr shows through its API, saved as $W/$1-*.json.
snapshot() {
    curl -sf "$API/api/events" >"$W/$1-events.json"
    curl -sf "$API/status" >"$W/$1-status.json"
    curl -sf "$API/api/cameras/gate/coverage?day=$DAY" >"$W/$1-gate.json"
}
DAY=$(date +%F)
: >"$W/results.tsv"
: >"$W/catalog.tsv"
: >"$W/journals.tsv"
: >"$W/imported.tsv"
for c in $(seq 0 "$CYCLES"); do
    START=$(date +%s.%N)
    : >"$W/nvr-run.log"
    "$NVR" run --config "$W/nvr.toml" >"$W/nvr-run.log" 2>&1 &
    NVRPID=$!
    # After a cut the catalog (whose journal lost its unsynced records too) must list exactly
    # the files that survived: the recordings named before this start, and the imports.
    for _ in $(seq 100); do grep -q "catalog: " "$W/nvr-run.log" && break; sleep 0.1; done
    N=$(sed -n 's/.*catalog: \([0-9]*\) segments.*/\1/p' "$W/nvr-run.log" | head -1)
    $CHECK --catalog "$W/backing/rec" "$W/backing/hik" "$START" "$N" >>"$W/catalog.tsv"
    for _ in $(seq 100); do curl -sf "$API/status" >/dev/null && break; sleep 0.1; done
    if [ "$c" -gt 0 ]; then
        # What came back against what was shown just before the cut.
        snapshot "after$c"
        $CHECK --journals "$W" "$c" "$(cat "$W/cut$c")" >>"$W/journals.tsv"
    fi
    if [ "$c" -eq "$CYCLES" ]; then
        kill "$NVRPID"
        wait "$NVRPID" 2>/dev/null || true
        cat "$W/nvr-run.log" >>"$W/nvr.log"
        break
    fi
    # The import ran at the start; its next run, a minute after that one ended, finds a new
    # camera folder and is cut 0.3..2.7 s into it, at a varied point of a segment, an event and
    # a flap too (not random: repeatable).
    for _ in $(seq 600); do grep -q "hikvision: total" "$W/nvr-run.log" && break; sleep 0.1; done
    IMPORTED=$(date +%s.%N)
    sleep 50
    camera_folder $((c + 1))
    NOW=$(date +%s.%N)
    sleep "$(awk -v i="$IMPORTED" -v n="$NOW" -v c="$c" \
        'BEGIN { d = i + 60.3 + (c * 0.7) % 2.4 - n; printf "%.2f", (d > 0 ? d : 0) }')"
    snapshot "before$((c + 1))"
    CUT=$(date +%s.%N)
    kill -9 "$NVRPID"
    echo "lazyfs::clear-cache" >"$W/faults.fifo"
    wait "$NVRPID" 2>/dev/null || true
    cat "$W/nvr-run.log" >>"$W/nvr.log"
    sleep 1
    echo "$CUT" >"$W/cut$((c + 1))"
    $CHECK "$W/backing/rec" "$((c + 1))" "$CUT" >>"$W/results.tsv"
    $CHECK --imported "$W/backing/hik" "$((c + 1))" >>"$W/imported.tsv"
done
# The import, finished without cuts, then once more: it must find nothing left to do, and
# every segment of the camera folder must be there exactly once.
"$NVR" hikvision sync --once --config "$W/hik.toml" >"$W/hik-final.log" 2>&1
"$NVR" hikvision sync --once --config "$W/hik.toml" >"$W/hik-again.log" 2>&1
echo "power cuts: $CYCLES cycles, 10 s segments; work folder $W"
$CHECK --summary "$W" $((HIK_SEGMENTS * (CYCLES + 1)))
