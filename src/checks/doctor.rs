//! Pure pieces of `lab doctor`: reading versions, VirtualBox's host-only
//! network rules and the host's memory.

use crate::model::overlaps;
use crate::model::{parse_subnet, Subnet};

/// VirtualBox 6.1.28 and later allow host-only networks only in the ranges
/// of /etc/vbox/networks.conf (192.168.56.0/21 when there is none).
pub fn vbox_restricts_networks(version: (u32, u32, u32)) -> bool {
    version >= (6, 1, 28)
}

/// The IPv4 ranges a networks.conf allows: lines `* RANGE [RANGE...]`.
pub fn allowed_ranges(networks_conf: Option<&str>) -> Vec<Subnet> {
    let Some(text) = networks_conf else {
        return vec![parse_subnet("192.168.56.0/21").expect("default range parses")];
    };
    text.lines()
        .filter_map(|l| l.trim().strip_prefix('*'))
        .flat_map(|rest| rest.split_whitespace())
        .filter_map(crate::model::network_of)
        .collect()
}

/// Whether `subnet` lies inside one of `allowed`.
pub fn subnet_allowed(subnet: &Subnet, allowed: &[Subnet]) -> bool {
    allowed
        .iter()
        .any(|a| a.prefix <= subnet.prefix && overlaps(a, subnet))
}

/// What this host's KVM can do for vagrant-libvirt: usable only with
/// `/dev/kvm` open to lab's user and a CPU that shows hardware
/// virtualisation (`vmx` or `svm` in /proc/cpuinfo). A nested,
/// paravirtual KVM (`kvm_pvm`) has `/dev/kvm` but not the flags, and
/// stock guest kernels do not boot under it.
pub fn kvm_usable(dev_kvm_opens: bool, cpuinfo: &str) -> bool {
    dev_kvm_opens
        && cpuinfo
            .lines()
            .filter(|l| l.starts_with("flags"))
            .any(|l| l.split_whitespace().any(|f| f == "vmx" || f == "svm"))
}

/// `vagrant plugin list`: the vagrant-libvirt line, `vagrant-libvirt (0.11.2, system)`.
pub fn libvirt_plugin(plugin_list: &str) -> Option<String> {
    plugin_list
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("vagrant-libvirt "))
        .map(String::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::version::parse_version;

    #[test]
    fn virtualbox_versions_and_their_network_rule() {
        assert_eq!(parse_version("6.1.38r153438\n"), Some((6, 1, 38)));
        assert!(vbox_restricts_networks((6, 1, 28)));
        assert!(vbox_restricts_networks((7, 0, 0)));
        assert!(!vbox_restricts_networks((6, 1, 26)));
        assert_eq!(parse_version("Vagrant 2.3.4"), Some((2, 3, 4)));
    }

    #[test]
    fn kvm_needs_the_device_and_the_cpus_virtualisation() {
        let vmx = "processor\t: 0\nflags\t\t: fpu vme vmx sse2\n";
        let nested_pvm = "processor\t: 0\nflags\t\t: fpu vme sse2 hypervisor\n";
        assert!(kvm_usable(true, vmx));
        assert!(
            !kvm_usable(false, vmx),
            "the device is not open to this user"
        );
        assert!(
            !kvm_usable(true, nested_pvm),
            "a paravirtual KVM without VMX"
        );
    }

    #[test]
    fn the_libvirt_plugin_is_found_in_vagrants_list() {
        let list = "vagrant-libvirt (0.11.2, system)\n  - Version Constraint: > 0\n";
        assert_eq!(
            libvirt_plugin(list).as_deref(),
            Some("vagrant-libvirt (0.11.2, system)")
        );
        assert_eq!(libvirt_plugin("No plugins installed.\n"), None);
    }

    #[test]
    fn networks_conf_decides_which_subnets_virtualbox_takes() {
        let subnet = |s: &str| parse_subnet(s).unwrap();
        let default = allowed_ranges(None);
        assert!(subnet_allowed(&subnet("192.168.59.0/24"), &default));
        assert!(!subnet_allowed(&subnet("172.28.128.0/24"), &default));
        assert!(
            !subnet_allowed(&subnet("192.168.0.0/16"), &default),
            "wider than allowed"
        );
        let conf = "# comment\n* 10.0.0.0/8 192.168.0.0/16\n* 2001::/64\n";
        let ranges = allowed_ranges(Some(conf));
        assert_eq!(ranges.len(), 2);
        assert!(subnet_allowed(&subnet("10.231.5.0/24"), &ranges));
        assert!(!subnet_allowed(&subnet("172.28.128.0/24"), &ranges));
        assert!(!subnet_allowed(
            &subnet("192.168.59.0/24"),
            &allowed_ranges(Some(""))
        ));
    }
}
