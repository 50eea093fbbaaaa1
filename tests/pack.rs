//! `lab pack` with the real Docker engine and `sha256sum`: a pack holds the
//! lab's image, the probe image, lab.toml, a profile pointing at the packed
//! image, the binary and SHA256SUMS; `lab up` from it refuses a damaged
//! file by name before anything runs, and plans to load an image this host
//! lacks from the pack. The images are tags of the CI-built probe image
//! made for this test and removed afterwards.

mod support;

use std::path::Path;
use std::process::Command;

use support::{lab_binary, prerequisite, run_lab, succeeded, text, ImageTag};

#[test]
fn a_pack_is_checked_before_anything_runs_and_brings_its_images() {
    if !prerequisite("docker", &["image", "inspect", "lab/probe:busybox"]) {
        return;
    }
    let id = std::process::id();
    let machine = ImageTag::of("lab/probe:busybox", format!("lab-pack-test/machine-{id}:t"));
    let probe = ImageTag::of("lab/probe:busybox", format!("lab-pack-test/probe-{id}:t"));
    let (machine_image, probe_image) = (machine.0.clone(), probe.0.clone());
    let dir = tempfile::tempdir().unwrap();
    let lab = dir.path().join("class");
    std::fs::create_dir_all(lab.join("boxes")).unwrap();
    std::fs::write(
        lab.join("boxes/tiny.toml"),
        format!("description = \"a test's image\"\nimage = \"{machine_image}\"\ndocker_cmd = [\"/sbin/init\"]\n"),
    )
    .unwrap();
    std::fs::write(
        lab.join("lab.toml"),
        format!("name = \"packed\"\nprovider = \"docker\"\nbox = \"tiny\"\nmode = \"swarm\"\nengine = \"native\"\n[consul]\nenabled = false\n[swarm]\nnodes = 1\n[verify]\nimage = \"{probe_image}\"\n"),
    )
    .unwrap();

    // An image this host lacks stops the pack before it writes anything.
    let broken = lab.join("broken.toml");
    std::fs::write(
        &broken,
        std::fs::read_to_string(lab.join("lab.toml"))
            .unwrap()
            .replace(&probe_image, "lab-pack-test/nowhere:t"),
    )
    .unwrap();
    let out = run_lab(&lab, &[], &["--file", "broken.toml", "pack", "../nopack"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("lab-pack-test/nowhere:t"),
        "{}",
        text(&out.stderr)
    );
    assert!(!dir.path().join("nopack").exists());

    // What a stopped `lab pack` left beside the folder goes with the next one.
    let stale = dir.path().join(".usb.lab-pack-12345");
    std::fs::create_dir_all(&stale).unwrap();
    std::fs::write(stale.join("half.tar"), b"half").unwrap();
    let bin = lab_binary().display().to_string();
    let packed = succeeded(
        &run_lab(&lab, &[], &["pack", "../usb", "--bin", &bin]),
        &["pack"],
    );
    assert!(packed.contains("packed"), "{packed}");
    let usb = dir.path().join("usb");
    let beside: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.contains("lab-pack"))
        .collect();
    assert!(beside.is_empty(), "left beside the pack: {beside:?}");
    let machine_tar = format!("images/lab-pack-test_machine-{id}_t.tar");
    let probe_tar = format!("images/lab-pack-test_probe-{id}_t.tar");
    for file in [
        "lab.toml",
        "boxes/tiny.toml",
        "README.txt",
        "bin/lab",
        &machine_tar,
        &probe_tar,
    ] {
        assert!(usb.join(file).is_file(), "{file} is not in the pack");
    }
    let profile = std::fs::read_to_string(usb.join("boxes/tiny.toml")).unwrap();
    assert!(
        profile.contains(&format!("image_file = \"{machine_tar}\"")),
        "{profile}"
    );
    // The sums are the standard tool's.
    let check = Command::new("sha256sum")
        .args(["-c", "SHA256SUMS"])
        .current_dir(&usb)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}{}",
        text(&check.stdout),
        text(&check.stderr)
    );
    assert!(text(&check.stdout).contains(&format!("{probe_tar}: OK")));
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(usb.join("lab-pack.json")).unwrap()).unwrap();
    assert_eq!(manifest["schema"], "lab.pack/1");
    assert_eq!(manifest["images"][0]["image"], probe_image.as_str());
    // A second pack into the same folder is refused: it is not empty.
    let again = run_lab(&lab, &[], &["pack", "../usb", "--bin", &bin]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        text(&again.stderr).contains("is not empty"),
        "{}",
        text(&again.stderr)
    );

    // A flipped byte: `lab up` names the file and exits 9; nothing ran.
    let archive = usb.join(&probe_tar);
    let mut bytes = std::fs::read(&archive).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&archive, &bytes).unwrap();
    let refused = run_lab(&usb, &[], &["up"]);
    assert_eq!(refused.status.code(), Some(9), "{}", text(&refused.stderr));
    assert!(
        text(&refused.stderr).contains(&probe_tar),
        "{}",
        text(&refused.stderr)
    );
    assert!(text(&refused.stderr).contains("does not match its SHA-256"));
    assert!(!usb.join(".lab/Vagrantfile").exists(), "something ran");
    bytes[middle] ^= 0x01;
    std::fs::write(&archive, &bytes).unwrap();

    // The host lacks the probe image: the plan loads it from the pack
    // before the machines come up.
    probe.remove();
    let plan = succeeded(
        &run_lab(&usb, &[], &["up", "--dry-run"]),
        &["up", "--dry-run"],
    );
    let steps: Vec<&str> = plan
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect();
    let load = steps
        .iter()
        .position(|l| {
            l.contains("docker load -i")
                && l.contains(Path::new(&probe_tar).file_name().unwrap().to_str().unwrap())
        })
        .unwrap_or_else(|| panic!("no load of the probe image:\n{plan}"));
    let up = steps
        .iter()
        .position(|l| l.contains("vagrant up"))
        .unwrap_or_else(|| panic!("{plan}"));
    assert!(load < up, "{plan}");
}
