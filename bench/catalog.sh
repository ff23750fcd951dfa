#!/bin/bash
# Catalog startup and retention planning at scale, against the bare directory walk.
#
# Creates N segment files (default 100 000: 4 cameras x 25 000 one-minute segments, ~17 days
# each; small files with a real MP4 header) and measures, in the same run:
#   - `find` over the tree (the floor: any startup must at least list the files),
#   - loading the catalog with no snapshot (rebuild: every file's header is read),
#   - `nvr run` startup's catalog open (same rebuild, then the snapshot is written),
#   - loading with the snapshot (the normal startup: snapshot + directory walk),
#   - planning a retention pass over all of it (max_age_days = 10: ~40 % to delete).
#
# Usage: bench/catalog.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
cargo build --release --locked -q
NVR=$PWD/target/release/nvr
WORK=$(mktemp -d /tmp/nvr-catbench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

python3 - "$WORK/rec" "$N" <<'PY'
import os, struct, sys, time
root, n = sys.argv[1], int(sys.argv[2])
def box(kind, body): return struct.pack('>I', len(body) + 8) + kind + body
mvhd = bytearray(100); mvhd[12:16] = struct.pack('>I', 1000); mvhd[16:20] = struct.pack('>I', 60000)
data = box(b'ftyp', b'isom\0\0\0\0') + box(b'moov', box(b'mvhd', bytes(mvhd)))
start = int(time.time()) - (n // 4) * 60
for cam in range(4):
    for i in range(n // 4):
        t = time.gmtime(start + i * 60)
        d = os.path.join(root, f'cam{cam + 1}', time.strftime('%Y-%m-%d', t))
        if i == 0 or t.tm_hour == 0 and t.tm_min == 0: os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, time.strftime('%H-%M-%S+0000.mp4', t)), 'wb') as f: f.write(data)
PY
printf '[storage]\npath = "%s/rec"\n[http]\nlisten = "127.0.0.1:0"\n[retention]\nmax_age_days = 10\nkeep_free_bytes = 0\n' "$WORK" > "$WORK/nvr.toml"
sync

ms() { local t0 t1; t0=$(date +%s%N); "$@" > "$WORK/out" 2>&1; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000000 )); }
find_ms=$(ms find "$WORK/rec" -name '*.mp4')
cold_ms=$(ms "$NVR" catalog "$WORK/nvr.toml")
cold_load=$(sed -n 's/.*loaded in \([0-9.]*\) ms/\1/p' "$WORK/out")
"$NVR" run --config "$WORK/nvr.toml" 2> "$WORK/run.log" &
pid=$!
for _ in $(seq 600); do grep -q "catalog:" "$WORK/run.log" && break; sleep 0.1; done
run_open=$(sed -n 's/.*catalog: .* in \([0-9]*\) ms/\1/p' "$WORK/run.log")
kill -TERM $pid; wait $pid || true
warm_ms=$(ms "$NVR" catalog "$WORK/nvr.toml")
warm_load=$(sed -n 's/.*loaded in \([0-9.]*\) ms/\1/p' "$WORK/out")
plan=$(sed -n 's/retention now: \(.*\)/\1/p' "$WORK/out")
snap=$(stat -c %s "$WORK/rec/.nvr/catalog.bin")

echo
echo "bench: catalog with $N segments (4 cameras), $(nproc) cores"
printf '  %-46s %8s ms\n' "find (directory walk only, reference)" "$find_ms"
printf '  %-46s %8s ms  (%.1fx find)\n' "load without snapshot (reads every header)" "$cold_load" "$(echo "$cold_load / $find_ms" | bc -l)"
printf '  %-46s %8s ms\n' "nvr run: open + reconcile + write snapshot" "$run_open"
printf '  %-46s %8s ms  (%.1fx find)\n' "load with snapshot (normal startup)" "$warm_load" "$(echo "$warm_load / $find_ms" | bc -l)"
printf '  %-46s %s\n' "retention plan over all of it" "$plan"
printf '  %-46s %8s KiB (%.0f bytes/segment)\n' "snapshot size" "$((snap / 1024))" "$(echo "$snap / $N" | bc -l)"
echo "  (whole commands incl. process start: cold $cold_ms ms, warm $warm_ms ms)"
