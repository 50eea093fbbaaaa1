//! `lab box bake [PROFILE]`: a box with the Docker engine in it, made once by
//! the instructor, so that no student's machine downloads an engine. One
//! machine boots from the profile's box, Docker is installed as
//! docker-machine's generic driver would install it (its install script;
//! or Debian packages from a folder, without the internet), the machine is
//! made anonymous again (machine-id, host keys, apt lists, Vagrant's
//! insecure key) and packaged as a box, with a profile `PROFILE-docker`
//! (`docker_preinstalled = true`) beside lab.toml.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context as _};

use crate::model::{boxes, Lab, Machine, Provider, Role};
use crate::process::runner::Runner;
use crate::process::tool::Tool;
use crate::session::Session;
use crate::tools::vagrant;

/// The bake machine's name, in a lab of its own (`NAME-bake`).
const MACHINE: &str = "bake";

/// Vagrant's insecure public key, put back so that Vagrant's first `up`
/// of the baked box logs in and replaces it, as with any public box.
const INSECURE_KEY: &str = include_str!("../../boxes/libvirt/vagrant-insecure.pub");

/// The lab of the one machine that bakes: the lab's provider, box and
/// subnet, a name of its own (its libvirt networks and state directory).
pub fn bake_lab(lab: &Lab, profile: &boxes::BoxProfile) -> Lab {
    let mut bake = lab.clone();
    bake.name = format!("{}-bake", lab.name);
    bake.profile = profile.clone();
    bake.machines = vec![Machine {
        name: MACHINE.into(),
        role: Role::Master,
    }];
    bake
}

/// Installs Docker unless it is there: the script docker-machine's generic
/// driver runs (`if ! type docker; then curl -sSL URL | sh -; fi`), or
/// the packages uploaded to /tmp/lab-bake-packages. Prints the seconds the
/// install took, for lab to tell what the baked box saves.
pub fn install_script(install_url: &str, packages: bool) -> String {
    let install = if packages {
        // docker-machine's systemd drop-in starts /usr/bin/dockerd (the
        // docker-ce layout); Debian's docker.io has it in /usr/sbin only.
        "DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends /tmp/lab-bake-packages/*.deb\n  [ -e /usr/bin/dockerd ] || ln -s /usr/sbin/dockerd /usr/bin/dockerd".to_string()
    } else {
        format!("curl -sSL {} | sh -", shell_words::quote(install_url))
    };
    format!(
        "set -e\nstart=$(date +%s)\nif type docker >/dev/null 2>&1; then\n  echo \"lab-bake: docker is already installed: $(docker --version)\"\nelse\n  {install}\nfi\nsystemctl enable docker >/dev/null 2>&1 || true\necho \"lab-bake: install-seconds $(( $(date +%s) - start ))\"\ndocker --version\n"
    )
}

/// Makes the machine anonymous again before it is packaged: each machine
/// of the baked box makes its own machine-id and host keys on first boot
/// (with the box's own first-boot unit where it has one: `ssh-keygen -A`
/// makes an RSA key too, a minute's work under software emulation), and
/// its engine its own ID (classic Swarm refuses two engines of one ID).
pub fn clean_script() -> String {
    format!(
        "set -e\n\
         systemctl stop docker.service docker.socket >/dev/null 2>&1 || true\n\
         rm -f /etc/docker/key.json\n\
         apt-get clean\n\
         rm -rf /var/lib/apt/lists/* /tmp/lab-bake-packages\n\
         truncate -s 0 /etc/machine-id\n\
         rm -f /var/lib/dbus/machine-id\n\
         if [ ! -e /etc/systemd/system/lab-host-keys.service ]; then\n\
         cat > /etc/systemd/system/lab-host-keys.service <<'UNIT'\n\
         [Unit]\n\
         Description=Host keys for sshd, made on this machine's first boot (lab box bake)\n\
         Before=ssh.service\n\
         ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key\n\
         [Service]\n\
         Type=oneshot\n\
         ExecStart=/usr/bin/ssh-keygen -A\n\
         [Install]\n\
         WantedBy=multi-user.target\n\
         UNIT\n\
         systemctl enable lab-host-keys.service >/dev/null 2>&1\n\
         fi\n\
         rm -f /etc/ssh/ssh_host_*\n\
         home=$(getent passwd vagrant | cut -d: -f6)\n\
         printf '%s\\n' '{}' > \"$home/.ssh/authorized_keys\"\n\
         chown vagrant \"$home/.ssh/authorized_keys\"\n\
         chmod 600 \"$home/.ssh/authorized_keys\"\n\
         sync\n",
        INSECURE_KEY.trim()
    )
}

