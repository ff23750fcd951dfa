#!/bin/bash
# Puts a root filesystem folder into a partitioned SD card image, without loop devices,
# mounts or root privileges beyond reading the folder:
#   MBR, label-id 0x4e565231 (so PARTUUIDs are 4e565231-01/-02 on every build)
#   p1  256 MiB FAT32 "RASPIFIRM", bootable, type 0x0c: the folder's boot/firmware
#       (firmware blobs, kernel, initrd, DTBs, config.txt, cmdline.txt, nvr-config.txt)
#   p2  ext4 "RASPIROOT": the rest, sized to its contents plus headroom; grown to the
#       whole card on first boot (nvr-growroot.service)
# mkfs.vfat -C + mcopy write the FAT file, mke2fs -d the ext4 file, sfdisk the table, dd
# places both (sparse). The image is built beside OUT and renamed when complete.
#
# Usage: image-builder/lib/assemble.sh ROOTFS OUT.img
set -euo pipefail
ROOTFS=${1:?usage: assemble.sh ROOTFS OUT.img}
OUT=${2:?usage: assemble.sh ROOTFS OUT.img}
for t in mkfs.vfat mcopy mke2fs sfdisk; do
  command -v "$t" >/dev/null || { echo "assemble: $t missing (apt-get install dosfstools mtools e2fsprogs fdisk)" >&2; exit 1; }
done
[ -d "$ROOTFS/boot/firmware" ] || { echo "assemble: $ROOTFS has no boot/firmware" >&2; exit 1; }

BOOT_MB=256
START_MB=4
WORK=$(mktemp -d "$(dirname "$OUT")/.assemble.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# FAT: the boot files. mtools reads no config that could change the result.
export MTOOLS_SKIP_CHECK=1
mkfs.vfat -C -F 32 -n RASPIFIRM "$WORK/boot.vfat" $((BOOT_MB * 1024)) >/dev/null
if [ -n "$(ls -A "$ROOTFS/boot/firmware")" ]; then
  mcopy -s -p -m -i "$WORK/boot.vfat" "$ROOTFS"/boot/firmware/* ::/
fi

# ext4: everything but the boot files (an empty boot/firmware stays as the mount point).
# Contents plus 30 % and 200 MiB: room for logs, apt and the first recordings before the
# partition is grown to the card.
used_mb=$(du -sm --exclude=./boot/firmware "$ROOTFS" | cut -f1)
ROOT_MB=$(( used_mb * 13 / 10 + 200 ))
mkdir "$WORK/empty"
# mke2fs -d copies the tree; the FAT files are excluded by copying around them.
tar -C "$ROOTFS" --exclude=./boot/firmware/* -cf - . | tar -C "$WORK/empty" -xf -
mke2fs -q -t ext4 -L RASPIROOT -E root_owner=0:0 -d "$WORK/empty" "$WORK/root.ext4" "${ROOT_MB}M"

tmp="$OUT.partial"
rm -f "$tmp"
truncate -s $(( (START_MB + BOOT_MB + ROOT_MB) ))M "$tmp"
printf 'label: dos\nlabel-id: 0x4e565231\nunit: sectors\n%s\n%s\n' \
  "start=$((START_MB * 2048)), size=$((BOOT_MB * 2048)), type=c, bootable" \
  "start=$(((START_MB + BOOT_MB) * 2048)), size=$((ROOT_MB * 2048)), type=83" \
  | sfdisk -q "$tmp"
dd if="$WORK/boot.vfat" of="$tmp" bs=1M seek=$START_MB conv=notrunc,sparse status=none
dd if="$WORK/root.ext4" of="$tmp" bs=1M seek=$((START_MB + BOOT_MB)) conv=notrunc,sparse status=none
mv "$tmp" "$OUT"
echo "assemble: $OUT ($((START_MB + BOOT_MB + ROOT_MB)) MiB: boot ${BOOT_MB} MiB, root ${ROOT_MB} MiB)"
