#!/bin/bash
# The long reliability suite: an hour's soak, then power cuts.
#
#   scripts/reliability.sh [CYCLES]      (root: it mounts a FUSE file system)
#   SOAK_MINUTES=0 scripts/reliability.sh 5   (power cuts only)
#
# Soak: tests/soak.rs (eight cameras; the test command runs it for 10 minutes) for
# SOAK_MINUTES (default 60): RSS growth, threads, open files, CPU, coverage.
#
# A kill -9 leaves the page cache to the kernel, so it cannot show what a power cut loses.
# Here nvr records two test cameras (H.264, H.265) onto LazyFS, a FUSE file system that keeps
# every write not fsync'd in memory; each cycle kills nvr at a varied moment and at once tells
# LazyFS to drop that memory ("lazyfs::clear-cache"): what is left in the backing folder is
# what a disk holds after a power cut. Then: every MP4 must play (gst-discoverer), the lost
# seconds per camera (cut time - end of the newest playable footage) are noted, and nvr starts
# again on what is left. Prints worst / median / p90 lost seconds per codec.
#
# LazyFS is not packaged by Debian: it is built from the source kept beside the project
# (../shared/tools/lazyfs, or $NVR_LAZYFS_SRC); without it the suite says so and skips.
set -eu
cd "$(dirname "$0")/.."
CYCLES=${1:-5}
SOAK=${SOAK_MINUTES:-60}
if [ "$SOAK" -gt 0 ]; then
    echo "== soak: 8 cameras for $SOAK min"
    NVR_SOAK_MINUTES=$SOAK cargo test --locked -q --test soak -- --nocapture >/tmp/nvr-soak.log 2>&1 ||
        { tail -40 /tmp/nvr-soak.log; exit 1; }
    grep -E "RSS growth|ticks/s first third|test result" /tmp/nvr-soak.log
fi
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
cargo build --release --locked -q
NVR=$PWD/target/release/nvr

W=$(mktemp -d /tmp/nvr-power-cut.XXXXXX)
mkdir -p "$W/backing" "$W/mnt"
mkfifo "$W/faults.fifo" "$W/faults_done.fifo"
cat >"$W/lazyfs.toml" <<TOML
[faults]
fifo_path="$W/faults.fifo"
fifo_path_completed="$W/faults_done.fifo"
[cache]
apply_eviction=false
[cache.simple]
custom_size="512mb"
blocks_per_page=1
[filesystem]
log_all_operations=false
logfile="$W/lazyfs.log"
TOML
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
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

"$NVR" testcam --port 0 >"$W/cam264.out" 2>&1 & PIDS+=($!)
"$NVR" testcam --port 0 --codec h265 >"$W/cam265.out" 2>&1 & PIDS+=($!)
url() { for _ in $(seq 100); do u=$(grep -o 'rtsp://[^ ]*' "$1" | head -1); [ -n "$u" ] && { echo "$u"; return; }; sleep 0.1; done; }
cat >"$W/nvr.toml" <<TOML
[storage]
path = "$W/mnt"
segment_seconds = 10
[http]
listen = "127.0.0.1:0"
auth_dir = "$W/auth"
[[camera]]
name = "h264"
url = "$(url "$W/cam264.out")"
[[camera]]
name = "h265"
url = "$(url "$W/cam265.out")"
TOML

: >"$W/cuts.tsv"
for c in $(seq "$CYCLES"); do
    START=$(date +%s.%N)
    : >"$W/nvr-run.log"
    "$NVR" run --config "$W/nvr.toml" >"$W/nvr-run.log" 2>&1 &
    NVRPID=$!
    # After a cut the catalog (whose journal lost its unsynced records too) must list exactly
    # the files that survived: those named before this start.
    for _ in $(seq 100); do grep -q "catalog: " "$W/nvr-run.log" && break; sleep 0.1; done
    N=$(sed -n 's/.*catalog: \([0-9]*\) segments.*/\1/p' "$W/nvr-run.log" | head -1)
    python3 scripts/power_cut_check.py --catalog "$W/backing" "$START" "$N" >>"$W/catalog.tsv"
    # Cut 20..44 s in, at a varied point of a segment (not random: repeatable).
    sleep $((20 + (c * 7) % 25)).$((c * 37 % 10))
    CUT=$(date +%s.%N)
    kill -9 "$NVRPID"
    echo "lazyfs::clear-cache" >"$W/faults.fifo"
    wait "$NVRPID" 2>/dev/null || true
    cat "$W/nvr-run.log" >>"$W/nvr.log"
    sleep 1
    echo -e "$c\t$CUT" >>"$W/cuts.tsv"
    python3 scripts/power_cut_check.py "$W/backing" "$c" "$CUT" >>"$W/results.tsv"
done
echo "power cuts: $CYCLES cycles, 10 s segments; work folder $W"
python3 scripts/power_cut_check.py --summary "$W/results.tsv" "$W/catalog.tsv"
