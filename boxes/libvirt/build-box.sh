#!/usr/bin/env bash
# Builds a Debian 12 box for vagrant-libvirt without the internet beyond the
# Debian package mirror: debootstrap, the guest set up in a chroot, the root
# written into a disk image by mkfs.ext4 -d (no mount, no loop device), and a
# box that boots its kernel directly. Run from the project root, as root;
# needs debootstrap, e2fsprogs and qemu-img.
#
#   boxes/libvirt/build-box.sh [BOX] [SUITE] [MIRROR]
#
# BOX defaults to boxes/libvirt/debian-12-libvirt.box, the box_file of the
# `debian-libvirt` profile; `lab up` adds it to Vagrant by itself.
#
# Beside BOX it also writes debian-12-plain-libvirt.box, the same machine
# without Docker (the `debian-libvirt-plain` profile: what a public box is
# before `lab box bake`), and docker-debs/, the .deb files of the Docker
# engine it lacks, for `lab box bake --packages` without the internet.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
box=${1:-$here/debian-12-libvirt.box}
suite=${2:-bookworm}
mirror=${3:-http://deb.debian.org/debian}
plain=$(dirname "$box")/debian-12-plain-libvirt.box
debs=$(dirname "$box")/docker-debs
# What docker.io brings that a Debian without it lacks.
docker_packages="docker.io containerd runc tini"

if [ -f "$box" ] && [ -f "$plain" ] && [ -d "$debs" ] && [ -z "${LAB_REBUILD_BOX:-}" ]; then
  echo "boxes $box and $plain already exist (set LAB_REBUILD_BOX=1 to rebuild)"
  exit 0
fi

work=$(mktemp -d /var/tmp/lab-libvirt-box.XXXXXX)
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"
mkdir -p "$rootfs" "$work/box"

packages=$(tr ' ' ',' < "$here/packages.txt" | tr -d '\n')
debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" "$mirror"

# debootstrap leaves the packages it installed in the root's apt cache.
rm -rf "$debs.partial"
mkdir -p "$debs.partial"
for p in $docker_packages; do
  cp "$rootfs"/var/cache/apt/archives/"${p}"_*.deb "$debs.partial/"
done

install -d "$rootfs/tmp/lab"
cp "$here/provision.sh" "$here/vagrant-insecure.pub" "$rootfs/tmp/lab/"
chroot "$rootfs" sh /tmp/lab/provision.sh
rm -rf "$rootfs/tmp/lab"

# The kernel and initramfs sit beside the disk in the box.
cp "$(readlink -f "$rootfs/vmlinuz")" "$work/box/vmlinuz"
cp "$(readlink -f "$rootfs/initrd.img")" "$work/box/initrd.img"

echo '{"provider":"libvirt","format":"qcow2","virtual_size":8}' > "$work/box/metadata.json"
cat > "$work/box/Vagrantfile" <<'RUBY'
# The box boots its own kernel: no bootloader inside the disk. The guest
# is named: under software emulation Vagrant's probe of it was seen to
# guess wrong.
Vagrant.configure("2") do |config|
  config.vm.guest = :debian
  config.vm.provider :libvirt do |lv|
    lv.kernel = File.join(File.dirname(__FILE__), "vmlinuz")
    lv.initrd = File.join(File.dirname(__FILE__), "initrd.img")
    lv.cmd_line = "root=/dev/vda rw console=ttyS0 net.ifnames=0"
    lv.disk_bus = "virtio"
  end
end
RUBY

# The root as it is now, into the box file $1.
pack() {
  rm -f "$work/root.raw" "$work/box/box.img"
  truncate -s 8G "$work/root.raw"
  mkfs.ext4 -q -L root -d "$rootfs" "$work/root.raw"
  qemu-img convert -c -O qcow2 "$work/root.raw" "$work/box/box.img"
  rm -f "$work/root.raw"
  tar -C "$work/box" -cf "$1.partial" metadata.json Vagrantfile box.img vmlinuz initrd.img
  mv "$1.partial" "$1"
  echo "built $1 ($(du -h "$1" | cut -f1))"
}
pack "$box"

# The same machine without Docker.
chroot "$rootfs" dpkg --purge $docker_packages >/dev/null
rm -f "$rootfs/usr/bin/dockerd"
pack "$plain"
rm -rf "$debs"
mv "$debs.partial" "$debs"
echo "kept $(ls "$debs" | wc -l) packages of Docker in $debs"
