//! Box profiles: what lab needs to know about a box beyond its name.
//!
//! The catalog in `boxes/` is compiled in; a `boxes/` folder next to lab.toml
//! adds profiles or overrides compiled-in ones with the same name.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::model::Provider;

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BoxProfile {
    #[serde(skip)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The Vagrant box, for VirtualBox.
    #[serde(rename = "box", skip_serializing_if = "Option::is_none")]
    pub vagrant_box: Option<String>,
    /// The box version to use (VirtualBox); any when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub box_version: Option<String>,
    /// A local `.box` file (USB stick, class share), relative to lab.toml's
    /// directory: added to Vagrant without the internet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub box_file: Option<String>,
    /// Vagrant box metadata JSON on a class server (name, versions, URLs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub box_url: Option<String>,
    /// The local image, for the docker provider.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// A `docker save` archive of the image, relative to lab.toml's directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_file: Option<String>,
    /// Whether the box's Docker engine still has cluster-store, which the
    /// seed's classic Swarm needs (gone in Docker 23; Debian's 20.10 build
    /// refuses it too).
    #[serde(default = "yes")]
    pub cluster_store: bool,
    /// The architectures the box is published for, as boxes name them
    /// (`amd64`, `arm64`); an Apple Silicon Mac runs arm64 boxes only.
    #[serde(default = "amd64_only")]
    pub architectures: Vec<String>,
    /// Whether the box (or image) comes with Docker installed, so that no
    /// installer runs on it.
    #[serde(default)]
    pub docker_preinstalled: bool,
    /// Whether Vagrant writes the guest's network settings for the private
    /// network (libvirt); a box that takes DHCP on every interface by
    /// itself needs none, and Vagrant's guess of the guest's network tools
    /// can be wrong (seen here: RedHat's ifcfg files on a Debian guest).
    #[serde(default = "yes")]
    pub network_auto_config: bool,
    /// The guest's interface on the lab's private network.
    #[serde(default = "default_interface")]
    pub interface: String,
    #[serde(default = "default_user")]
    pub user: String,
    /// The guest port sshd listens on, reached at the private address.
    #[serde(default = "default_ssh_port")]
    pub ssh_port: u16,
    /// Extra `docker create` arguments for the docker provider.
    #[serde(default)]
    pub docker_args: Vec<String>,
    /// The container's command for the docker provider (`/sbin/init` to boot
    /// systemd); empty keeps the image's own.
    #[serde(default)]
    pub docker_cmd: Vec<String>,
}

fn amd64_only() -> Vec<String> {
    vec!["amd64".into()]
}

fn yes() -> bool {
    true
}

fn default_interface() -> String {
    "eth1".into()
}
fn default_user() -> String {
    "vagrant".into()
}
fn default_ssh_port() -> u16 {
    22
}

const BUILTIN: &[(&str, &str)] = &[
    ("ubuntu1504", include_str!("../../boxes/ubuntu1504.toml")),
    ("ubuntu2204", include_str!("../../boxes/ubuntu2204.toml")),
    (
        "bento-ubuntu-2404",
        include_str!("../../boxes/bento-ubuntu-2404.toml"),
    ),
    (
        "debian-docker",
        include_str!("../../boxes/debian-docker.toml"),
    ),
    (
        "debian-systemd",
        include_str!("../../boxes/debian-systemd.toml"),
    ),
    (
        "debian-libvirt",
        include_str!("../../boxes/debian-libvirt.toml"),
    ),
    (
        "debian-libvirt-plain",
        include_str!("../../boxes/debian-libvirt-plain.toml"),
    ),
];

fn parse_profile(name: &str, text: &str, origin: &str) -> Result<BoxProfile, String> {
    let mut p: BoxProfile = toml::from_str(text)
        .map_err(|e| format!("box profile {origin} is invalid: {}", e.message()))?;
    p.name = name.to_string();
    Ok(p)
}

