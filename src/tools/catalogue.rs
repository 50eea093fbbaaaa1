//! How to install each program lab drives, on this platform, and the
//! error that names the missing ones. Which ones a lab needs is its engine
//! driver's to say (`reconcile/driver.rs`).

use crate::error::{Error, Missing, MissingTools};
use crate::process::tool::Tool;

/// How to install `tool` here.
pub fn install_hint(tool: Tool) -> &'static str {
    if cfg!(windows) {
        return match tool {
            Tool::Vagrant => "install Vagrant 2.4.9 or later (the Windows installer from developer.hashicorp.com/vagrant)",
            Tool::DockerMachine => {
                "install docker-machine.exe on PATH: GitLab's maintained fork (docker-machine-Windows-x86_64.exe from gitlab-org/ci-cd/docker-machine releases), or use engine = \"native\""
            }
            Tool::Docker => "install the Docker client, docker.exe, on PATH (Docker's static binaries for Windows, download.docker.com/win/static)",
            Tool::Ssh => "install the OpenSSH client (Windows 10+: Settings > Optional features > OpenSSH Client)",
            Tool::VBoxManage => "install VirtualBox 7 (virtualbox.org); lab finds VBoxManage.exe where the installer puts it",
            Tool::Virsh | Tool::QemuImg => "libvirt runs on Linux only: bake a libvirt box there",
        };
    }
    match tool {
        Tool::Vagrant => "install Vagrant 2.x (Debian/Ubuntu: apt-get install vagrant)",
        Tool::DockerMachine => {
            "install docker-machine somewhere on PATH: GitLab's maintained fork (0.16.2-gitlab.NN, a single binary from gitlab-org/ci-cd/docker-machine releases), or Docker's last release 0.16.2"
        }
        Tool::Docker => "install the Docker client (Debian/Ubuntu: apt-get install docker.io)",
        Tool::Ssh => "install an OpenSSH client (Debian/Ubuntu: apt-get install openssh-client)",
        Tool::VBoxManage => "install VirtualBox 6.1 or 7 (virtualbox.org), or use provider = \"docker\" on Linux",
        Tool::Virsh => "install libvirt's client (Debian/Ubuntu: apt-get install libvirt-clients)",
        Tool::QemuImg => "install qemu-img (Debian/Ubuntu: apt-get install qemu-utils)",
    }
}

/// The error for tools that are not on PATH, each with its install hint.
pub fn missing(tools: &[Tool]) -> Error {
    Error::MissingTools(MissingTools(
        tools
            .iter()
            .map(|&t| Missing {
                program: t.program(),
                hint: install_hint(t),
            })
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_tools_are_named_with_a_fix() {
        let text = missing(&[Tool::DockerMachine, Tool::Vagrant]).to_string();
        assert!(
            text.starts_with("not found on PATH: docker-machine, vagrant"),
            "{text}"
        );
        if cfg!(unix) {
            assert!(text.contains("apt-get install vagrant"), "{text}");
        }
    }
}
