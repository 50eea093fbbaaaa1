//! The external programs lab drives, and where each one is on this host:
//! looked up once, on PATH or where its installer puts it. What each one
//! is for and how to install it is the tools layer's (`tools/catalogue.rs`).

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

/// The external programs lab drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tool {
    Vagrant,
    DockerMachine,
    Docker,
    Ssh,
    VBoxManage,
    /// libvirt's shell, for what vagrant-libvirt does not show: a domain's
    /// disk (lab box bake).
    Virsh,
    QemuImg,
}

impl Tool {
    /// Every tool, in the order `-v`'s summary lists them.
    pub const ALL: [Tool; 7] = [
        Tool::Vagrant,
        Tool::Ssh,
        Tool::Docker,
        Tool::DockerMachine,
        Tool::VBoxManage,
        Tool::Virsh,
        Tool::QemuImg,
    ];

    pub fn program(self) -> &'static str {
        match self {
            Tool::Vagrant => "vagrant",
            Tool::DockerMachine => "docker-machine",
            Tool::Docker => "docker",
            Tool::Ssh => "ssh",
            Tool::VBoxManage => "VBoxManage",
            Tool::Virsh => "virsh",
            Tool::QemuImg => "qemu-img",
        }
    }
}

impl fmt::Display for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.program())
    }
}

/// Where each tool was found; looked up once, before anything runs.
#[derive(Debug, Clone, Default)]
pub struct Tools {
    paths: Vec<(Tool, PathBuf)>,
}

impl Tools {
    /// Tools at the given paths: a test's own stand-ins (sh scripts).
    #[cfg(all(test, unix))]
    pub fn at(paths: Vec<(Tool, PathBuf)>) -> Tools {
        Tools { paths }
    }

    /// The tools that are there, and the ones that are not (for dry runs,
    /// which look at what they can and assume the rest).
    pub fn available(wanted: &[Tool]) -> (Tools, Vec<Tool>) {
        let mut paths = Vec::new();
        let mut missing = Vec::new();
        for &tool in wanted {
            match which::which(tool.program())
                .ok()
                .or_else(|| installed_off_path(tool))
            {
                Some(path) => paths.push((tool, path)),
                None => missing.push(tool),
            }
        }
        (Tools { paths }, missing)
    }

    pub fn has(&self, tool: Tool) -> bool {
        self.path(tool).is_some()
    }

    pub fn path(&self, tool: Tool) -> Option<&PathBuf> {
        self.paths.iter().find(|(t, _)| *t == tool).map(|(_, p)| p)
    }
}

/// Where a tool's installer puts it when it is not on PATH: VirtualBox's
/// Windows installer adds no PATH entry, only `VBOX_MSI_INSTALL_PATH`, and
/// installs under `%ProgramFiles%\Oracle\VirtualBox`.
fn installed_off_path(tool: Tool) -> Option<PathBuf> {
    let var = std::env::var_os;
    if !cfg!(windows) || tool != Tool::VBoxManage {
        return None;
    }
    let dirs = [
        var("VBOX_MSI_INSTALL_PATH").map(PathBuf::from),
        var("VBOX_INSTALL_PATH").map(PathBuf::from),
        var("ProgramFiles").map(|p| PathBuf::from(p).join("Oracle").join("VirtualBox")),
    ];
    dirs.into_iter()
        .flatten()
        .map(|dir| dir.join("VBoxManage.exe"))
        .find(|exe| exe.is_file())
}
