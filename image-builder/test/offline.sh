#!/bin/bash
# The image builder's parts that need no arm64 root filesystem, tested for real in seconds
# (part of scripts/test.sh; the whole image is built and booted by test/boot.sh):
#  - lib/assemble.sh on a small made-up root: partition table (sfdisk), FAT contents
#    (mtools), ext4 contents and consistency (debugfs, e2fsck);
#  - nvr-config-apply on a folder standing for the card's root: every key, CRLF, bad lines
#    reported by line number, camera checked by the real `nvr check`, secrets gone from FAT.
#
# Usage: image-builder/test/offline.sh [NVR_BINARY]   (default target/release/nvr, built if absent)
set -euo pipefail
cd "$(dirname "$0")/../.."
NVR=${1:-$PWD/target/release/nvr}
[ -x "$NVR" ] || cargo build --release --locked -q
passed=0
failed=0
ok() { echo "  ok   $*"; passed=$((passed + 1)); }
bad() { echo "  FAIL $*"; failed=$((failed + 1)); }
check() { local d=$1; shift; if "$@" >/dev/null 2>&1; then ok "$d"; else bad "$d"; fi; }
T=$(mktemp -d /tmp/nvr-imgtest.XXXXXX)
trap 'rm -rf "$T"' EXIT

echo "== lib/assemble.sh"
R=$T/rootfs
mkdir -p "$R/boot/firmware/overlays" "$R/etc" "$R/usr/bin" "$R/var/lib/nvr"
printf 'arm_64bit=1\n' > "$R/boot/firmware/config.txt"
printf 'console=tty0 root=LABEL=RASPIROOT rw rootwait\n' > "$R/boot/firmware/cmdline.txt"
head -c 70000 /dev/urandom > "$R/boot/firmware/overlays/test.dtbo"
head -c 300000 /dev/urandom > "$R/usr/bin/payload"
chmod 4755 "$R/usr/bin/payload"
ln -s payload "$R/usr/bin/link"
printf 'LABEL=RASPIROOT / ext4 rw 0 1\n' > "$R/etc/fstab"
chown 1234:5678 "$R/var/lib/nvr"
IMG=$T/out/nvr.img
mkdir -p "$T/out"
if image-builder/lib/assemble.sh "$R" "$IMG" > "$T/assemble.log" 2>&1; then ok "assembles"; else bad "assemble"; cat "$T/assemble.log"; fi
check "no temporary files left" test -z "$(ls -A "$T/out" | grep -v '^nvr.img$')"
# sfdisk's dump: "label-id: 0x…" and one "IMG1 : start=…, size=…, type=…[, bootable]" per partition.
dump=$(sfdisk -d "$IMG")
part() { sed -n "s|^$IMG$1 : ||p" <<<"$dump" | tr -d ' '; }
check "MBR with a fixed id" grep -qx "label-id: 0x4e565231" <<<"$dump"
check "p1: FAT32 LBA, bootable, at 4 MiB, 256 MiB" test "$(part 1)" = "start=8192,size=524288,type=c,bootable"
check "p2: Linux, right after p1, to the end of the file" test "$(part 2)" = "start=532480,size=$(( $(stat -c %s "$IMG") / 512 - 532480 )),type=83"
export MTOOLS_SKIP_CHECK=1
check "FAT label RASPIFIRM" sh -c "mlabel -s -i '$IMG@@4M' :: | grep -q RASPIFIRM"
check "FAT holds config.txt as written" test "$(mtype -i "$IMG@@4M" ::/config.txt)" = "arm_64bit=1"
check "FAT holds sub-folders byte for byte" cmp <(mtype -i "$IMG@@4M" ::/overlays/test.dtbo) "$R/boot/firmware/overlays/test.dtbo"
dd if="$IMG" of="$T/p2.ext4" bs=512 skip=532480 status=none
check "ext4 label RASPIROOT" test "$(e2label "$T/p2.ext4")" = RASPIROOT
check "ext4 passes e2fsck -fn" e2fsck -fn "$T/p2.ext4"
check "ext4 holds files byte for byte" cmp <(debugfs -R "cat /usr/bin/payload" "$T/p2.ext4" 2>/dev/null) "$R/usr/bin/payload"
check "ext4 keeps modes (setuid)" sh -c "debugfs -R 'stat /usr/bin/payload' '$T/p2.ext4' 2>/dev/null | grep -q 'Mode:  04755'"
check "ext4 keeps owners" sh -c "debugfs -R 'stat /var/lib/nvr' '$T/p2.ext4' 2>/dev/null | grep -q 'User:  1234   Group:  5678'"
check "ext4 keeps symlinks" sh -c "debugfs -R 'stat /usr/bin/link' '$T/p2.ext4' 2>/dev/null | grep -q 'Fast link dest: \"payload\"'"
check "boot files only on FAT (empty mount point on ext4)" test -z "$(debugfs -R 'ls -p /boot/firmware' "$T/p2.ext4" 2>/dev/null | grep -v '/\.\{1,2\}/')"

