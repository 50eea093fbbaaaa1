#!/bin/sh
# Turns a Debian root with the packages of build-image.sh into a Vagrant
# machine image: run inside it (chroot or a Dockerfile RUN) as root, with
# vagrant-insecure.pub beside this script.
set -eu
here=$(dirname "$0")

useradd --create-home --shell /bin/bash vagrant
echo 'vagrant ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/vagrant
chmod 0440 /etc/sudoers.d/vagrant
install -d -m 0700 -o vagrant -g vagrant /home/vagrant/.ssh
install -m 0600 -o vagrant -g vagrant "$here/vagrant-insecure.pub" /home/vagrant/.ssh/authorized_keys
ssh-keygen -A
# docker-machine's systemd drop-in starts /usr/bin/dockerd (the docker-ce
# layout); Debian's docker.io ships it in /usr/sbin only.
ln -sf /usr/sbin/dockerd /usr/bin/dockerd
# Units that cannot work inside a container would keep systemd "degraded".
for unit in getty@tty1.service console-getty.service systemd-udevd.service \
            systemd-udev-trigger.service systemd-firstboot.service systemd-remount-fs.service \
            sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount; do
  ln -sf /dev/null "/etc/systemd/system/$unit"
done
# Without systemd as PID 1 (the image's default command), sshd is the
# machine's only service; /run is a fresh tmpfs, so its privilege separation
# directory is made at start.
cat > /usr/local/sbin/lab-sshd <<'SH'
#!/bin/sh
mkdir -p /run/sshd
exec /usr/sbin/sshd -D -e
SH
chmod 0755 /usr/local/sbin/lab-sshd
rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb
