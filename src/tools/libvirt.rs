//! What lab asks libvirt and qemu-img directly: a domain's disk and its
//! size, and a flat copy of it (a box is one qcow2 file without backing).
//! Everything else about libvirt machines goes through vagrant-libvirt.

use std::path::{Path, PathBuf};

use crate::process::process_builder::Cmd;

use crate::process::tool::Tool;

/// The connection vagrant-libvirt uses when a Vagrantfile names none.
pub const SYSTEM: &str = "qemu:///system";

/// The libvirt domain vagrant-libvirt makes for a machine of a lab: the
/// lab's `default_prefix` (its name and a dash), then the machine's name.
pub fn domain(lab: &str, machine: &str) -> String {
    format!("{lab}-{machine}")
}

/// `virsh domblklist --details`: the domain's block devices and their files.
pub fn disks(domain: &str) -> Cmd {
    Cmd::new(
        Tool::Virsh,
        ["-c", SYSTEM, "domblklist", "--details", domain],
    )
    .query()
}

/// The file of the domain's first disk, from `virsh domblklist --details`:
///
/// ```text
///  Type   Device   Target   Source
/// ------------------------------------------------------------
///  file   disk     vda      /var/lib/libvirt/images/x-bake.img
/// ```
pub fn first_disk(listing: &str) -> Option<PathBuf> {
    listing.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        let (_kind, device, _target) = (words.next()?, words.next()?, words.next()?);
        if device != "disk" {
            return None;
        }
        let rest: Vec<&str> = words.collect();
        let source = rest.join(" ");
        (!source.is_empty() && source != "-").then(|| PathBuf::from(source))
    })
}

/// `qemu-img info --output=json`: the disk's virtual size.
pub fn info(image: &Path) -> Cmd {
    Cmd::new(
        Tool::QemuImg,
        [
            "info".to_string(),
            "--output=json".into(),
            image.display().to_string(),
        ],
    )
    .query()
}

/// The virtual size in GiB, rounded up (a box's metadata.json holds GiB).
pub fn virtual_size_gib(info_json: &str) -> Option<u64> {
    let value: serde_json::Value = serde_json::from_str(info_json).ok()?;
    let bytes = value.get("virtual-size")?.as_u64()?;
    Some(bytes.div_ceil(1 << 30))
}

/// A compressed qcow2 copy of the disk with its backing chain folded in:
/// the domain's disk is an overlay on the box it was made from.
pub fn flatten(from: &Path, to: &Path) -> Cmd {
    Cmd::new(
        Tool::QemuImg,
        [
            "convert".to_string(),
            "-c".into(),
            "-O".into(),
            "qcow2".into(),
            from.display().to_string(),
            to.display().to_string(),
        ],
    )
}

/// `virsh list --uuid`: every domain's UUID, or the running ones'.
pub fn list_uuids(running_only: bool) -> Cmd {
    let filter = if running_only {
        "--state-running"
    } else {
        "--all"
    };
    Cmd::new(Tool::Virsh, ["-c", SYSTEM, "list", "--uuid", filter]).query()
}

pub fn parse_uuids(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// `virsh domstate`: a domain's state, as virsh words it.
pub fn domstate(uuid: &str) -> Cmd {
    Cmd::new(Tool::Virsh, ["-c", SYSTEM, "domstate", uuid]).query()
}

/// vagrant-libvirt's state id for virsh's word (fog's names, `-` as `_`).
pub fn state_id(domstate: &str) -> String {
    match domstate.trim() {
        "shut off" => "shutoff".into(),
        "in shutdown" => "shutting_down".into(),
        "idle" => "blocked".into(),
        "no state" => "nostate".into(),
        other => other.replace([' ', '-'], "_"),
    }
}

/// `virsh domifaddr --source lease`: the DHCP leases of the domain's
/// interfaces, from libvirt's own DHCP servers.
pub fn leases(uuid: &str) -> Cmd {
    Cmd::new(
        Tool::Virsh,
        ["-c", SYSTEM, "domifaddr", uuid, "--source", "lease"],
    )
    .query()
}

/// The IPv4 addresses of [`leases`]' table, in its order.
pub fn parse_leases(text: &str) -> Vec<std::net::Ipv4Addr> {
    text.lines()
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let at = words.iter().position(|w| *w == "ipv4")?;
            words.get(at + 1)?.split('/').next()?.parse().ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_disk_is_found_and_cdroms_are_not() {
        let listing = " Type   Device   Target   Source\n------------------------------------------------------------\n file   cdrom    sda      -\n file   disk     vda      /var/lib/libvirt/images/x-bake.img\n file   disk     vdb      /var/lib/libvirt/images/other.img\n";
        assert_eq!(
            first_disk(listing),
            Some(PathBuf::from("/var/lib/libvirt/images/x-bake.img"))
        );
        assert_eq!(first_disk(" Type Device Target Source\n"), None);
        assert_eq!(first_disk(""), None);
        assert_eq!(domain("class-bake", "bake"), "class-bake-bake");
    }

    #[test]
    fn states_and_leases_read_as_vagrant_libvirt_names_them() {
        assert_eq!(state_id("shut off\n\n"), "shutoff");
        assert_eq!(state_id("running\n"), "running");
        assert_eq!(state_id("in shutdown"), "shutting_down");
        assert_eq!(state_id("paused"), "paused");
        let table = " Name       MAC address          Protocol     Address\n-------------------------------------------------------------------------------\n vnet0      52:54:00:5a:3b:1c    ipv4         10.237.5.200/25\n -          -                    ipv4         10.237.5.201/25\n vnet1      52:54:00:aa:bb:cc    ipv4         10.237.5.45/25\n vnet2      52:54:00:aa:bb:cd    ipv6         fe80::1/64\n\n";
        let ips: Vec<String> = parse_leases(table).iter().map(|i| i.to_string()).collect();
        assert_eq!(ips, ["10.237.5.200", "10.237.5.201", "10.237.5.45"]);
        assert_eq!(
            parse_uuids("a-b\n\nc-d\n"),
            ["a-b".to_string(), "c-d".to_string()]
        );
    }

    #[test]
    fn the_virtual_size_is_whole_gib_rounded_up() {
        assert_eq!(
            virtual_size_gib(r#"{"virtual-size": 8589934592, "format": "qcow2"}"#),
            Some(8)
        );
        assert_eq!(virtual_size_gib(r#"{"virtual-size": 8589934593}"#), Some(9));
        assert_eq!(virtual_size_gib("not json"), None);
        assert_eq!(virtual_size_gib("{}"), None);
    }

    #[test]
    fn flatten_is_one_argv_with_compression() {
        let cmd = flatten(Path::new("/a b/x.img"), Path::new("/out/box.img"));
        assert_eq!(
            cmd.args,
            ["convert", "-c", "-O", "qcow2", "/a b/x.img", "/out/box.img"]
        );
    }
}
