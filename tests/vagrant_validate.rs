//! The rendered Vagrantfiles pass the real `vagrant validate`.
//!
//! Vagrant validates a VirtualBox block only when its VirtualBox provider is
//! usable, which it decides by running `VBoxManage --version`. So the test
//! brings its own `VBoxManage` on a PATH it builds, rather than
//! `--ignore-provider`: that flag would skip the provider's checks of the
//! `vb` block, the part most worth validating, and a host's real VirtualBox
//! (or a leftover stand-in on the system PATH) must not decide the result.
// Unix hosts only: the test's own VBoxManage is an sh script.
#![cfg(unix)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{prerequisite, repo, run_lab, text};

/// A directory holding a `VBoxManage` that answers `--version` as
/// VirtualBox 7.0 does (the newest Vagrant 2.3.4 drives) and refuses
/// anything else, so a test that needed more would fail, not pass.
fn vboxmanage_standin(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = bin.join("VBoxManage");
    std::fs::write(
        &script,
        concat!(
            "#!/bin/sh\n",
            "if [ \"$1\" = --version ]; then echo 7.0.14r161095; exit 0; fi\n",
            "echo \"VBoxManage stand-in: $* is not part of vagrant validate\" >&2\n",
            "exit 1\n",
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

/// `vagrant validate` in `dir`, with the stand-in first on PATH.
fn vagrant_validate(dir: &Path) -> std::process::Output {
    let bin = vboxmanage_standin(dir);
    let path = std::env::join_paths(
        std::iter::once(bin).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    Command::new("vagrant")
        .arg("validate")
        .current_dir(dir)
        .env("PATH", path)
        // Vagrant's own state (plugins, boxes) stays inside the test.
        .env("VAGRANT_HOME", dir.join("vagrant.d"))
        .output()
        .unwrap()
}

/// `vagrant validate` of a Vagrantfile written by hand.
fn validate_text(vagrantfile: &str) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Vagrantfile"), vagrantfile).unwrap();
    vagrant_validate(dir.path())
}

fn validate(lab_toml: &str) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("lab.toml"), lab_toml).unwrap();
    let rendered = run_lab(dir.path(), &[], &["render"]);
    assert!(rendered.status.success(), "{}", text(&rendered.stderr));
    let vagrant_dir = dir.path().join("v");
    std::fs::create_dir(&vagrant_dir).unwrap();
    std::fs::write(vagrant_dir.join("Vagrantfile"), &rendered.stdout).unwrap();
    let out = vagrant_validate(&vagrant_dir);
    assert!(
        out.status.success() && text(&out.stdout).contains("Vagrantfile validated successfully."),
        "vagrant validate refused:\n{}{}\n--- Vagrantfile\n{}",
        text(&out.stdout),
        text(&out.stderr),
        text(&rendered.stdout)
    );
}

#[test]
fn shipped_lab_toml_validates() {
    if !prerequisite("vagrant", &["--version"]) {
        return;
    }
    validate(&std::fs::read_to_string(repo().join("lab.toml")).unwrap());
}

#[test]
fn the_seed_example_validates() {
    if !prerequisite("vagrant", &["--version"]) {
        return;
    }
    validate(&std::fs::read_to_string(repo().join("examples/seed-2015/lab.toml")).unwrap());
}

#[test]
fn docker_provider_variant_validates() {
    if !prerequisite("vagrant", &["--version"]) {
        return;
    }
    let shipped = std::fs::read_to_string(repo().join("lab.toml")).unwrap();
    let docker = shipped
        .replace("provider = \"virtualbox\"", "provider = \"docker\"")
        .replace("box = \"bento-ubuntu-2404\"", "box = \"debian-docker\"");
    assert_ne!(docker, shipped);
    validate(&docker);
}

/// The check is real: a name Vagrant refuses makes the test's check fail.
#[test]
fn validate_catches_a_bad_hostname() {
    if !prerequisite("vagrant", &["--version"]) {
        return;
    }
    let out = validate_text("Vagrant.configure('2') { |c| c.vm.hostname = 'bad_name!' }\n");
    assert!(!out.status.success());
}

/// `vagrant validate` of a `provider` block with a setting no provider has:
/// refused, which it would not be unless the provider checks the block.
fn refuses_an_unknown_setting(provider: &str) {
    let out = validate_text(&format!(
        "Vagrant.configure('2') do |c|\n  c.vm.box = 'x/y'\n  c.vm.provider '{provider}' do |p|\n    p.no_such_setting = 1\n  end\nend\n"
    ));
    assert!(!out.status.success(), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("no_such_setting")
            || text(&out.stderr).contains("no_such_setting"),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// The VirtualBox provider really validates the `vb` block.
#[test]
fn validate_checks_the_virtualbox_block() {
    if !prerequisite("vagrant", &["--version"]) {
        return;
    }
    refuses_an_unknown_setting("virtualbox");
}

/// The real vagrant-libvirt plugin is there (Debian's `vagrant-libvirt`).
fn libvirt_plugin() -> bool {
    if !prerequisite("vagrant", &["--version"]) {
        return false;
    }
    let listed = Command::new("vagrant")
        .args(["plugin", "list"])
        .output()
        .is_ok_and(|o| text(&o.stdout).contains("vagrant-libvirt"));
    if !listed {
        let why = "Vagrant has no vagrant-libvirt plugin";
        if std::env::var_os(support::REQUIRED).is_some() {
            panic!("{why}, and {} is set", support::REQUIRED);
        }
        eprintln!("SKIPPED: {why}");
    }
    listed
}

#[test]
fn libvirt_variant_validates_with_the_real_plugin() {
    if !libvirt_plugin() {
        return;
    }
    for driver in ["kvm", "qemu"] {
        validate(&format!(
            "name = \"lv\"\nprovider = \"libvirt\"\nbox = \"debian-libvirt\"\nmode = \"swarm\"\nengine = \"native\"\n[network]\nsubnet = \"10.236.4.0/24\"\n[libvirt]\ndriver = \"{driver}\"\n"
        ));
    }
}

/// The plugin really validates the `libvirt` block.
#[test]
fn validate_checks_the_libvirt_block() {
    if !libvirt_plugin() {
        return;
    }
    refuses_an_unknown_setting("libvirt");
}
