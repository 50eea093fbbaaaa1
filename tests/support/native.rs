//! A lab of real machines with real engines (native, swarm mode) for the
//! end-to-end tests, removed with everything it made when dropped.

use std::path::Path;
use std::process::Output;

use super::{prerequisite, repo, run_lab, text};

/// Vagrant, a Docker engine, the machine image, and the probe image (built
/// here, offline, when missing).
pub fn prerequisites() -> bool {
    prerequisite("vagrant", &["--version"])
        && prerequisite("docker", &["info"])
        && prerequisite("docker", &["image", "inspect", MACHINE_IMAGE])
        && prerequisite(
            "bash",
            &[repo()
                .join("boxes/docker/build-probe-image.sh")
                .to_str()
                .unwrap()],
        )
}

pub const MACHINE_IMAGE: &str = "lab/debian-docker:bookworm";
pub const PROBE_IMAGE: &str = "lab/probe:busybox";

pub struct Lab {
    pub dir: tempfile::TempDir,
    pub name: String,
    pub subnet: String,
}

impl Lab {
    /// A native swarm-mode lab of systemd machines: `prefix` and `octet`
    /// keep tests of different files apart (names, subnets 10.OCTET.x.0/24).
    ///
    /// The lab lives in a directory whose name has a space, quotes and
    /// `$(...)`: every path lab hands on (Vagrant's, the SSH keys, the
    /// certificates) must arrive as it is, never through a shell.
    pub fn new(prefix: &str, octet: u8, nodes: u32) -> Lab {
        let dir = tempfile::Builder::new()
            .prefix("lab dir 'q' \"d\" $(touch pwned) ")
            .tempdir()
            .unwrap();
        let pid = std::process::id();
        let name = format!("{prefix}{pid}");
        let subnet = format!("10.{octet}.{}.0/24", 20 + pid % 200);
        std::fs::write(
            dir.path().join("lab.toml"),
            format!(
                "name = \"{name}\"\nprovider = \"docker\"\nbox = \"debian-systemd\"\nengine = \"native\"\nmode = \"swarm\"\n\
                 [network]\nsubnet = \"{subnet}\"\n[consul]\nenabled = false\n[swarm]\nnodes = {nodes}\n[verify]\nimage = \"{PROBE_IMAGE}\"\n"
            ),
        )
        .unwrap();
        Lab { dir, name, subnet }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn lab(&self, args: &[&str]) -> Output {
        run_lab(self.path(), &[], args)
    }

    pub fn ok(&self, args: &[&str]) -> String {
        super::succeeded(&self.lab(args), args)
    }

    /// `docker ARGS` with the real client, in a bash that ran
    /// `eval "$(lab env MACHINE)"` as a student would.
    pub fn docker_on(&self, machine: &str, args: &str) -> Output {
        super::docker_after_env(self.path(), &[], machine, args)
    }

    pub fn docker_ok(&self, machine: &str, args: &str) -> String {
        let out = self.docker_on(machine, args);
        assert!(
            out.status.success(),
            "docker {args} on {machine}: {}\n{}{}",
            out.status,
            text(&out.stdout),
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    /// Whether `machine`'s engine has `image`.
    pub fn has_image(&self, machine: &str, image: &str) -> bool {
        self.docker_on(
            machine,
            &format!("image inspect --format '{{{{.Id}}}}' {image}"),
        )
        .status
        .success()
    }

    /// `docker node ls` on the master as (hostname, status) pairs.
    pub fn nodes(&self) -> Vec<(String, String)> {
        self.docker_ok(
            "swarm-master",
            "node ls --format '{{.Hostname}} {{.Status}}'",
        )
        .lines()
        .map(|l| {
            let (h, s) = l.split_once(' ').unwrap();
            (h.to_string(), s.to_string())
        })
        .collect()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = self.lab(&["destroy", "-q"]);
        super::remove_leftovers(&self.name, &self.subnet);
    }
}