echo "== nvr-config-apply"
C=$T/card
mkdir -p "$C/boot/firmware" "$C/etc/nvr" "$C/usr/share/zoneinfo/Europe" "$C/lib/systemd/system" "$C/root"
cp /usr/share/zoneinfo/Europe/Amsterdam "$C/usr/share/zoneinfo/Europe/"
cp debian/nvr.toml "$C/etc/nvr/nvr.toml"
sed -i "s|/var/lib/nvr/recordings|$T/rec|" "$C/etc/nvr/nvr.toml"
echo nvr > "$C/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tnvr\n' > "$C/etc/hosts"
printf '[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n' > "$C/lib/systemd/system/ssh.service"
printf '[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n' > "$C/lib/systemd/system/wpa_supplicant@.service"
KEY="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl test@laptop"
# The template as shipped (all comments) is left on the card for the user to edit.
cp image-builder/bootfs/nvr-config.txt "$C/boot/firmware/"
NVR="$NVR" image-builder/overlay/usr/local/sbin/nvr-config-apply --root "$C" > "$T/apply.log" 2>&1
check "the shipped template changes nothing and stays" sh -c "cmp image-builder/bootfs/nvr-config.txt '$C/boot/firmware/nvr-config.txt' && test \"\$(cat '$C/etc/hostname')\" = nvr && test ! -e '$C/boot/firmware/nvr-config.applied.txt'"
# As a Windows editor saves it: CRLF, indented lines, a last line without its line end.
printf '%s\r\n' "# edited on a PC" "hostname = cupboard-nvr" "  timezone=Europe/Amsterdam" \
  "camera = garden rtsp://admin:s3cr3t-pw@192.168.1.20:554/Streaming/Channels/101" \
  "camera = Bad Name rtsp://192.168.1.21/" "frobnicate = yes" "wifi_country = NL" \
  "wifi_ssid = Home Net" "wifi_psk = wifi-s3cr3t-key" "user = anna Grüße 100% s3cr3t" \
  "user = Bob short" > "$C/boot/firmware/nvr-config.txt"
printf 'ssh_authorized_key = %s' "$KEY" >> "$C/boot/firmware/nvr-config.txt"
NVR="$NVR" image-builder/overlay/usr/local/sbin/nvr-config-apply --root "$C" > "$T/apply.log" 2>&1
check "hostname" test "$(cat "$C/etc/hostname")" = cupboard-nvr
check "hosts names it" grep -qP '^127\.0\.1\.1\tcupboard-nvr$' "$C/etc/hosts"
check "time zone" test "$(readlink "$C/etc/localtime")" = /usr/share/zoneinfo/Europe/Amsterdam
check "camera added, and the result passes nvr check" sh -c "grep -q 'name = \"garden\"' '$C/etc/nvr/nvr.toml' && '$NVR' check '$C/etc/nvr/nvr.toml'"
check "bad camera line reported with its line number" grep -q "line 5: camera: expected" "$T/apply.log"
check "unknown key reported" grep -q "line 6: unknown key 'frobnicate'" "$T/apply.log"
check "Wi-Fi config, readable by root only" test "$(stat -c %a "$C/etc/wpa_supplicant/wpa_supplicant-wlan0.conf")" = 600
check "Wi-Fi config holds network and key" sh -c "grep -q 'ssid=\"Home Net\"' '$C/etc/wpa_supplicant/wpa_supplicant-wlan0.conf' && grep -q 'psk=\"wifi-s3cr3t-key\"' '$C/etc/wpa_supplicant/wpa_supplicant-wlan0.conf'"
check "Wi-Fi enabled" test -L "$C/etc/systemd/system/multi-user.target.wants/wpa_supplicant@wlan0.service"
check "first user made, hashed, 0600" sh -c "grep -q '^anna:\\\$argon2id\\\$' '$C/var/lib/nvr/auth/users' && test \"\$(stat -c %a '$C/var/lib/nvr/auth/users')\" = 600"
check "nvr lists the user" sh -c "printf '[http]\\nauth_dir = \"%s\"\\n' '$C/var/lib/nvr/auth' > '$T/auth.toml' && '$NVR' user list --config '$T/auth.toml' | grep -qx anna"
check "a bad user line reported" grep -q "line 11: user: expected" "$T/apply.log"
check "ssh key installed" grep -qxF "$KEY" "$C/root/.ssh/authorized_keys"
check "ssh host keys made on the card, not in the image" test -s "$C/etc/ssh/ssh_host_ed25519_key"
check "ssh enabled" test -L "$C/etc/systemd/system/multi-user.target.wants/ssh.service"
check "nvr-config.txt is gone from FAT" test ! -e "$C/boot/firmware/nvr-config.txt"
A=$C/boot/firmware/nvr-config.applied.txt
check "what was applied is kept for the user" grep -q "hostname = cupboard-nvr" "$A"
check "no secret left on FAT" sh -c "! grep -q 's3cr3t' '$A'"
check "no secret in the log" sh -c "! grep -q 's3cr3t' '$T/apply.log'"
before=$(md5sum "$C/etc/nvr/nvr.toml")
NVR="$NVR" image-builder/overlay/usr/local/sbin/nvr-config-apply --root "$C" >> "$T/apply.log" 2>&1
check "a second boot changes nothing" test "$(md5sum "$C/etc/nvr/nvr.toml")" = "$before"
# A camera that passes the line syntax but not nvr's own check leaves the config untouched.
printf 'camera = cam2 rtsp://u:p@host:99999999/x\n' > "$C/boot/firmware/nvr-config.txt"
NVR="$NVR" image-builder/overlay/usr/local/sbin/nvr-config-apply --root "$C" > "$T/apply2.log" 2>&1
check "a camera nvr check rejects is not added" test "$(md5sum "$C/etc/nvr/nvr.toml")" = "$before"
check "and why is said" grep -q "cameras not added: nvr check rejected them" "$T/apply2.log"
[ "$failed" -eq 0 ] || { echo "-- nvr-config-apply said:"; cat "$T/apply.log" "$T/apply2.log"; }

echo "image-builder offline: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
