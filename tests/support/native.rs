//! A lab of real machines with real engines (native, swarm mode) for the
//! end-to-end tests, removed with everything it made when dropped.

use super::lab_dir::LabDir;
use super::{prerequisite, repo};

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

/// A native swarm-mode lab of systemd machines: `prefix` and `octet`
/// keep tests of different files apart (names, subnets 10.OCTET.x.0/24).
pub fn lab(prefix: &str, octet: u8, nodes: u32) -> LabDir {
    let pid = std::process::id();
    let name = format!("{prefix}{pid}");
    let subnet = format!("10.{octet}.{}.0/24", 20 + pid % 200);
    let lab = LabDir::new("lab dir 'q' \"d\" $(touch pwned) ").makes(name.clone(), subnet.clone());
    lab.write(
        "lab.toml",
        &format!(
            "name = \"{name}\"\nprovider = \"docker\"\nbox = \"debian-systemd\"\nengine = \"native\"\nmode = \"swarm\"\n\
             [network]\nsubnet = \"{subnet}\"\n[consul]\nenabled = false\n[swarm]\nnodes = {nodes}\n[verify]\nimage = \"{PROBE_IMAGE}\"\n"
        ),
    );
    lab
}

impl LabDir {
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
