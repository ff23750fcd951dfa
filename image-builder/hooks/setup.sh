#!/bin/sh
# mmdebstrap setup hook: the folders the packages expect, and the nvr .deb at the same path
# inside the root as outside, where apt (running inside) can read it for --include.
set -eu
mkdir -p "$1/boot/firmware" "$1$(dirname "$NVR_DEB")"
cp "$NVR_DEB" "$1$NVR_DEB"
