#!/usr/bin/env bash
# Builds the machine image that `provider = "docker"` labs boot, without any
# image registry: a Debian rootfs made by debootstrap, imported with
# `docker import`. Needs root, debootstrap and a Docker engine; reaches only
# the Debian package mirror.
#
#   boxes/docker/build-image.sh [IMAGE] [SUITE] [MIRROR]
#
# The image has sshd, sudo, iproute2 and docker.io, a `vagrant` user with
# passwordless sudo and Vagrant's well-known insecure public key (Vagrant
# replaces it with a fresh key pair on first boot, as it does on VMs).
set -euo pipefail

image=${1:-lab/debian-docker:bookworm}
suite=${2:-bookworm}
mirror=${3:-http://deb.debian.org/debian}
here=$(cd "$(dirname "$0")" && pwd)

if docker image inspect "$image" >/dev/null 2>&1 && [ -z "${LAB_REBUILD_IMAGE:-}" ]; then
  echo "image $image already exists (set LAB_REBUILD_IMAGE=1 to rebuild)"
  exit 0
fi

rootfs=$(mktemp -d /var/tmp/lab-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT

packages=openssh-server,sudo,iproute2,iputils-ping,ca-certificates,curl,docker.io,iptables,procps,net-tools,kmod,systemd-sysv,systemd,dbus
debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" "$mirror"

chroot "$rootfs" useradd --create-home --shell /bin/bash vagrant
echo 'vagrant ALL=(ALL) NOPASSWD:ALL' > "$rootfs/etc/sudoers.d/vagrant"
chmod 0440 "$rootfs/etc/sudoers.d/vagrant"
install -d -m 0700 -o 1000 -g 1000 "$rootfs/home/vagrant/.ssh"
install -m 0600 -o 1000 -g 1000 "$here/vagrant-insecure.pub" "$rootfs/home/vagrant/.ssh/authorized_keys"
chroot "$rootfs" ssh-keygen -A
# docker-machine's systemd drop-in starts /usr/bin/dockerd (the docker-ce
# layout); Debian's docker.io ships it in /usr/sbin only.
ln -sf /usr/sbin/dockerd "$rootfs/usr/bin/dockerd"
# Units that cannot work inside a container would keep systemd "degraded".
for unit in getty@tty1.service console-getty.service systemd-udevd.service \
            systemd-udev-trigger.service systemd-firstboot.service systemd-remount-fs.service \
            sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount; do
  ln -sf /dev/null "$rootfs/etc/systemd/system/$unit"
done
# Without systemd as PID 1 (the default command), sshd is the machine's only
# service; /run is a fresh tmpfs, so its privilege separation directory is
# made at start.
cat > "$rootfs/usr/local/sbin/lab-sshd" <<'SH'
#!/bin/sh
mkdir -p /run/sshd
exec /usr/sbin/sshd -D -e
SH
chmod 0755 "$rootfs/usr/local/sbin/lab-sshd"
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb

tar -C "$rootfs" -c . | docker import \
  -c 'CMD ["/usr/local/sbin/lab-sshd"]' \
  -c 'ENV container=docker' \
  - "$image"
echo "built $image"
