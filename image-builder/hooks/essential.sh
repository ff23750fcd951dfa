#!/bin/sh
# mmdebstrap essential hook (before the kernel and the rest are installed): the kernel's
# and initramfs-tools' scripts would each build an initramfs, ten minutes apiece under
# emulation. update-initramfs is diverted to a no-op until customize.sh builds it once.
set -eu
chroot "$1" dpkg-divert --quiet --local --rename --add /usr/sbin/update-initramfs
printf '#!/bin/sh\necho "update-initramfs: deferred by the image builder" >&2\n' > "$1/usr/sbin/update-initramfs"
chmod 755 "$1/usr/sbin/update-initramfs"
