//! Finding a machine's address on the lab's private interface, over ssh.
//!
//! The seed ran `vagrant ssh NAME -c "ip addr show dev eth1 | grep -w inet"`
//! once per machine, one after another. lab reuses the settings of a single
//! `vagrant ssh-config` and asks every machine at once with plain ssh.

use std::net::Ipv4Addr;
use std::time::Duration;

use anyhow::{bail, Context as _};
use regex::Regex;

use crate::process::process_builder::Cmd;

use crate::process::process_error::RunError;

use crate::process::runner::Runner;

use crate::process::tool::Tool;
use crate::tools::vagrant::SshConfig;

/// An ssh command through Vagrant's settings for `ssh`. The remote side
/// hands `remote` to a shell, so callers quote it (see [`remote_command`]).
pub fn ssh(config: &SshConfig, remote: &str) -> Cmd {
    session(config, Some(remote), false)
}

/// ssh to a machine: `remote` run there, or a login shell when `None`;
/// `tty` asks for a terminal (interactive use).
pub fn session(config: &SshConfig, remote: Option<&str>, tty: bool) -> Cmd {
    let mut args: Vec<String> = [
        "-F",
        "/dev/null",
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "LogLevel=ERROR",
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "ConnectTimeout=10",
        // A machine that freezes mid-session (paused, suspended, its
        // network gone) is given up on in 60 s instead of never. Not
        // sooner: a VM under QEMU's software emulation was seen silent for
        // over 15 s while its engine restarted, and lost its session.
        "-o",
        "ServerAliveInterval=5",
        "-o",
        "ServerAliveCountMax=12",
    ]
    .map(String::from)
    .to_vec();
    for key in &config.identity_files {
        args.push("-i".into());
        args.push(key.display().to_string());
    }
    if tty {
        args.push("-t".into());
    }
    args.extend([
        "-p".into(),
        config.port.to_string(),
        "-l".into(),
        config.user.clone(),
        config.hostname.clone(),
    ]);
    if let Some(remote) = remote {
        args.extend(["--".into(), remote.to_string()]);
    }
    Cmd::new(Tool::Ssh, args).retry_on(transient)
}

/// Why a failure will likely pass by itself: SSH not up yet on a machine
/// that is booting, or apt busy on a first boot.
pub fn transient(stderr: &str) -> Option<&'static str> {
    const KNOWN: [(&str, &str); 7] = [
        ("Connection refused", "SSH is not up yet"),
        ("Connection reset by peer", "SSH is not up yet"),
        ("kex_exchange_identification", "SSH is not up yet"),
        (
            "Connection timed out during banner exchange",
            "SSH is not up yet",
        ),
        ("No route to host", "the machine's network is not up yet"),
        ("Could not get lock", "apt is busy (first boot)"),
        ("dpkg frontend lock", "apt is busy (first boot)"),
    ];
    KNOWN
        .iter()
        .find(|(needle, _)| stderr.contains(needle))
        .map(|(_, why)| *why)
}

/// Quotes words for the remote shell.
pub fn remote_command(words: &[&str]) -> String {
    shell_words::join(words)
}

pub fn address_cmd(config: &SshConfig, interface: &str) -> Cmd {
    ssh(
        config,
        &remote_command(&["ip", "-4", "addr", "show", "dev", interface]),
    )
}

/// The first IPv4 address in `ip addr show` output, with its prefix length.
pub fn parse_inet(text: &str) -> Option<(Ipv4Addr, u8)> {
    static INET: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| {
        Regex::new(r"(?m)^\s*(?:\d+:\s+\S+\s+)?inet\s+(\d{1,3}(?:\.\d{1,3}){3})/(\d{1,2})\b")
            .expect("valid regex")
    });
    let re = &*INET;
    let caps = re.captures(text)?;
    Some((caps[1].parse().ok()?, caps[2].parse().ok()?))
}