/// Every profile: compiled-in ones, replaced or extended by `<root>/boxes/*.toml`.
pub fn catalog(root: &Path) -> Result<Vec<BoxProfile>, String> {
    let mut all = Vec::new();
    for (name, text) in BUILTIN {
        all.push(parse_profile(name, text, &format!("boxes/{name}.toml"))?);
    }
    let dir = root.join("boxes");
    if let Ok(entries) = std::fs::read_dir(&dir) {
        let mut files: Vec<_> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        for path in files {
            let name = path
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let p = parse_profile(&name, &text, &path.display().to_string())?;
            all.retain(|b| b.name != name);
            all.push(p);
        }
    }
    Ok(all)
}

/// Finds the profile `wanted` names: a profile name, else a profile for that
/// box or image, else a raw box (VirtualBox) or image (docker) with defaults.
pub fn resolve(root: &Path, wanted: &str, provider: Provider) -> Result<BoxProfile, String> {
    if wanted.trim().is_empty() {
        return Err("box must not be empty".into());
    }
    let all = catalog(root)?;
    let found = all.iter().find(|p| p.name == wanted).or_else(|| {
        all.iter().find(|p| {
            p.vagrant_box.as_deref() == Some(wanted) || p.image.as_deref() == Some(wanted)
        })
    });
    let profile = match found {
        Some(p) => p.clone(),
        None => BoxProfile {
            name: wanted.to_string(),
            description: String::new(),
            vagrant_box: provider.uses_boxes().then(|| wanted.to_string()),
            image: (provider == Provider::Docker).then(|| wanted.to_string()),
            interface: default_interface(),
            user: default_user(),
            ssh_port: default_ssh_port(),
            cluster_store: true,
            network_auto_config: true,
            ..BoxProfile::default()
        },
    };
    match provider {
        Provider::Virtualbox | Provider::Libvirt if profile.vagrant_box.is_none() => Err(format!(
            "box profile `{}` has no Vagrant box for provider \"{provider}\" (it is for the docker provider: set provider = \"docker\")",
            profile.name
        )),
        Provider::Docker if profile.image.is_none() => Err(format!(
            "box profile `{}` has no docker image for provider \"docker\" (name a local image, or a profile such as \"debian-docker\")",
            profile.name
        )),
        _ => Ok(profile),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nowhere() -> &'static Path {
        Path::new("/nonexistent-lab-root")
    }

    #[test]
    fn builtin_profiles_parse() {
        let all = catalog(nowhere()).unwrap();
        assert_eq!(all.len(), BUILTIN.len());
    }

    #[test]
    fn box_name_finds_its_profile() {
        let p = resolve(nowhere(), "ubuntu/jammy64", Provider::Virtualbox).unwrap();
        assert_eq!(
            (p.name.as_str(), p.interface.as_str()),
            ("ubuntu2204", "enp0s8")
        );
    }

    #[test]
    fn raw_names_get_defaults() {
        let p = resolve(nowhere(), "someone/box", Provider::Virtualbox).unwrap();
        assert_eq!(p.vagrant_box.as_deref(), Some("someone/box"));
        assert_eq!(
            (p.interface.as_str(), p.user.as_str(), p.ssh_port),
            ("eth1", "vagrant", 22)
        );
        let p = resolve(nowhere(), "my/image:tag", Provider::Docker).unwrap();
        assert_eq!(p.image.as_deref(), Some("my/image:tag"));
    }

    #[test]
    fn profile_for_the_other_provider_is_refused() {
        let e = resolve(nowhere(), "debian-docker", Provider::Virtualbox).unwrap_err();
        assert!(e.contains("provider = \"docker\""), "{e}");
        let e = resolve(nowhere(), "ubuntu1504", Provider::Docker).unwrap_err();
        assert!(e.contains("no docker image"), "{e}");
    }

    #[test]
    fn local_profiles_override_builtin_ones() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("boxes")).unwrap();
        std::fs::write(
            dir.path().join("boxes/ubuntu1504.toml"),
            "box = \"mirror/ubuntu1504\"\ninterface = \"eth9\"\n",
        )
        .unwrap();
        let p = resolve(dir.path(), "ubuntu1504", Provider::Virtualbox).unwrap();
        assert_eq!(p.vagrant_box.as_deref(), Some("mirror/ubuntu1504"));
        assert_eq!(p.interface, "eth9");
    }
}
