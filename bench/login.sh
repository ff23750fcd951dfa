#!/bin/sh
# What one login costs with nvr's argon2id parameters, on this machine (release build).
# The target is 100-250 ms on a Raspberry Pi 4: this machine's figure is not the Pi's, so run
# it there too (`cargo run --release --example login_cost`).
set -e
cd "$(dirname "$0")/.."
echo "machine: $(uname -m), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
cargo run --release --locked -q --example login_cost