/// Asks `machine` for its address on `interface`, waiting a while for DHCP.
pub async fn address(
    runner: &Runner,
    machine: &str,
    config: &SshConfig,
    interface: &str,
) -> anyhow::Result<Ipv4Addr> {
    let cmd = address_cmd(config, interface);
    // A fresh VM may still be waiting for its DHCP lease when Vagrant returns.
    for attempt in 1..=15 {
        let out = match runner.query(&cmd).await {
            Ok(out) => out,
            Err(e @ RunError::Failed { .. }) if e.stderr().contains("does not exist") => {
                bail!(
                    "{machine} has no interface `{interface}`:\n{}\nhint: set [network] interface in lab.toml to the box's private interface (eth1 on old Ubuntu boxes, enp0s8 on newer ones)",
                    e.stderr().trim_end()
                )
            }
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("reading {machine}'s address on {interface}"))
            }
        };
        if let Some((ip, _)) = parse_inet(&out.stdout) {
            return Ok(ip);
        }
        if attempt < 15 {
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }
    bail!("{machine} has no IPv4 address on {interface} after 30s: is the private network's DHCP server up?")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::{vagrant_stderr, vagrant_stdout};
    use std::path::PathBuf;

    #[test]
    fn ssh_not_up_and_apt_busy_pass_by_themselves_and_nothing_else_does() {
        for (stderr, why) in [
            (
                "ssh: connect to host 10.0.0.3 port 22: Connection refused",
                "SSH is not up yet",
            ),
            (
                "kex_exchange_identification: read: Connection reset by peer",
                "SSH is not up yet",
            ),
            (
                "ssh: connect to host 10.0.0.3 port 22: No route to host",
                "the machine's network is not up yet",
            ),
            (
                "E: Could not get lock /var/lib/dpkg/lock-frontend",
                "apt is busy (first boot)",
            ),
        ] {
            assert_eq!(transient(stderr), Some(why), "{stderr}");
        }
        assert_eq!(transient("Permission denied (publickey)."), None);
        assert_eq!(transient(""), None);
    }

    /// Vagrant's settings for a machine `m` at 10.0.0.2.
    fn machine() -> SshConfig {
        SshConfig {
            host: "m".into(),
            hostname: "10.0.0.2".into(),
            user: "vagrant".into(),
            port: 22,
            identity_files: vec![PathBuf::from("/k")],
        }
    }

    /// Right after `vagrant up` a VM's eth1 may have no address yet (seen
    /// with vagrant-libvirt): the first look is not trusted.
    #[cfg(unix)]
    #[tokio::test]
    async fn an_address_that_comes_late_is_waited_for() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("ssh");
        // The first answer is eth1 up without an address, the second has it.
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nif [ -e {d}/asked ]; then echo '3: eth1    inet 10.0.7.9/24 brd 10.0.7.255 scope global eth1'; else touch {d}/asked; echo '3: eth1: <BROADCAST,MULTICAST,UP> mtu 1500 state UP'; fi\n",
                d = dir.path().display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let runner = Runner::new(crate::process::tool::Tools::at(vec![(Tool::Ssh, script)]));
        let config = machine();
        let ip = address(&runner, "swarm-node01", &config, "eth1")
            .await
            .unwrap();
        assert_eq!(ip, Ipv4Addr::new(10, 0, 7, 9));
    }

    #[test]
    fn ssh_gives_up_on_a_machine_that_stops_answering() {
        let config = machine();
        let args = ssh(&config, "true").args;
        for option in [
            "ConnectTimeout=10",
            "ServerAliveInterval=5",
            "ServerAliveCountMax=12",
        ] {
            let at = args.iter().position(|a| a == option);
            assert!(
                at.is_some_and(|i| args[i - 1] == "-o"),
                "{option} missing: {args:?}"
            );
        }
    }

    #[test]
    fn address_from_the_seeds_command_output() {
        assert_eq!(
            parse_inet(&vagrant_stdout("ssh-c-ip")),
            Some((Ipv4Addr::new(172, 28, 128, 2), 24))
        );
    }

    #[test]
    fn address_from_full_and_one_line_output() {
        let full = "3: eth1@if12: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default\n    link/ether 02:42:c0:a8:3b:02 brd ff:ff:ff:ff:ff:ff link-netnsid 0\n    inet 192.168.59.2/24 brd 192.168.59.255 scope global eth1\n       valid_lft forever preferred_lft forever\n";
        assert_eq!(parse_inet(full), Some((Ipv4Addr::new(192, 168, 59, 2), 24)));
        let one_line = "3: eth1    inet 10.0.3.15/24 brd 10.0.3.255 scope global dynamic eth1\\       valid_lft 86000sec";
        assert_eq!(
            parse_inet(one_line),
            Some((Ipv4Addr::new(10, 0, 3, 15), 24))
        );
        assert_eq!(parse_inet("    inet6 fe80::1/64 scope link"), None);
        assert_eq!(parse_inet(&vagrant_stderr("ssh-c-ip-noeth9")), None);
    }

    #[test]
    fn ssh_uses_vagrants_settings_and_quotes_the_remote_command() {
        let config = SshConfig {
            host: "consul".into(),
            hostname: "127.0.0.1".into(),
            user: "vagrant".into(),
            port: 2222,
            identity_files: vec![PathBuf::from("/k/private_key")],
        };
        let cmd = address_cmd(&config, "eth1; rm -rf /");
        let tail: Vec<_> = cmd.args.iter().rev().take(8).rev().cloned().collect();
        assert_eq!(
            tail,
            [
                "/k/private_key",
                "-p",
                "2222",
                "-l",
                "vagrant",
                "127.0.0.1",
                "--",
                "ip -4 addr show dev 'eth1; rm -rf /'"
            ]
        );
    }
}
