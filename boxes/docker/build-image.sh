#!/usr/bin/env bash
# Builds the machine image that `provider = "docker"` labs boot, without any
# image registry: a Debian rootfs made by debootstrap, imported with
# `docker import`. Needs root, debootstrap and a Docker engine; reaches only
# the Debian package mirror.
#
#   boxes/docker/build-image.sh [IMAGE] [SUITE] [MIRROR]
#
# With a registry at hand, `docker build boxes/docker` (the Dockerfile) makes
# the same image. It has sshd, sudo, iproute2 and docker.io, a `vagrant` user with
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

packages=$(tr ' ' ',' < "$here/packages.txt" | tr -d '\n')
debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" "$mirror"

# The same setup as the Dockerfile's, run inside the new root.
install -d "$rootfs/tmp/lab"
cp "$here/provision.sh" "$here/vagrant-insecure.pub" "$rootfs/tmp/lab/"
chroot "$rootfs" sh /tmp/lab/provision.sh
rm -rf "$rootfs/tmp/lab"

tar -C "$rootfs" -c . | docker import \
  -c 'CMD ["/usr/local/sbin/lab-sshd"]' \
  -c 'ENV container=docker' \
  - "$image"
echo "built $image"
