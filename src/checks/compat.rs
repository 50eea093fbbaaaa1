//! Versions that break labs, as data: which Vagrant drives which VirtualBox,
//! which architectures a host and a box have, which docker-machine builds
//! lab knows. Pure functions of version strings; `checks/host.rs` asks the
//! programs and reports.

use crate::model::version::Version;

/// Each VirtualBox release line and the first Vagrant release that drives
/// it, from Vagrant's CHANGELOG (hashicorp/vagrant): 6.0 in 2.2.1, 6.1 in
/// 2.2.7 (GH-11250), 7.0 in 2.3.2 (GH-12947), 7.1 in 2.4.2 (GH-13513,
/// issue GH-13501), 7.2 in 2.4.9 (GH-13709). A Vagrant refuses any
/// VirtualBox line newer than the ones it lists.
pub const VAGRANT_FOR_VIRTUALBOX: &[((u32, u32), Version)] = &[
    ((6, 0), (2, 2, 1)),
    ((6, 1), (2, 2, 7)),
    ((7, 0), (2, 3, 2)),
    ((7, 1), (2, 4, 2)),
    ((7, 2), (2, 4, 9)),
];

/// VirtualBox runs arm64 guests on Apple Silicon from 7.1 on; bento's
/// arm64 boxes ask for 7.1.6 (chef/bento README).
pub const VIRTUALBOX_FOR_ARM64: Version = (7, 1, 6);

/// What a Vagrant and a VirtualBox make together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pairing {
    Works,
    /// This VirtualBox needs at least this Vagrant.
    VagrantTooOld {
        needs: Version,
    },
    /// A VirtualBox newer than any line lab knows: whether Vagrant drives
    /// it is for Vagrant's release notes to say.
    Unknown,
}

pub fn pairing(vagrant: Version, virtualbox: Version) -> Pairing {
    let line = (virtualbox.0, virtualbox.1);
    match VAGRANT_FOR_VIRTUALBOX.iter().find(|(l, _)| *l == line) {
        Some((_, needs)) if vagrant >= *needs => Pairing::Works,
        Some((_, needs)) => Pairing::VagrantTooOld { needs: *needs },
        None if line < VAGRANT_FOR_VIRTUALBOX[0].0 => Pairing::Works,
        None => Pairing::Unknown,
    }
}

pub fn show(v: Version) -> String {
    format!("{}.{}.{}", v.0, v.1, v.2)
}

/// docker-machine's own version line: the last Docker release (0.16.2), or
/// GitLab's maintained fork (`0.16.2-gitlab.NN`). `None` when it is neither.
pub fn docker_machine_build(text: &str) -> Option<(Version, bool)> {
    static BUILD: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"docker-machine(?:\.exe)? version (\d+)\.(\d+)\.(\d+)(-gitlab\.\d+)?")
            .expect("valid regex")
    });
    let caps = BUILD.captures(text)?;
    let version = (
        caps[1].parse().ok()?,
        caps[2].parse().ok()?,
        caps[3].parse().ok()?,
    );
    Some((version, caps.get(4).is_some()))
}

/// GitLab's docker-machine fork, the last one maintained, is deprecated
/// with its end of life on 2027-05-20 (gitlab-org/gitlab #498268), as
/// days since 1970-01-01.
pub const DOCKER_MACHINE_FORK_EOL: (&str, u64) = ("2027-05-20", 20_958);

/// Days since 1970-01-01, UTC, today.
pub fn today() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::version::{arch_name, host_arch, parse_version};

    #[test]
    fn debians_vagrant_refuses_virtualbox_7_1_and_7_2() {
        let debian = parse_version("Vagrant 2.3.4").unwrap();
        assert_eq!(
            pairing(debian, parse_version("7.0.14r161095").unwrap()),
            Pairing::Works
        );
        assert_eq!(
            pairing(debian, parse_version("7.1.4r165100").unwrap()),
            Pairing::VagrantTooOld { needs: (2, 4, 2) }
        );
        assert_eq!(
            pairing((2, 4, 2), parse_version("7.1.4r165100").unwrap()),
            Pairing::Works
        );
        assert_eq!(
            pairing((2, 4, 8), parse_version("7.2.0r170228").unwrap()),
            Pairing::VagrantTooOld { needs: (2, 4, 9) }
        );
        assert_eq!(pairing((2, 4, 9), (7, 2, 4)), Pairing::Works);
        assert_eq!(pairing((2, 4, 9), (7, 3, 0)), Pairing::Unknown);
        assert_eq!(pairing((2, 2, 0), (5, 2, 44)), Pairing::Works);
    }

    #[test]
    fn docker_machine_and_gitlabs_fork_are_both_known() {
        // ../shared/contract/docker-machine/version.txt
        assert_eq!(
            docker_machine_build("docker-machine version 0.16.2, build bd45ab13\n"),
            Some(((0, 16, 2), false))
        );
        assert_eq!(
            docker_machine_build("docker-machine version 0.16.2-gitlab.19, build 2e1a3a1d\n"),
            Some(((0, 16, 2), true))
        );
        assert_eq!(
            docker_machine_build("docker-machine.exe version 0.16.2-gitlab.31, build abc"),
            Some(((0, 16, 2), true))
        );
        assert_eq!(docker_machine_build("minikube version: v1.36.0"), None);
    }

    #[test]
    fn the_forks_end_of_life_is_the_day_gitlab_names() {
        // 2027-05-20 is 57 years, 14 of them leap years, and 139 days after 1970-01-01.
        assert_eq!(DOCKER_MACHINE_FORK_EOL.1, 57 * 365 + 14 + 139);
        assert!(today() > 20_000, "the clock reads a day in 2024 or later");
    }

    #[test]
    fn architectures_are_named_as_boxes_name_them() {
        assert_eq!(arch_name("x86_64"), "amd64");
        assert_eq!(arch_name("aarch64"), "arm64");
        assert!(["amd64", "arm64", "386", "arm", "other"].contains(&host_arch()));
    }
}