/// The seconds the install script said it took.
pub fn install_seconds(output: &str) -> Option<u64> {
    output
        .lines()
        .find_map(|l| l.trim().strip_prefix("lab-bake: install-seconds "))
        .and_then(|n| n.trim().parse().ok())
}

/// The files of the installed box that its own Vagrantfile may name (a
/// kernel it boots directly), packaged beside it.
fn box_extras(dir: &Path) -> Vec<PathBuf> {
    let skip = [
        "metadata.json",
        "Vagrantfile",
        "box.img",
        "box.ovf",
        "box_update_check",
    ];
    let mut extras: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| {
            let name = p
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            !skip.contains(&name.as_str()) && !name.ends_with(".vmdk")
        })
        .collect();
    extras.sort();
    extras
}

/// Where Vagrant keeps an installed box: `boxes/NAME/VERSION/PROVIDER`.
fn installed_dir(name: &str, version: &str, provider: &str) -> PathBuf {
    let dir = name.replace('/', "-VAGRANTSLASH-");
    let base = vagrant::home().join("boxes").join(dir).join(version);
    let with_arch = base.join(crate::model::version::host_arch()).join(provider);
    if with_arch.is_dir() {
        with_arch
    } else {
        base.join(provider)
    }
}

pub async fn run(
    lab: &Lab,
    profile: Option<&str>,
    out: Option<&Path>,
    packages: Option<&Path>,
    session: &Session,
) -> anyhow::Result<()> {
    let started = Instant::now();
    if lab.provider == Provider::Docker {
        return Err(crate::error::Error::Unsupported {
            what: "lab box bake".into(),
            provider: lab.provider.to_string(),
            hint: "the docker provider's images are built with Docker in them (boxes/docker/build-image.sh)".into(),
        }
        .into());
    }
    let profile = match profile {
        None => lab.profile.clone(),
        Some(name) => boxes::resolve(&lab.root, name, lab.provider).map_err(anyhow::Error::msg)?,
    };
    let name = profile.vagrant_box.clone().unwrap_or_default();
    if let Some(dir) = packages {
        let debs = std::fs::read_dir(dir)
            .with_context(|| format!("--packages {}: cannot read it", dir.display()))?
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "deb"))
            .count();
        if debs == 0 {
            bail!("--packages {}: no .deb files in it\nhint: `apt-get download` docker.io and what it depends on into it", dir.display());
        }
    }
    if lab.provider == Provider::Libvirt && lab.state_dir().exists() {
        bail!(
            "lab `{}` is built, and its bake machine would use the same subnet\nhint: bake before `lab up`, or after `lab destroy`",
            lab.name
        );
    }
    let out = out.map_or_else(
        || {
            lab.root
                .join("boxes")
                .join(format!("{}-docker-{}.box", profile.name, lab.provider))
        },
        Path::to_path_buf,
    );
    if out.exists() {
        bail!(
            "{} exists\nhint: name another file with --out, or remove it",
            out.display()
        );
    }
    // On libvirt lab packages the box itself: vagrant-libvirt's `vagrant
    // package` needs libguestfs (virt-sysprep, virt-sparsify), which needs
    // a kernel in the host's /boot, and cleans nothing lab's clean misses.
    let tools: &[Tool] = if lab.provider == Provider::Libvirt {
        &[Tool::Vagrant, Tool::Virsh, Tool::QemuImg]
    } else {
        &[Tool::Vagrant]
    };
    let runner = session.reader(tools)?;
    let listed = vagrant::parse_box_list(&runner.query(&vagrant::box_list()).await?.stdout);
    let Some(installed) = vagrant::installed_box(&profile, lab.provider, &listed).cloned() else {
        bail!(
            "box {name} ({}) is not on this host\nhint: `lab box add {}` (from its local copy), or `vagrant box add {name} --provider {}`",
            lab.provider,
            profile.name,
            lab.provider
        );
    };
    let bake = bake_lab(lab, &profile);
    crate::commands::write_vagrantfile(&bake)?;
    let result = bake_in(&runner, &bake, lab, &installed, &out, packages).await;
    // The bake machine goes whatever happened.
    let destroy = vagrant::destroy(&bake);
    let gone = runner.run(&destroy, &|_| {}).await;
    if gone.is_ok() {
        let _ = std::fs::remove_dir_all(bake.state_dir());
    }
    let install = result?;
    gone.with_context(|| format!("removing the bake machine (lab `{}`)", bake.name))?;

    let mut baked = profile.clone();
    baked.vagrant_box = Some(format!("{name}-docker"));
    baked.box_file = Some(relative(&out, &lab.root));
    baked.box_version = None;
    baked.box_url = None;
    baked.docker_preinstalled = true;
    baked.description = format!(
        "{} with Docker baked in (lab box bake)",
        profile.description
    );
    let profile_path = lab
        .root
        .join("boxes")
        .join(format!("{}-docker.toml", profile.name));
    std::fs::create_dir_all(lab.root.join("boxes"))?;
    crate::process::files::write_atomically(
        &profile_path,
        format!(
            "# Written by `lab box bake`: {name} with Docker in it.\n{}",
            toml::to_string(&baked).context("writing the baked profile")?
        )
        .as_bytes(),
    )?;
    let bytes = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    crate::outln!(
        "baked {} ({:.0} MiB) in {:.0}s; its profile is {} (box = \"{}-docker\" in lab.toml)",
        relative(&out, &lab.root),
        bytes as f64 / 1048576.0,
        started.elapsed().as_secs_f64(),
        relative(&profile_path, &lab.root),
        profile.name
    );
    let machines = lab.machines.len() as u64;
    match install {
        Some(s) if s > 0 => crate::outln!(
            "installing Docker took {s}s here: with the baked box, a lab of {machines} machines skips about {}s of installs, and {machines} engine downloads",
            s * machines
        ),
        _ => crate::outln!("the box had Docker already: the baked box saves no install"),
    }
    Ok(())
}

