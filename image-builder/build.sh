#!/bin/bash
# Builds a flashable SD card image for the Raspberry Pi 3 and 4 (64-bit) with nvr
# preinstalled: Debian bookworm with Debian's arm64 kernel and raspi-firmware, the nvr .deb
# installed by apt with its dependencies, nvr-config.txt on the FAT partition for the first
# boot. No Docker, loop devices or mounts: mmdebstrap makes the root filesystem (under
# qemu-user when the host is not arm64), lib/assemble.sh puts it into an image file.
#
# Usage: image-builder/build.sh [--deb PATH] [--out DIR] [--mirror URL] [--no-xz]
#   --deb     the arm64 nvr .deb (default: built by cross/build-arm64.sh)
#   --out     where the image goes (default target/image)
#   --no-xz   leave the image uncompressed (for test/boot.sh)
# Output: DIR/nvr-<version>-bookworm-arm64.img.xz and .img.xz.sha256 (or .img)
# Took 13 min on a 2-core x86 machine (emulated package scripts, one initramfs); needs root
# and about 4 GB in DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
HERE=$PWD/image-builder
DEB=
OUT=$PWD/target/image
MIRROR=http://deb.debian.org/debian
XZ=1
while [ $# -gt 0 ]; do
  case "$1" in
    --deb) DEB=$(realpath "$2"); shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --mirror) MIRROR=$2; shift 2 ;;
    --no-xz) XZ=; shift ;;
    *) echo "usage: image-builder/build.sh [--deb PATH] [--out DIR] [--mirror URL] [--no-xz]" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "build: needs root (mmdebstrap's chroot, file ownership)" >&2; exit 1; }
# Installs what is missing, like scripts/install-deps.sh (a package list may be stale: update once).
need() {
  command -v "$1" >/dev/null 2>&1 && return 0
  echo "build: installing $2 (for $1)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$2" >/dev/null 2>&1 || {
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$2" >/dev/null
  } || { echo "build: $1 is missing and apt-get install $2 failed" >&2; exit 1; }
  command -v "$1" >/dev/null 2>&1 || { echo "build: $2 installed but $1 is still missing" >&2; exit 1; }
}
need mmdebstrap mmdebstrap
need mkfs.vfat dosfstools
need mcopy mtools
need sfdisk fdisk
need xz xz-utils
need arch-test arch-test

# Running arm64 package scripts on another architecture: qemu-user through binfmt_misc.
# Registered here because nothing else does it on a machine without systemd as PID 1.
if [ "$(uname -m)" != aarch64 ] && [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  need qemu-aarch64-static qemu-user-static
  [ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  cat /usr/lib/binfmt.d/qemu-aarch64.conf > /proc/sys/fs/binfmt_misc/register
  echo "build: registered qemu-aarch64 with binfmt_misc"
fi

if [ -z "$DEB" ]; then
  cross/build-arm64.sh
  DEB=$(realpath "$(ls -t target/debian/nvr_*_arm64.deb | head -n 1)")
fi
[ "$(dpkg-deb -f "$DEB" Architecture)" = arm64 ] || { echo "build: $DEB is not an arm64 package" >&2; exit 1; }
VERSION=$(dpkg-deb -f "$DEB" Version)
NAME=nvr-$VERSION-bookworm-arm64
mkdir -p "$OUT"
ROOTFS=$OUT/rootfs
rm -rf "$ROOTFS"

started=$(date +%s)
echo "build: root filesystem for $NAME in $ROOTFS"
# The hooks read these.
export NVR_DEB=$DEB IMAGE_BUILDER=$HERE
mmdebstrap --mode=root --arch=arm64 --variant=minbase \
  --components=main,non-free-firmware \
  --include="$(grep -v '^#' "$HERE/packages.list" | xargs | tr ' ' ',')" \
  --include="$DEB" \
  --setup-hook='"$IMAGE_BUILDER"/hooks/setup.sh "$1"' \
  --essential-hook='"$IMAGE_BUILDER"/hooks/essential.sh "$1"' \
  --customize-hook='"$IMAGE_BUILDER"/hooks/customize.sh "$1"' \
  bookworm "$ROOTFS" \
  "deb $MIRROR bookworm main non-free-firmware" \
  "deb $MIRROR bookworm-updates main non-free-firmware" \
  "deb http://deb.debian.org/debian-security bookworm-security main non-free-firmware"
echo "build: root filesystem done in $(( $(date +%s) - started )) s ($(du -sm "$ROOTFS" | cut -f1) MiB)"

"$HERE/lib/assemble.sh" "$ROOTFS" "$OUT/$NAME.img"
rm -rf "$ROOTFS"
if [ -n "$XZ" ]; then
  xz -T0 -6 -f "$OUT/$NAME.img"
  (cd "$OUT" && sha256sum "$NAME.img.xz" > "$NAME.img.xz.sha256")
  echo "build: $OUT/$NAME.img.xz ($(du -m "$OUT/$NAME.img.xz" | cut -f1) MiB) in $(( $(date +%s) - started )) s"
else
  echo "build: $OUT/$NAME.img in $(( $(date +%s) - started )) s"
fi
