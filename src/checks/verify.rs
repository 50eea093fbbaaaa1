//! `lab verify`: the checks the seed made by hand, as data. Every check is a
//! line a person reads and a record a script parses; probes lab starts are
//! removed afterwards, also when a check fails.

use crate::checks::report::Check;
use crate::model::{Lab, Mode, Role};
use crate::process::runner::Runner;
use crate::reconcile::observed::Observed;
use crate::tools::engine::Engine;

/// Checks that need only what was observed: machines, engines, swarm
/// members, the overlay network.
pub fn static_checks(lab: &Lab, seen: &Observed) -> Vec<Check> {
    let mut checks = Vec::new();
    let down: Vec<String> = lab
        .machines
        .iter()
        .filter(|m| !seen.is_running(&m.name))
        .map(|m| m.name.clone())
        .collect();
    checks.push(if down.is_empty() {
        Check::pass(
            "machines running",
            format!("{} of {}", lab.machines.len(), lab.machines.len()),
        )
    } else {
        Check::fail(
            "machines running",
            format!("not running: {}", down.join(", ")),
        )
    });

    let unusable: Vec<String> = lab
        .machines
        .iter()
        .filter(|m| !crate::reconcile::driver::of(lab).engine_ready(seen, &m.name))
        .map(|m| match seen.engines.get(&m.name) {
            Some(Err(e)) => format!("{}: {}", m.name, e.lines().next().unwrap_or_default()),
            _ => m.name.clone(),
        })
        .collect();
    checks.push(if unusable.is_empty() {
        let how = crate::reconcile::driver::of(lab).reached();
        Check::pass(
            "engines answer",
            format!("{} of {}, {how}", lab.machines.len(), lab.machines.len()),
        )
    } else {
        Check::fail("engines answer", unusable.join("\n"))
    });

    if lab.mode == Mode::Swarm {
        checks.push(node_check(lab, seen));
        checks.push(match seen.network.as_deref() {
            Some("overlay") => Check::pass(
                "overlay network",
                format!("{} on {}", lab.network, lab.master().name),
            ),
            Some(other) => Check::fail(
                "overlay network",
                format!("{} exists but its driver is {other}", lab.network),
            ),
            None => Check::fail(
                "overlay network",
                format!("{} is not on {}", lab.network, lab.master().name),
            ),
        });
    }
    checks
}

/// Every swarm machine is a Ready member, and nothing else is.
fn node_check(lab: &Lab, seen: &Observed) -> Check {
    let Some(nodes) = &seen.nodes else {
        return Check::fail(
            "swarm nodes",
            format!("{} manages no swarm", lab.master().name),
        );
    };
    let expected: Vec<&str> = lab
        .machines
        .iter()
        .filter(|m| m.role != Role::Consul)
        .map(|m| m.name.as_str())
        .collect();
    let mut problems = Vec::new();
    for name in &expected {
        match nodes.iter().find(|n| n.hostname == *name) {
            Some(n) if n.is_ready() => {}
            Some(n) => problems.push(format!("{name} is {}", n.status)),
            None => problems.push(format!("{name} is not a member")),
        }
    }
    let ready = nodes.iter().filter(|n| n.is_ready()).count();
    if nodes.len() != expected.len() {
        problems.push(format!(
            "{} entries for {} machines",
            nodes.len(),
            expected.len()
        ));
    }
    if problems.is_empty() {
        Check::pass(
            "swarm nodes",
            format!(
                "{ready} of {} Ready: {}",
                expected.len(),
                expected.join(", ")
            ),
        )
    } else {
        Check::fail("swarm nodes", problems.join("; "))
    }
}

/// Two different machines for the probes: two nodes when there are two,
/// else the master and the node.
pub fn probe_machines(lab: &Lab) -> (String, String) {
    let nodes: Vec<&str> = lab.nodes().map(|m| m.name.as_str()).collect();
    match nodes.as_slice() {
        [a, b, ..] => (a.to_string(), b.to_string()),
        [a] => (lab.master().name.clone(), a.to_string()),
        [] => unreachable!("a lab has at least one node"),
    }
}

pub fn probe_name(lab: &Lab, machine: &str) -> String {
    format!("{}-probe-{machine}", lab.name)
}

pub fn probe_run_args(lab: &Lab, machine: &str) -> Vec<String> {
    let name = probe_name(lab, machine);
    // Never a pull: an image the engine lacks is loaded from this host
    // and the run tried again; a registry may not be there at all.
    vec![
        "run".into(),
        "-d".into(),
        "--pull=never".into(),
        "--name".into(),
        name.clone(),
        "--hostname".into(),
        name,
        "--network".into(),
        lab.network.clone(),
        "--label".into(),
        format!("lab={}", lab.name),
        lab.probe_image.clone(),
        "sleep".into(),
        "3600".into(),
    ]
}

/// The probe's address on `network`, from `docker inspect --format '{{json .NetworkSettings.Networks}}'`.
pub fn parse_probe_ip(json: &str, network: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(json.trim()).ok()?;
    let ip = value.get(network)?.get("IPAddress")?.as_str()?;
    (!ip.is_empty()).then(|| ip.to_string())
}