/// `path` relative to `root` where it is inside it (a profile's box_file).
fn relative(path: &Path, root: &Path) -> String {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let root = std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf());
    absolute.strip_prefix(&root).map_or_else(
        |_| absolute.display().to_string(),
        |p| p.display().to_string(),
    )
}

/// `vagrant package` with the installed box's Vagrantfile and the files it
/// names (VirtualBox).
async fn package(runner: &Runner, bake: &Lab, dir: &Path, out: &Path) -> anyhow::Result<()> {
    let mut args = vec![
        "package".to_string(),
        MACHINE.into(),
        "--output".into(),
        std::path::absolute(out)?.display().to_string(),
    ];
    if dir.join("Vagrantfile").is_file() {
        args.extend([
            "--vagrantfile".into(),
            dir.join("Vagrantfile").display().to_string(),
        ]);
    }
    let extras = box_extras(dir);
    if !extras.is_empty() {
        args.push("--include".into());
        args.push(
            extras
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(","),
        );
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let say = |line: &str| crate::errln!("  {line}");
    runner.run(&vagrant::vagrant(bake, &args), &say).await?;
    Ok(())
}

/// A folder removed when dropped, whatever happened.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A vagrant-libvirt box from the halted machine's disk, as vagrant-libvirt
/// lays one out: `box.img` (the disk, its backing box folded in),
/// `metadata.json`, and the installed box's Vagrantfile with the files it
/// names (a kernel it boots directly). Written beside `out`, then renamed.
async fn package_libvirt(
    runner: &Runner,
    bake: &Lab,
    dir: &Path,
    out: &Path,
) -> anyhow::Result<()> {
    use crate::tools::libvirt;
    let domain = libvirt::domain(&bake.name, MACHINE);
    let listing = runner.query(&libvirt::disks(&domain)).await?.stdout;
    let disk = libvirt::first_disk(&listing).with_context(|| {
        format!("`virsh domblklist {domain}` shows no disk of the bake machine:\n{listing}")
    })?;
    let info = runner.query(&libvirt::info(&disk)).await?.stdout;
    let gib = libvirt::virtual_size_gib(&info).with_context(|| {
        format!(
            "`qemu-img info` of {} shows no virtual size",
            disk.display()
        )
    })?;
    let parent = out.parent().unwrap_or(Path::new("."));
    let file = out.file_name().unwrap_or_default().to_string_lossy();
    let pid = std::process::id();
    let scratch = Scratch(parent.join(format!(".{file}.bake-{pid}")));
    std::fs::create_dir_all(&scratch.0)
        .with_context(|| format!("making {}", scratch.0.display()))?;
    let say = |line: &str| crate::errln!("  {line}");
    runner
        .run(&libvirt::flatten(&disk, &scratch.0.join("box.img")), &say)
        .await
        .with_context(|| {
            format!(
                "copying the bake machine's disk {}\nhint: libvirt's pool is root's: run `lab box bake` as root, or as a user who may read it",
                disk.display()
            )
        })?;
    let mut files = vec![(scratch.0.join("box.img"), "box.img".to_string())];
    let metadata = scratch.0.join("metadata.json");
    std::fs::write(
        &metadata,
        serde_json::json!({"provider": "libvirt", "format": "qcow2", "virtual_size": gib})
            .to_string(),
    )?;
    files.push((metadata, "metadata.json".into()));
    if dir.join("Vagrantfile").is_file() {
        files.push((dir.join("Vagrantfile"), "Vagrantfile".into()));
    }
    for extra in box_extras(dir) {
        let name = extra
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        files.push((extra, name));
    }
    let partial = parent.join(format!(".{file}.partial-{pid}"));
    let written = write_tar(&partial, &files)
        .and_then(|()| std::fs::rename(&partial, out).map_err(Into::into))
        .with_context(|| format!("writing {}", out.display()));
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written
}

/// A plain tar of `files` (a box is one; Vagrant also reads it gzipped).
fn write_tar(to: &Path, files: &[(PathBuf, String)]) -> anyhow::Result<()> {
    let mut tar = tar::Builder::new(std::fs::File::create(to)?);
    tar.mode(tar::HeaderMode::Deterministic);
    for (path, name) in files {
        tar.append_path_with_name(path, name)
            .with_context(|| format!("adding {}", path.display()))?;
    }
    tar.into_inner()?.sync_all()?;
    Ok(())
}

/// Boot, install, clean, halt, package; the install's seconds.
async fn bake_in(
    runner: &Runner,
    bake: &Lab,
    lab: &Lab,
    installed: &vagrant::InstalledBox,
    out: &Path,
    packages: Option<&Path>,
) -> anyhow::Result<Option<u64>> {
    let say = |line: &str| crate::errln!("  {line}");
    crate::errln!(
        "[1/5] booting one machine from {} ({})",
        installed.name,
        lab.provider
    );
    runner.run(&vagrant::up(bake, &[]), &|_| {}).await?;
    if let Some(dir) = packages {
        crate::errln!("      uploading the packages of {}", dir.display());
        let from = format!("{}/.", dir.display());
        let upload = vagrant::vagrant(bake, &["upload", &from, "/tmp/lab-bake-packages", MACHINE]);
        runner.run(&upload, &say).await?;
    }
    crate::errln!("[2/5] installing Docker");
    // The scripts go on stdin: nothing of them on a command line.
    let sudo_sh = vagrant::vagrant(bake, &["ssh", MACHINE, "--", "sudo", "sh", "-s"]);
    let script = install_script(&lab.install_url, packages.is_some());
    let out_install = runner
        .run_with_input(&sudo_sh, script.as_bytes(), &say)
        .await?;
    let seconds = install_seconds(&out_install.stdout);
    crate::errln!("[3/5] cleaning: machine-id, host keys, apt lists, Vagrant's key");
    runner
        .run_with_input(&sudo_sh, clean_script().as_bytes(), &say)
        .await?;
    crate::errln!("[4/5] halting");
    runner
        .run(&vagrant::halt(bake, &[MACHINE.to_string()]), &say)
        .await?;
    crate::errln!("[5/5] packaging {}", out.display());
    let dir = installed_dir(&installed.name, &installed.version, lab.provider.as_str());
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    if lab.provider == Provider::Libvirt {
        package_libvirt(runner, bake, &dir, out).await?;
    } else {
        package(runner, bake, &dir, out).await?;
    }
    Ok(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_install_is_docker_machines_unless_packages_are_given() {
        let script = install_script("https://get.docker.com", false);
        assert!(
            script.contains("if type docker >/dev/null 2>&1; then"),
            "{script}"
        );
        assert!(
            script.contains("curl -sSL https://get.docker.com | sh -"),
            "{script}"
        );
        let hostile = install_script("https://x/$(reboot)'", false);
        assert!(
            hostile.contains("curl -sSL 'https://x/$(reboot)'\\'''"),
            "{hostile}"
        );
        let offline = install_script("https://get.docker.com", true);
        assert!(offline
            .contains("apt-get install -y --no-install-recommends /tmp/lab-bake-packages/*.deb"));
        assert!(!offline.contains("curl"));
        assert_eq!(
            install_seconds("x\nlab-bake: install-seconds 93\nDocker version 20.10"),
            Some(93)
        );
        assert_eq!(install_seconds("nothing"), None);
    }

    #[test]
    fn the_clean_script_leaves_the_insecure_key_and_makes_keys_on_first_boot() {
        let script = clean_script();
        assert!(script.contains("ssh-rsa "), "{script}");
        assert!(script.contains("rm -f /etc/ssh/ssh_host_*"));
        assert!(script.contains("ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key"));
        assert!(script.contains("truncate -s 0 /etc/machine-id"));
        assert!(script.contains("rm -f /etc/docker/key.json"));
        assert!(script.contains("if [ ! -e /etc/systemd/system/lab-host-keys.service ]"));
    }

    #[test]
    fn the_bake_lab_is_one_machine_of_its_own() {
        let lab = crate::model::parse(
            Path::new("lab.toml"),
            "name = \"class\"\nprovider = \"libvirt\"\nbox = \"debian-libvirt\"\nmode = \"swarm\"\nengine = \"native\"\n",
        )
        .unwrap();
        let bake = bake_lab(&lab, &lab.profile);
        assert_eq!(bake.name, "class-bake");
        assert_eq!(bake.machines.len(), 1);
        assert_eq!(bake.libvirt_networks().unwrap().0, "class-bake");
        let v = crate::host::render::vagrantfile(&bake).unwrap();
        assert_eq!(v.matches("config.vm.define").count(), 1, "{v}");
        assert!(v.contains("config.vm.define 'bake'"), "{v}");
    }
}
