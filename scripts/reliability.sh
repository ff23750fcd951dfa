#!/bin/bash
# The long reliability suite; it rewrites the figures it measures in docs/reliability.md.
#
#   sudo scripts/reliability.sh [CYCLES]              (power cuts: default 6)
#   SOAK_MINUTES=0 FLAPS=0 sudo scripts/reliability.sh 6   (power cuts only)
#   SOAK_MINUTES=0 FLAPS=0 scripts/reliability.sh 0        (fuzzing only; FUZZ_TARGETS="mp4": one)
#
# Soak: tests/soak.rs, eight cameras for SOAK_MINUTES (default 60; the test command runs 10):
#   RSS growth, threads, open files, CPU, coverage.
# Flaps: tests/recording.rs's flapping camera FLAPS times (default 100; the test command 30).
# Power cuts: scripts/power_cut.sh CYCLES (root and LazyFS's source; the test command runs 2).
# Fuzzing: each cargo-fuzz target of fuzz/ for FUZZ_SECONDS (default 300) with AddressSanitizer,
#   on the stable toolchain (RUSTC_BOOTSTRAP=1 lets it take cargo-fuzz's sanitizer flags);
#   installs cargo-fuzz when missing. New inputs go to a temporary corpus, not the repo's;
#   an input that fails is kept in fuzz/artifacts/TARGET/ (add it to fuzz/corpus/TARGET/
#   once fixed: the test command replays that corpus).
# Each prints `figure KEY: …` lines; scripts/reliability_table.py puts them in the table's
# rows marked <!-- KEY --> with this machine and date. A step that fails stops the suite and
# the table is left as it was.
set -eu
cd "$(dirname "$0")/.."
CYCLES=${1:-6}
SOAK=${SOAK_MINUTES:-60}
FLAPS=${FLAPS:-100}
FUZZ=${FUZZ_SECONDS:-300}
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
if [ "$CYCLES" -gt 0 ]; then
    step power-cuts scripts/power_cut.sh "$CYCLES"
fi
fuzz() {
    command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked -q
    local t runs summary=""
    for t in ${FUZZ_TARGETS:-parsers config http_target mp4}; do
        mkdir -p "$LOGS/corpus/$t" "fuzz/corpus/$t"
        LSAN_OPTIONS=suppressions=$PWD/fuzz/lsan.supp RUSTC_BOOTSTRAP=1 cargo fuzz run "$t" "$LOGS/corpus/$t" "fuzz/corpus/$t" -- \
            -max_total_time="$FUZZ" -rss_limit_mb=2048 -timeout=10 >"$LOGS/fuzz-$t.txt" 2>&1 ||
            { tail -30 "$LOGS/fuzz-$t.txt"; return 1; }
        runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$LOGS/fuzz-$t.txt")
        summary="$summary${summary:+, }$t $runs"
    done
    echo "figure fuzz: $FUZZ s per target with AddressSanitizer, inputs run: $summary; no crash, \
no timeout (10 s), no input over 2 GB of memory"
}
if [ "$FUZZ" -gt 0 ]; then
    step fuzz fuzz
fi
python3 scripts/reliability_table.py docs/reliability.md "$LOGS"/*.log
