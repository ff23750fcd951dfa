#!/bin/bash
# HTTP under load while recording: `wrk` (Debian package) with 64 connections against nvr
# recording 4 cameras. Latency p50/p99 of
#   - /ui/app.css    the reference: a compiled-in file, no state read, no credential
#   - /status        public (no credential), as a LAN monitor polls it
#   - /status        with an API token (the full document: token file read and hashed)
#   - /api/cameras   with an API token
# and ratios to the reference, the HTTP thread's CPU, and recording coverage: seconds
# recorded per camera during the load vs. during a quiet stretch of the same length in the
# same run (1.00 = HTTP load costs recording nothing). Targets (issue): /status p99 <= 5 ms,
# no recording gap.
#
# Usage: bench/http.sh [SECONDS]     (default 20 s per phase)
set -euo pipefail
cd "$(dirname "$0")/.."

SECS=${1:-20}
command -v wrk >/dev/null || { echo "bench: needs wrk (apt-get install wrk)"; exit 1; }
cargo build --release --locked -q
NVR=$PWD/target/release/nvr
WORK=$(mktemp -d /tmp/nvr-bench-http.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_camera --mount /cam

{
  printf '[storage]\npath = "%s/rec"\nsegment_seconds = 5\n[http]\nlisten = "127.0.0.1:0"\nauth_dir = "%s/auth"\n[log]\nlevel = "warn"\n' "$WORK" "$WORK"
  for i in 1 2 3 4; do printf '[[camera]]\nname = "cam%d"\nurl = "%s"\n' "$i" "$URL"; done
} > "$WORK/nvr.toml"
TOKEN=$("$NVR" token add bench --config "$WORK/nvr.toml")
RUST_LOG=info "$NVR" run --config "$WORK/nvr.toml" 2> "$WORK/run.log" &
pid=$!
for _ in $(seq 100); do grep -q "serving /status" "$WORK/run.log" && break; sleep 0.1; done
ADDR=$(sed -n 's|.*serving /status on http://\([0-9.:]*\).*|\1|p' "$WORK/run.log" | head -n 1)
H="Authorization: Bearer $TOKEN"

# CPU seconds of nvr's thread named $1.
thread_cpu() {
  for t in /proc/"$pid"/task/*/stat; do sed -E 's/^[0-9]+ \((.*)\) [A-Z] (.*)$/\1\t\2/' "$t" 2>/dev/null; done \
    | awk -F'\t' -v n="$1" -v t="$TICK" '$1 == n { split($2, f, " "); s += (f[12] + f[13]) / t } END { printf "%.2f", s }'
}
# Seconds recorded per camera (the catalog's segments) between two Unix times, summed.
recorded() {
  local sum=0
  for i in 1 2 3 4; do
    s=$(curl -s -H "$H" "http://$ADDR/api/cameras/cam$i/segments?from=$1&to=$2" | python3 -c '
import json, sys
lo, hi = int(sys.argv[1]) * 10**9, int(sys.argv[2]) * 10**9
t = 0
for s in json.load(sys.stdin)["segments"]:
    a = s["start_ns"]; b = a + int(s["duration_s"] * 1e9)
    t += max(0, min(b, hi) - max(a, lo))
print(t / 1e9)' "$1" "$2")
    sum=$(awk -v a="$sum" -v b="$s" 'BEGIN { print a + b }')
  done
  echo "$sum"
}
# wrk's p50 and p99 in ms, and requests/s.
load() {
  local path=$1; shift
  wrk -t2 -c64 -d"${SECS}s" --latency "$@" "http://$ADDR$path" > "$WORK/wrk.out" 2>&1
  awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    $1 == "50%" { p50 = ms($2) } $1 == "99%" { p99 = ms($2) } $1 == "Requests/sec:" { rps = $2 }
    /Non-2xx/ { bad = $NF }
    END { printf "%.2f %.2f %.0f %d\n", p50, p99, rps, bad }' "$WORK/wrk.out"
}

echo "bench: 4 cameras recording (1080p25 H.264 ~4 Mbit/s each), wrk -t2 -c64, ${SECS} s per path, $(nproc) cores"
sleep 12   # every camera recording, first segments closed
q0=$(date +%s); sleep "$((SECS * 4))"; q1=$(date +%s)
quiet=$(recorded "$q0" "$q1")

l0=$(date +%s)
http0=$(thread_cpu http)
read -r r50 r99 rrps rbad < <(load /ui/app.css)
read -r s50 s99 srps sbad < <(load /status)
read -r f50 f99 frps fbad < <(load /status -H "$H")
read -r c50 c99 crps cbad < <(load /api/cameras -H "$H")
http1=$(thread_cpu http)
l1=$(date +%s)
sleep 6    # the last segments of the load phase closed
busy=$(recorded "$l0" "$l1")
warned=$(grep -c "WARN.*camera" "$WORK/run.log" || true)

printf '\n%-26s %8s %8s %8s %10s %8s\n' path "p50 ms" "p99 ms" "p99/ref" "req/s" "non-2xx"
row() { awk -v n="$1" -v a="$2" -v b="$3" -v r="$r99" -v q="$4" -v x="$5" 'BEGIN {
  printf "%-26s %8.2f %8.2f %7.2fx %10d %8d\n", n, a, b, (r > 0 ? b / r : 0), q, x }'; }
row "/ui/app.css (reference)" "$r50" "$r99" "$rrps" "$rbad"
row "/status (public)" "$s50" "$s99" "$srps" "$sbad"
row "/status (token)" "$f50" "$f99" "$frps" "$fbad"
row "/api/cameras (token)" "$c50" "$c99" "$crps" "$cbad"
awk -v a="$http0" -v b="$http1" -v s="$((l1 - l0))" 'BEGIN { printf "\nhttp thread: %.2f CPU s over %d s of load\n", b - a, s }'
awk -v q="$quiet" -v b="$busy" -v qs="$((q1 - q0))" -v bs="$((l1 - l0))" 'BEGIN {
  printf "recorded (4 cameras): %.1f s of %d s quiet (%.3f), %.1f s of %d s under load (%.3f); ratio %.3f\n",
    q, 4 * qs, q / (4 * qs), b, 4 * bs, b / (4 * bs), (q > 0 ? (b / bs) / (q / qs) : 0) }'
echo "camera warnings logged (stalls, reconnects): $warned"
kill -TERM "$pid"; wait "$pid" || true
