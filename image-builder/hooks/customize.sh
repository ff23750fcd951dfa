#!/bin/sh
# mmdebstrap customize hook: turns the installed root into the appliance.
set -eu
R=$1
in_root() { chroot "$R" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }

cp -a "$IMAGE_BUILDER/overlay/." "$R/"
echo nvr > "$R/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tnvr\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' > "$R/etc/hosts"
# noatime: no write per read. commit=60: ext4 flushes metadata every minute instead of every
# 5 s (fewer SD writes); recordings are fsync'd by nvr itself, so this does not widen what
# a power cut can lose from them.
cat > "$R/etc/fstab" <<'FSTAB'
LABEL=RASPIROOT  /               ext4  rw,noatime,commit=60              0 1
LABEL=RASPIFIRM  /boot/firmware  vfat  rw,noatime,umask=0022,nofail      0 2
FSTAB
in_root systemctl enable systemd-networkd.service systemd-resolved.service \
  nvr-growroot.service nvr-config.service >/dev/null 2>&1
# ssh only when nvr-config.txt gives a key (nvr-config-apply enables it and makes host keys).
in_root systemctl disable ssh.service >/dev/null 2>&1 || true
rm -f "$R"/etc/ssh/ssh_host_*

# One initramfs, then the boot partition: raspi-firmware copies kernel, initrd and device
# trees to /boot/firmware and writes config.txt and cmdline.txt with our root label.
rm "$R/usr/sbin/update-initramfs"
in_root dpkg-divert --quiet --local --rename --remove /usr/sbin/update-initramfs
sed -i 's/^#\?ROOTPART=.*/ROOTPART=LABEL=RASPIROOT/' "$R/etc/default/raspi-firmware"
in_root update-initramfs -c -k all
for v in "$R"/boot/vmlinuz-*; do
  ver=${v##*/vmlinuz-}
  in_root env DEB_MAINT_PARAMS=configure /etc/kernel/postinst.d/z50-raspi-firmware "$ver" "/boot/vmlinuz-$ver"
done
cp "$IMAGE_BUILDER/bootfs/nvr-config.txt" "$R/boot/firmware/nvr-config.txt"

# Nothing machine-specific or temporary in the image.
echo uninitialized > "$R/etc/machine-id"
rm -f "$R/var/lib/dbus/machine-id" "$R$NVR_DEB"
rm -rf "$R/var/cache/apt/archives/"*.deb "$R/var/log/"*.log "$R/var/log/apt/"*
