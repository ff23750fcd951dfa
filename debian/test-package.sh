#!/bin/bash
# Package test: builds the amd64 .deb, inspects it (dpkg-deb, lintian), installs it with apt
# into a fresh Debian bookworm root (mmdebstrap + chroot), records a real stream there as the
# nvr user, then upgrades (an edited conffile must survive), removes and purges it, checking
# what README.md promises at each step. Needs root (chroot, mounts) and Debian's mirror.
#
# Usage: debian/test-package.sh        (run by scripts/test.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "package test: SKIPPED (needs root for chroot and mounts; run as root to include it)"
  exit 0
fi

passed=0
failed=0
ok() { echo "  ok   $*"; passed=$((passed + 1)); }
bad() { echo "  FAIL $*"; failed=$((failed + 1)); }
# check "description" command...: the command's exit status decides.
check() { local d=$1; shift; if "$@" >/dev/null 2>&1; then ok "$d"; else bad "$d"; fi; }
# Whether a file plays as H.264 by GStreamer's discoverer. Its output is captured before it is
# searched: with pipefail, `discoverer | grep -q` fails at random when grep exits at the match
# and the discoverer, still printing, dies of SIGPIPE (16 of 100 runs on a loaded machine).
plays_h264() { local out; out=$(gst-discoverer-1.0 "$1" 2>/dev/null) && [[ $out == *"video #1: H.264"* ]]; }

ROOT=$(mktemp -d /tmp/nvr-pkgroot.XXXXXX)
cleanup() {
  for m in proc dev; do umount -l "$ROOT/$m" 2>/dev/null || true; done
  rm -rf "$ROOT"
}
trap cleanup EXIT
in_root() { chroot "$ROOT" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }

echo "== building the packages"
cargo build --release --locked -q
mkdir -p target/pkgtest/upgrade
# The same build as a later version, for the upgrade (built first: each run of cargo-deb
# cleans its output folder).
DEB2=$(cargo deb --no-build --deb-version 0.1.0-2 -o target/pkgtest/upgrade/ 2>/dev/null | tail -n 1)
DEB=$(cargo deb --no-build 2>/dev/null | tail -n 1)
echo "   $DEB"

echo "== inspecting $(basename "$DEB")"
contents=$(dpkg-deb -c "$DEB")
for f in ./usr/bin/nvr ./etc/nvr/nvr.toml ./usr/lib/systemd/system/nvr.service \
         ./usr/lib/sysusers.d/nvr.conf ./usr/share/nvr/pipelines/record.pipeline \
         ./usr/share/nvr/pipelines/video-h264.pipeline ./usr/share/doc/nvr/README.md; do
  if grep -q " $f\$" <<< "$contents"; then ok "ships $f"; else bad "ships $f"; fi
done
info=$(dpkg-deb -I "$DEB")
for dep in gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad \
           gstreamer1.0-libav libgstrtspserver-1.0-0 systemd; do
  if grep -q "Depends:.*$dep" <<< "$info"; then ok "depends on $dep"; else bad "depends on $dep"; fi
done
check "conffile /etc/nvr/nvr.toml" sh -c "dpkg-deb -I '$DEB' conffiles | grep -qx /etc/nvr/nvr.toml"
if lint=$(lintian --fail-on error "$DEB" 2>&1); then ok "lintian: no errors"; else bad "lintian: $lint"; fi
echo "$lint" | grep -E '^[EW]:' | sed 's/^/       /' || true

echo "== a fresh Debian bookworm root"
CACHE=target/pkgtest/bookworm-amd64.tar
# Cached for a day on developer machines; CI machines start without it.
if [ ! -s "$CACHE" ] || [ -n "$(find "$CACHE" -mmin +1440)" ]; then
  mmdebstrap --quiet --variant=minbase --include=systemd,ca-certificates bookworm "$CACHE"
fi
tar -C "$ROOT" -xf "$CACHE"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
mount -t proc proc "$ROOT/proc"
mount --rbind /dev "$ROOT/dev"
cp "$DEB" "$DEB2" "$ROOT/tmp/"
check "nvr is not there yet" sh -c "! chroot '$ROOT' test -e /usr/bin/nvr"

echo "== apt install ./$(basename "$DEB")"
in_root apt-get update -q >/dev/null
if in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "/tmp/$(basename "$DEB")" > "$ROOT/tmp/install.log" 2>&1; then
  ok "apt installs the package and its dependencies"
else
  bad "apt install"; tail -20 "$ROOT/tmp/install.log"
fi
check "/usr/bin/nvr runs" in_root nvr --version
check "user nvr exists" in_root getent passwd nvr
check "nvr is in group video" sh -c "chroot '$ROOT' id -nG nvr | grep -qw video"
# Owner names must be resolved inside the root: the host has no user nvr.
owner() { in_root stat -c "$1" "$2"; }
check "config is root:nvr 0640" test "$(owner %U:%G:%a /etc/nvr/nvr.toml)" = root:nvr:640
check "/var/lib/nvr belongs to nvr" test "$(owner %U /var/lib/nvr)" = nvr
check "service enabled" in_root systemctl is-enabled nvr.service
if v=$(in_root systemd-analyze verify /usr/lib/systemd/system/nvr.service 2>&1) && [ -z "$v" ]; then
  ok "systemd-analyze verify nvr.service: clean"
else
  bad "systemd-analyze verify: $v"
fi
check "nvr check of the default config, as user nvr" in_root runuser -u nvr -- nvr check /etc/nvr/nvr.toml

echo "== recording inside the root, as user nvr, with only the package's dependencies"
gst-launch-1.0 -q videotestsrc num-buffers=50 ! video/x-raw,width=320,height=240,framerate=10/1 \
  ! x264enc speed-preset=ultrafast key-int-max=10 ! video/x-h264,stream-format=byte-stream \
  ! filesink location="$ROOT/tmp/clip.h264"
in_root runuser -u nvr -- nvr testcam --file /tmp/clip.h264 --fps 10 > "$ROOT/tmp/cam.out" 2>&1 &
cam_pid=$!
for _ in $(seq 100); do grep -q '^url ' "$ROOT/tmp/cam.out" && break; sleep 0.1; done
url=$(sed -n 's/^url //p' "$ROOT/tmp/cam.out")
cat > "$ROOT/tmp/rec.toml" <<EOF
[storage]
path = "/var/lib/nvr/recordings"
segment_seconds = 2
[http]
listen = "127.0.0.1:0"
[[camera]]
name = "pkg"
url = "$url"
EOF
chmod 644 "$ROOT/tmp/rec.toml"
in_root runuser -u nvr -- nvr run --config /tmp/rec.toml > "$ROOT/tmp/run.log" 2>&1 &
run_pid=$!
# Wait for what is checked below (two finished segments, i.e. a third file opened), not for a
# fixed time: a loaded machine records less per second of wall clock.
rec="$ROOT/var/lib/nvr/recordings/pkg"
for _ in $(seq 900); do
  [ "$(find "$rec" -name '*.mp4' 2>/dev/null | wc -l)" -ge 3 ] && break
  sleep 0.1
