//! The rendered Vagrantfiles pass the real `vagrant validate`.

mod support;

use std::process::Command;

use support::{prerequisite, repo, run_lab, text};

fn validate(lab_toml: &str) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("lab.toml"), lab_toml).unwrap();
    let rendered = run_lab(dir.path(), &[], &["render"]);
    assert!(rendered.status.success(), "{}", text(&rendered.stderr));
    let vagrant_dir = dir.path().join("v");
    std::fs::create_dir(&vagrant_dir).unwrap();
    std::fs::write(vagrant_dir.join("Vagrantfile"), &rendered.stdout).unwrap();
    let out = Command::new("vagrant")
        .arg("validate")
        .current_dir(&vagrant_dir)
        .output()
        .unwrap();
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
fn docker_provider_variant_validates() {
    if !prerequisite("vagrant", &["--version"]) {
        return;
    }
    let shipped = std::fs::read_to_string(repo().join("lab.toml")).unwrap();
    let docker = shipped
        .replace("provider = \"virtualbox\"", "provider = \"docker\"")
        .replace("box = \"takanabe/ubuntu1504\"", "box = \"debian-docker\"");
    assert_ne!(docker, shipped);
    validate(&docker);
}

/// The check is real: a name Vagrant refuses makes the test's check fail.
#[test]
fn validate_catches_a_bad_hostname() {
    if !prerequisite("vagrant", &["--version"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Vagrantfile"),
        "Vagrant.configure('2') { |c| c.vm.hostname = 'bad_name!' }\n",
    )
    .unwrap();
    let out = Command::new("vagrant")
        .arg("validate")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
}
