#!/bin/sh
# Turns a Debian root with the packages of build-box.sh into a
# vagrant-libvirt guest: run inside it (chroot) as root, with
# vagrant-insecure.pub beside this script.
set -eu
here=$(dirname "$0")

useradd --create-home --shell /bin/bash vagrant
echo 'vagrant ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/vagrant
chmod 0440 /etc/sudoers.d/vagrant
install -d -m 0700 -o vagrant -g vagrant /home/vagrant/.ssh
install -m 0600 -o vagrant -g vagrant "$here/vagrant-insecure.pub" /home/vagrant/.ssh/authorized_keys

# debootstrap leaves the build host's name; Vagrant sets each machine's.
echo debian > /etc/hostname
printf '127.0.0.1 localhost\n127.0.1.1 debian\n' > /etc/hosts
# The root is the whole virtual disk; the box boots the kernel directly.
echo '/dev/vda / ext4 defaults 0 1' > /etc/fstab
# DHCP on every interface: eth0 is vagrant-libvirt's management network,
# eth1 the lab's private one (net.ifnames=0 on the kernel command line).
cat > /etc/systemd/network/80-dhcp.network <<'NET'
[Match]
Name=eth* en*

[Network]
DHCP=ipv4
NET
systemctl enable systemd-networkd.service ssh.service docker.service >/dev/null 2>&1
# docker-machine's systemd drop-in starts /usr/bin/dockerd (the docker-ce
# layout); Debian's docker.io ships it in /usr/sbin only.
ln -sf /usr/sbin/dockerd /usr/bin/dockerd

# Every VM made from the box is its own machine: a machine-id and host keys
# of its own, made at first boot. Only ECDSA and Ed25519: an RSA key takes
# about a minute to make under software emulation.
: > /etc/machine-id
# systemd copies D-Bus's id into an empty /etc/machine-id: the box's one
# would give every VM the same DHCP client id, and dnsmasq a lease to one
# of them only (seen here).
rm -f /var/lib/dbus/machine-id
ln -s /etc/machine-id /var/lib/dbus/machine-id
rm -f /etc/ssh/ssh_host_*
sed -i 's/^#\?HostKey .*//' /etc/ssh/sshd_config
printf 'HostKey /etc/ssh/ssh_host_ecdsa_key\nHostKey /etc/ssh/ssh_host_ed25519_key\nUseDNS no\n' >> /etc/ssh/sshd_config
cat > /etc/systemd/system/lab-host-keys.service <<'UNIT'
[Unit]
Description=SSH host keys of this machine (ECDSA and Ed25519)
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -q -t ecdsa -N "" -f /etc/ssh/ssh_host_ecdsa_key
ExecStart=/usr/bin/ssh-keygen -q -t ed25519 -N "" -f /etc/ssh/ssh_host_ed25519_key

[Install]
WantedBy=multi-user.target
UNIT
systemctl enable lab-host-keys.service >/dev/null 2>&1
# A serial console for `virsh console`, and no wait for a network that is slow.
systemctl enable serial-getty@ttyS0.service >/dev/null 2>&1 || true
systemctl mask systemd-networkd-wait-online.service >/dev/null 2>&1
apt-get clean
rm -rf /var/lib/apt/lists/*
