#!/bin/bash
# The whole appliance, end to end: builds the SD image (or takes --image), writes an
# nvr-config.txt with CRLF line ends onto its FAT partition as a PC user would (mcopy, no
# mount), grows the "card" to 4 GiB, and boots it in qemu-system-aarch64 -M virt with the
# image's own kernel and initrd (software emulation, 2 CPUs, 1 GiB). The host serves a test
# camera; the guest reaches it through QEMU's user network (host = 10.0.2.2). Checked over
# the guest's /status, as a user on the LAN would: nvr answers with the hostname from
# nvr-config.txt, records the camera named there (segments finished), the root filesystem
# fills the card; after power-off, the FAT file is renamed and holds no password.
#
# Not part of scripts/test.sh: building the image takes 15-25 min under emulation. The parts
# that need no image are in test/offline.sh, which is.
#
# Usage: image-builder/test/boot.sh [--image nvr-*.img]
set -euo pipefail
cd "$(dirname "$0")/../.."
IMG=
[ "${1:-}" = "--image" ] && IMG=$(realpath "$2")
T=$(mktemp -d /tmp/nvr-boottest.XXXXXX)
qemu_pid= cam_pid=
cleanup() {
  [ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null
  [ -n "$cam_pid" ] && kill "$cam_pid" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
passed=0
failed=0
ok() { echo "  ok   $*"; passed=$((passed + 1)); }
bad() { echo "  FAIL $*"; failed=$((failed + 1)); }

if ! command -v qemu-system-aarch64 >/dev/null; then
  # Machines with bookworm-backports' qemu-utils (10.x) need qemu-system from there too.
  apt-get install -y -q --no-install-recommends qemu-system-arm >/dev/null 2>&1 || {
    echo "deb http://deb.debian.org/debian bookworm-backports main" > /etc/apt/sources.list.d/nvr-boottest-backports.list
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends qemu-system-arm/bookworm-backports \
      qemu-system-common/bookworm-backports qemu-system-data/bookworm-backports >/dev/null
    rm /etc/apt/sources.list.d/nvr-boottest-backports.list
  }
fi
if [ -z "$IMG" ]; then
  image-builder/build.sh --no-xz --out "$T/out"
  IMG=$(ls "$T"/out/nvr-*.img)
fi
[ -x target/release/nvr ] || cargo build --release --locked -q

echo "== the card"
cp --sparse=always "$IMG" "$T/card.img"
truncate -s 4G "$T/card.img"
export MTOOLS_SKIP_CHECK=1
FAT="$T/card.img@@4M"
ver=$(mdir -b -i "$FAT" ::/ | sed -n 's|^::/vmlinuz-||p' | head -n 1)
[ -n "$ver" ] && ok "kernel $ver on the FAT partition" || bad "no kernel on the FAT partition"
mcopy -n -i "$FAT" "::/vmlinuz-$ver" "::/initrd.img-$ver" "$T/"
for f in config.txt cmdline.txt start4.elf fixup4.dat bootcode.bin bcm2711-rpi-4-b.dtb bcm2837-rpi-3-b.dtb; do
  mdir -b -i "$FAT" "::/$f" >/dev/null 2>&1 && ok "FAT has $f" || bad "FAT lacks $f"
done
root_arg=$(mtype -i "$FAT" ::/cmdline.txt | grep -o 'root=[^ ]*')
[ "$root_arg" = "root=LABEL=RASPIROOT" ] && ok "cmdline.txt: $root_arg" || bad "cmdline.txt: ${root_arg:-no root=}"

# The test camera, on the host's loopback (the guest's 10.0.2.2).
target/release/nvr testcam --size 320x240 --fps 10 > "$T/cam.out" 2>&1 &
cam_pid=$!
for _ in $(seq 100); do grep -q '^url ' "$T/cam.out" && break; sleep 0.1; done
port=$(sed -n 's|^url rtsp://127.0.0.1:\([0-9]*\)/.*|\1|p' "$T/cam.out")
printf '%s\r\n' "# written on a PC" "hostname = boottest-nvr" "timezone = Europe/Amsterdam" \
  "camera = porch rtsp://viewer:boot-s3cret@10.0.2.2:$port/cam" > "$T/nvr-config.txt"
mcopy -o -i "$FAT" "$T/nvr-config.txt" ::/nvr-config.txt

echo "== booting (qemu-system-aarch64 -M virt, emulated)"
HTTP=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
qemu-system-aarch64 -M virt -cpu cortex-a72 -smp 2 -m 1024 -nographic -no-reboot \
  -kernel "$T/vmlinuz-$ver" -initrd "$T/initrd.img-$ver" \
  -append "$(mtype -i "$FAT" ::/cmdline.txt | tr -d '\r\n' | sed 's/console=[^ ]*//g') console=ttyAMA0" \
  -drive if=none,file="$T/card.img",format=raw,id=hd0 -device virtio-blk-pci,drive=hd0 \
  -netdev user,id=n0,hostfwd=tcp:127.0.0.1:$HTTP-:8080 -device virtio-net-pci,netdev=n0,romfile= \
  > "$T/console.log" 2>&1 &
qemu_pid=$!
started=$(date +%s)
status=
for _ in $(seq 600); do
  status=$(curl -fsS --max-time 5 "http://127.0.0.1:$HTTP/status" 2>/dev/null) && break
  kill -0 "$qemu_pid" 2>/dev/null || break
  sleep 1
done
if [ -n "$status" ]; then ok "/status answered $(( $(date +%s) - started )) s after power-on"; else
  bad "/status never answered"; tail -40 "$T/console.log"; fi
# Wait for a finished segment (60 s by default: the packaged config's setting).
for _ in $(seq 300); do
  status=$(curl -fsS --max-time 5 "http://127.0.0.1:$HTTP/status" 2>/dev/null) || status={}
  python3 -c 'import json,sys; s=json.load(sys.stdin); c=[c for c in s["cameras"] if c["name"]=="porch"]; sys.exit(0 if c and c[0].get("segments_written",0)>=1 else 1)' <<<"$status" && break
  sleep 2
done
j() { python3 -c "import json,sys; s=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1" <<<"$status"; }
[ "$(j 's["hostname"]')" = boottest-nvr ] && ok "hostname from nvr-config.txt" || bad "hostname: $(j 's.get("hostname")')"
[ "$(j '[c["name"] for c in s["cameras"]]')" = "['porch']" ] && ok "camera from nvr-config.txt configured" || bad "cameras: $(j '[c["name"] for c in s["cameras"]]')"
n=$(j '[c for c in s["cameras"] if c["name"]=="porch"][0].get("segments_written",0)')
[ "${n:-0}" -ge 1 ] && ok "it recorded: $n segment(s) finished" || bad "segments finished: ${n:-none}: $(j '[c for c in s["cameras"] if c["name"]=="porch"]')"
grep -q "boot-s3cret" <<<"$status" && bad "the camera password is in /status" || ok "no password in /status"
free=$(j 's["storage"]["free_bytes"]')
[ "$free" -gt $((2 * 1024 * 1024 * 1024)) ] && ok "root grown to the card: $((free >> 20)) MiB free" || bad "root not grown: $((free >> 20)) MiB free"

kill "$qemu_pid"; wait "$qemu_pid" 2>/dev/null || true; qemu_pid=
mdir -b -i "$FAT" ::/nvr-config.txt >/dev/null 2>&1 && bad "nvr-config.txt still on FAT" || ok "nvr-config.txt applied and renamed"
applied=$(mtype -i "$FAT" ::/nvr-config.applied.txt 2>/dev/null || true)
grep -q "hostname = boottest-nvr" <<<"$applied" && ! grep -q "boot-s3cret" <<<"$applied" \
  && ok "nvr-config.applied.txt keeps the settings, not the password" || bad "nvr-config.applied.txt: $applied"
if [ "$failed" -gt 0 ]; then echo "-- guest console (last 60 lines)"; tail -60 "$T/console.log"; fi
echo "image boot: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
