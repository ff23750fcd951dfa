#!/bin/bash
# The long reliability suite; it rewrites the figures it measures in docs/reliability.md.
#
#   sudo scripts/reliability.sh [CYCLES]              (power cuts: default 6)
#   SOAK_MINUTES=0 FLAPS=0 sudo scripts/reliability.sh 6   (power cuts only)
#
# Soak: tests/soak.rs, eight cameras for SOAK_MINUTES (default 60; the test command runs 10):
#   RSS growth, threads, open files, CPU, coverage.
# Flaps: tests/recording.rs's flapping camera FLAPS times (default 100; the test command 30).
# Power cuts: scripts/power_cut.sh CYCLES (root and LazyFS's source; the test command runs 2).
# Each prints `figure KEY: …` lines; scripts/reliability_table.py puts them in the table's
# rows marked <!-- KEY --> with this machine and date. A step that fails stops the suite and
# the table is left as it was.
set -eu
cd "$(dirname "$0")/.."
CYCLES=${1:-6}
SOAK=${SOAK_MINUTES:-60}
FLAPS=${FLAPS:-100}
LOGS=$(mktemp -d /tmp/nvr-reliability.XXXXXX)
step() { # NAME COMMAND...: runs it, its output kept in $LOGS/NAME.log
    local name=$1
    shift
    echo "== $name"
    if ! "$@" >"$LOGS/$name.log" 2>&1; then
        tail -40 "$LOGS/$name.log"
        echo "reliability: $name failed (log: $LOGS/$name.log); docs/reliability.md unchanged"
        exit 1
    fi
    grep -E "^(figure|SKIPPED)" "$LOGS/$name.log" || true
}
if [ "$SOAK" -gt 0 ]; then
    step soak env NVR_SOAK_MINUTES="$SOAK" cargo test --locked -q --test soak -- --nocapture
fi
if [ "$FLAPS" -gt 0 ]; then
    step flaps env NVR_FLAPS="$FLAPS" cargo test --locked -q --test recording \
        a_flapping_camera_is_recorded_every_time_it_is_up -- --nocapture
fi
step power-cuts scripts/power_cut.sh "$CYCLES"
python3 scripts/reliability_table.py docs/reliability.md "$LOGS"/*.log
