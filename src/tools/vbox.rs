//! VirtualBox's `VBoxManage`: the host-only networks it already has, so
//! that a new lab keeps clear of another tool's (minikube's, say).

use std::net::Ipv4Addr;

use crate::model::Subnet;
use crate::process::process_builder::Cmd;
use crate::process::tool::Tool;

/// `VBoxManage list hostonlyifs` (Linux, Windows, macOS before 7) and
/// `list hostonlynets` (VirtualBox 7 on macOS, which has no host-only
/// interfaces): asked both, a failure of either is no network.
pub fn list_hostonly() -> [Cmd; 2] {
    [
        Cmd::new(Tool::VBoxManage, ["list", "hostonlyifs"]).query(),
        Cmd::new(Tool::VBoxManage, ["list", "hostonlynets"]).query(),
    ]
}

/// `VBoxManage list vms`: every VM VirtualBox knows, `"NAME" {UUID}` a line.
pub fn list_vms() -> Cmd {
    Cmd::new(Tool::VBoxManage, ["list", "vms"]).query()
}

/// The VMs in `VBoxManage list vms`: name and UUID.
pub fn parse_vms(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim_end_matches('\r');
            let (name, rest) = line.strip_prefix('"')?.rsplit_once("\" {")?;
            Some((name.to_string(), rest.strip_suffix('}')?.to_string()))
        })
        .collect()
}

/// The networks in either listing: blocks of `Key: value` lines, one per
/// network, with `IPAddress` (an interface's) or `LowerIP` (a network's
/// first DHCP address) and `NetworkMask`.
pub fn parse_hostonly(text: &str) -> Vec<Subnet> {
    let mut found = Vec::new();
    for block in text.split("\n\n") {
        let value = |key: &str| {
            block.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                (k.trim() == key).then(|| v.trim().to_string())
            })
        };
        let address = value("IPAddress").or_else(|| value("LowerIP"));
        let (Some(address), Some(mask)) = (address, value("NetworkMask")) else {
            continue;
        };
        let (Ok(address), Ok(mask)) = (address.parse::<Ipv4Addr>(), mask.parse::<Ipv4Addr>())
        else {
            continue;
        };
        let prefix = u32::from(mask).leading_ones();
        let Ok(prefix) = u8::try_from(prefix) else {
            continue;
        };
        if prefix == 0 || u32::from(mask).count_ones() != u32::from(prefix) {
            continue;
        }
        found.push(Subnet {
            network: Ipv4Addr::from(u32::from(address) & u32::from(mask)),
            prefix,
        });
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    // The layout VirtualBox 7.0 prints; no transcript of it is in
    // ../shared/contract, so the shapes are typed in from its manual.
    const IFS: &str = "Name:            vboxnet0\nGUID:            786f6276-656e-4074-8000-0a0027000000\nDHCP:            Disabled\nIPAddress:       192.168.56.1\nNetworkMask:     255.255.255.0\nIPV6Address:     fe80::800:27ff:fe00:0\nIPV6NetworkMaskPrefixLength: 64\nHardwareAddress: 0a:00:27:00:00:00\nMediumType:      Ethernet\nWireless:        No\nStatus:          Up\nVBoxNetworkName: HostInterfaceNetworking-vboxnet0\n\nName:            vboxnet1\nGUID:            786f6276-656e-4174-8000-0a0027000001\nDHCP:            Disabled\nIPAddress:       192.168.59.1\nNetworkMask:     255.255.255.0\nStatus:          Up\n";
    const NETS: &str = "Name:            HostNetwork\nGUID:            7a8b1b1e-9a9a-4a4b-8c8c-1d1d1d1d1d1d\n\nState:           Enabled\nNetworkMask:     255.255.255.0\nLowerIP:         192.168.57.2\nUpperIP:         192.168.57.254\nVBoxNetworkName: hostonly-HostNetwork\n";

    #[test]
    fn vms_by_name_and_uuid() {
        let text = "\"lab-consul\" {0b5f4a3e-8c2d-4f1e-9a7b-1c2d3e4f5a6b}\n\"my \\\"odd\\\" vm\" {11111111-2222-3333-4444-555555555555}\n<inaccessible> {aaaa}\n";
        assert_eq!(
            parse_vms(text),
            [
                (
                    "lab-consul".to_string(),
                    "0b5f4a3e-8c2d-4f1e-9a7b-1c2d3e4f5a6b".to_string()
                ),
                (
                    "my \\\"odd\\\" vm".to_string(),
                    "11111111-2222-3333-4444-555555555555".to_string()
                ),
            ]
        );
    }

    #[test]
    fn host_only_networks_from_both_listings() {
        let ifs: Vec<String> = parse_hostonly(IFS)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(ifs, ["192.168.56.0/24", "192.168.59.0/24"]);
        let nets: Vec<String> = parse_hostonly(&NETS.replace("\n\nState", "\nState"))
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(nets, ["192.168.57.0/24"]);
        assert!(parse_hostonly("VBoxManage: error: Unknown command").is_empty());
    }
}
