//! Networks this host already has, which a new lab's subnet keeps clear
//! of: its routes (Linux), the networks of its Docker engine, and
//! VirtualBox's host-only networks (minikube's, say). What cannot be asked
//! (no Docker, no VirtualBox) is no network.

use std::net::Ipv4Addr;

use crate::model::{Provider, Subnet};
use crate::process::process_builder::Cmd;
use crate::process::runner::Runner;
use crate::process::tool::{Tool, Tools};

/// Every network the host has that a lab without a subnet of its own must
/// not get.
pub async fn in_use(runner: &Runner, tools: &Tools, provider: Provider) -> Vec<Subnet> {
    let mut found = routes();
    if tools.has(Tool::Docker) {
        found.extend(docker_networks(runner).await);
    }
    if provider == Provider::Virtualbox && tools.has(Tool::VBoxManage) {
        for cmd in crate::tools::vbox::list_hostonly() {
            if let Ok(out) = runner.quiet(&cmd).await {
                found.extend(crate::tools::vbox::parse_hostonly(&out.stdout));
            }
        }
    }
    found
}

/// The kernel's routes (`/proc/net/route`), but the default one.
fn routes() -> Vec<Subnet> {
    std::fs::read_to_string("/proc/net/route")
        .map(|text| parse_routes(&text))
        .unwrap_or_default()
}

/// `/proc/net/route`: addresses and masks in hex, in the host's byte order
/// (little-endian on every machine lab runs on).
pub fn parse_routes(text: &str) -> Vec<Subnet> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let destination = u32::from_str_radix(cols.get(1)?, 16).ok()?;
            let mask = u32::from_str_radix(cols.get(7)?, 16).ok()?;
            // The kernel prints the address as it lies in memory.
            let ip = |v: u32| u32::from_be_bytes(v.to_le_bytes());
            let (destination, mask) = (ip(destination), ip(mask));
            let prefix = u8::try_from(mask.leading_ones()).ok()?;
            (prefix > 0 && mask.count_ones() == u32::from(prefix)).then(|| Subnet {
                network: Ipv4Addr::from(destination & mask),
                prefix,
            })
        })
        .collect()
}

/// The subnets of the host engine's networks (bridge, user-defined,
/// Vagrant's docker provider's, another tool's).
async fn docker_networks(runner: &Runner) -> Vec<Subnet> {
    let Ok(ids) = runner
        .query(&Cmd::new(Tool::Docker, ["network", "ls", "-q"]))
        .await
    else {
        return Vec::new();
    };
    let mut args = vec![
        "network".to_string(),
        "inspect".into(),
        "--format".into(),
        "{{range .IPAM.Config}}{{.Subnet}} {{end}}".into(),
    ];
    args.extend(ids.stdout.split_whitespace().map(String::from));
    if args.len() == 4 {
        return Vec::new();
    }
    runner
        .query(&Cmd::new(Tool::Docker, args))
        .await
        .map(|out| parse_docker_subnets(&out.stdout))
        .unwrap_or_default()
}

/// The IPv4 subnets in `docker network inspect --format '{{range
/// .IPAM.Config}}{{.Subnet}} {{end}}'`, one network a line.
pub fn parse_docker_subnets(text: &str) -> Vec<Subnet> {
    text.split_whitespace()
        .filter_map(crate::model::network_of)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_but_the_default_one() {
        let table =
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
            eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
            docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n\
            br-1\t003DA8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";
        let found: Vec<String> = parse_routes(table)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(found, ["172.17.0.0/16", "192.168.61.0/24"]);
    }

    #[test]
    fn docker_networks_ipv4_only() {
        let text = "172.17.0.0/16 \n192.168.61.0/24 fd00::/64 \n\n10.231.200.0/24 \n";
        let found: Vec<String> = parse_docker_subnets(text)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            found,
            ["172.17.0.0/16", "192.168.61.0/24", "10.231.200.0/24"]
        );
    }
}