/// The interface that holds `ip`, from `ip -o addr show` (busybox or iproute2).
pub fn interface_of(ip_addr: &str, ip: &str) -> Option<String> {
    ip_addr.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        let _index = words.next()?;
        let iface = words.next()?.trim_end_matches(':');
        let rest: Vec<&str> = words.collect();
        let holds = rest
            .windows(2)
            .any(|w| w[0] == "inet" && w[1].split('/').next() == Some(ip));
        holds.then(|| iface.split('@').next().unwrap_or(iface).to_string())
    })
}

/// Runs `docker ARGS` on an engine; the output, or the error with its stderr.
pub async fn on(runner: &Runner, engine: &Engine, args: &[String]) -> anyhow::Result<String> {
    let cmd = engine.docker(runner, args).await?;
    Ok(runner.quiet(&cmd).await?.stdout)
}

/// `on` for a command the swarm's manager must answer: tried again, with
/// the runner's backoff, while the swarm's answer is a passing one (see
/// [`crate::tools::swarm::transient`]); the output says how often.
pub async fn on_swarm(
    runner: &Runner,
    engine: &Engine,
    args: &[String],
) -> anyhow::Result<crate::process::runner::Output> {
    let cmd = engine
        .docker(runner, args)
        .await?
        .retry_on(crate::tools::swarm::transient);
    Ok(runner.quiet(&cmd).await?)
}

pub fn words(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::swarm::{SwarmInfo, SwarmNode};
    use crate::tools::vagrant::VmStatus;
    use std::path::Path;

    fn lab(nodes: u32) -> Lab {
        crate::model::parse(
            Path::new("lab.toml"),
            &format!("box = \"x/y\"\nengine = \"native\"\nmode = \"swarm\"\n[consul]\nenabled = false\n[swarm]\nnodes = {nodes}\n"),
        )
        .unwrap()
    }

    fn healthy(lab: &Lab) -> Observed {
        let mut seen = Observed::default();
        let mut nodes = Vec::new();
        for (i, m) in lab.machines.iter().enumerate() {
            seen.vms.push(VmStatus {
                name: m.name.clone(),
                provider: "docker".into(),
                state: crate::tools::vagrant::VmState::Running,
            });
            seen.engines.insert(
                m.name.clone(),
                Ok(SwarmInfo {
                    node_id: format!("n{i}"),
                    state: "active".into(),
                    ..SwarmInfo::default()
                }),
            );
            nodes.push(SwarmNode {
                id: format!("n{i}"),
                hostname: m.name.clone(),
                status: "Ready".into(),
                ..SwarmNode::default()
            });
        }
        seen.nodes = Some(nodes);
        seen.network = Some("overlay".into());
        seen
    }

    #[test]
    fn a_healthy_swarm_passes_every_static_check() {
        let lab = lab(2);
        let checks = static_checks(&lab, &healthy(&lab));
        assert!(checks.iter().all(|c| c.passed), "{checks:#?}");
        assert_eq!(checks.len(), 4);
        assert!(
            checks[2].detail.starts_with("3 of 3 Ready"),
            "{}",
            checks[2].detail
        );
    }

    #[test]
    fn a_down_node_a_stale_entry_and_a_missing_network_fail() {
        let lab = lab(2);
        let mut seen = healthy(&lab);
        seen.nodes.as_mut().unwrap()[2].status = "Down".into();
        seen.nodes.as_mut().unwrap().push(SwarmNode {
            id: "old".into(),
            hostname: "swarm-node02".into(),
            status: "Down".into(),
            ..SwarmNode::default()
        });
        seen.network = None;
        let checks = static_checks(&lab, &seen);
        let failed: Vec<&str> = checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(failed, ["swarm nodes", "overlay network"]);
        assert!(
            checks[2].detail.contains("swarm-node02 is Down")
                && checks[2].detail.contains("4 entries for 3 machines"),
            "{}",
            checks[2].detail
        );
        assert!(checks[2].line().starts_with("FAIL  swarm nodes"));
    }

    #[test]
    fn probes_go_to_two_different_machines() {
        assert_eq!(
            probe_machines(&lab(2)),
            ("swarm-node01".into(), "swarm-node02".into())
        );
        assert_eq!(
            probe_machines(&lab(1)),
            ("swarm-master".into(), "swarm-node01".into())
        );
    }

    #[test]
    fn probe_address_and_interface() {
        let json = r#"{"lab-overlay":{"IPAMConfig":null,"IPAddress":"10.0.1.4","NetworkID":"x"}}"#;
        assert_eq!(
            parse_probe_ip(json, "lab-overlay").as_deref(),
            Some("10.0.1.4")
        );
        assert_eq!(parse_probe_ip(json, "other"), None);
        let busybox = "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever\n58: eth0    inet 10.0.1.4/24 brd 10.0.1.255 scope global eth0\\       valid_lft forever preferred_lft forever\n60: eth1    inet 172.18.0.3/16 brd 172.18.255.255 scope global eth1\\       valid_lft forever preferred_lft forever\n";
        assert_eq!(interface_of(busybox, "10.0.1.4").as_deref(), Some("eth0"));
        assert_eq!(interface_of(busybox, "10.0.1.40"), None);
    }
}