done
# A thumbnail is made when first asked for: ask, as the web page does, with an API token
# made as the service's user (footage needs one: without it, 401).
addr=$(sed -n 's|.*serving /status on http://\([0-9.:]*\).*|\1|p' "$ROOT/tmp/run.log" | head -n 1)
code=$(curl -s -o /dev/null -w '%{http_code}' "http://$addr/api/cameras/pkg/segments")
if [ "$code" = 401 ]; then ok "the API refuses footage without a login (401)"; else bad "no login: HTTP $code"; fi
token=$(in_root runuser -u nvr -- nvr token add pkg-test --config /tmp/rec.toml 2>/dev/null)
auth="Authorization: Bearer $token"
thumb=$(curl -s -H "$auth" "http://$addr/api/cameras/pkg/segments" | sed -n 's|.*"thumbnail": "\([^"]*\)".*|\1|p' | head -n 1)
curl -s -H "$auth" -o "$ROOT/tmp/thumb.jpg" "http://$addr$thumb" || true
perm=$(in_root stat -c "%a %U" /var/lib/nvr/auth/tokens 2>/dev/null)
if [ "$perm" = "600 nvr" ]; then ok "tokens stored 0600, owned by nvr"; else bad "tokens file: ${perm:-missing}"; fi
# Signal nvr itself, not runuser around it (whose command line does not start with nvr).
pkill -TERM -f "^nvr run --config /tmp/rec.toml" || true
wait "$run_pid" || true
pkill -TERM -f "^nvr testcam --file /tmp/clip.h264" || true
wait "$cam_pid" || true
n=0
for f in "$ROOT"/var/lib/nvr/recordings/pkg/*/*.mp4; do
  [ -e "$f" ] || continue
  if plays_h264 "$f"; then n=$((n + 1)); fi
done
if [ "$n" -ge 2 ]; then ok "recorded $n playable H.264 segments"; else
  bad "recorded $n segments"; cat "$ROOT/tmp/run.log"
  for f in "$ROOT"/var/lib/nvr/recordings/pkg/*/*; do ls -l "$f"; gst-discoverer-1.0 "$f" 2>&1 | head -12; done
fi
p=$(find "$ROOT/var/lib/nvr/recordings/pkg" -name '*.thumb.jpg' | wc -l)
if [ "$p" -ge 1 ] && [ "$(head -c 2 "$ROOT/tmp/thumb.jpg" | od -An -tx1 | tr -d ' ')" = ffd8 ]; then
  ok "made $p segment thumbnail on request (decoder from the package's Depends)"
else bad "no thumbnail (asked $addr$thumb)"; fi

echo "== upgrade to 0.1.0-2 with an edited config"
echo "# edited by the admin" >> "$ROOT/etc/nvr/nvr.toml"
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "/tmp/$(basename "$DEB2")" > "$ROOT/tmp/upgrade.log" 2>&1 \
  && ok "apt upgrades" || { bad "apt upgrade"; tail -20 "$ROOT/tmp/upgrade.log"; }
check "version is 0.1.0-2" sh -c "chroot '$ROOT' dpkg-query -W -f '\${Version}' nvr | grep -qx 0.1.0-2"
check "edited conffile kept" grep -q "edited by the admin" "$ROOT/etc/nvr/nvr.toml"
check "config still root:nvr 0640" test "$(owner %U:%G:%a /etc/nvr/nvr.toml)" = root:nvr:640

echo "== apt remove"
in_root env DEBIAN_FRONTEND=noninteractive apt-get remove -y -q nvr >/dev/null 2>&1 && ok "apt removes" || bad "apt remove"
check "binary gone" sh -c "! test -e '$ROOT/usr/bin/nvr'"
check "config kept" test -f "$ROOT/etc/nvr/nvr.toml"
check "recordings kept" test -d "$ROOT/var/lib/nvr/recordings/pkg"
check "user kept" in_root getent passwd nvr

echo "== apt purge"
in_root env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q nvr >/dev/null 2>&1 && ok "apt purges" || bad "apt purge"
check "config gone" sh -c "! test -e '$ROOT/etc/nvr'"
check "user gone" sh -c "! chroot '$ROOT' getent passwd nvr"
check "recordings kept by default" test -d "$ROOT/var/lib/nvr/recordings/pkg"

echo "== install again, purge with NVR_PURGE_RECORDINGS=yes"
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "/tmp/$(basename "$DEB")" >/dev/null 2>&1 \
  && ok "reinstall" || bad "reinstall"
in_root env DEBIAN_FRONTEND=noninteractive NVR_PURGE_RECORDINGS=yes apt-get purge -y -q nvr >/dev/null 2>&1 \
  && ok "purge with NVR_PURGE_RECORDINGS=yes" || bad "purge with NVR_PURGE_RECORDINGS=yes"
check "recordings gone" sh -c "! test -e '$ROOT/var/lib/nvr'"

echo "package: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
