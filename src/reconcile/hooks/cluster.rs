//! `mode = "swarm"`: the master inits a swarm, the nodes join it as workers,
//! and the lab gets an attachable overlay network, the modern form of the
//! seed's Consul-backed cluster.

use crate::model::{Lab, Machine, Mode, Role};
use crate::reconcile::observed::Observed;
use crate::reconcile::plan::{Action, Stage, Step};
use crate::tools::swarm;

use crate::reconcile::observe::ip_of;

use super::Hook;

pub struct Cluster;

impl Cluster {
    fn docker(&self, lab: &Lab, seen: &Observed, machine: &str, args: Vec<String>) -> Action {
        Action::Docker {
            engine: crate::reconcile::observe::engine_of(lab, seen, machine),
            args,
        }
    }

    fn master(&self, lab: &Lab, m: &Machine, seen: &Observed) -> Vec<Step> {
        let mut steps = Vec::new();
        let info = seen.swarm_info(&m.name);
        let moved = self.moved_manager(seen, m);
        let leads = info.is_some_and(|i| i.is_active() && i.manager) && moved.is_none();
        if !leads {
            let reason = match (&moved, info) {
                (Some(why), _) => why.clone(),
                (None, Some(i)) if i.is_active() => {
                    "it is a worker of another swarm: it leaves it first".to_string()
                }
                _ => "no swarm yet".to_string(),
            };
            steps.push(self.step(
                Stage::Swarm,
                Some(&m.name),
                reason,
                Action::SwarmInit {
                    engine: crate::reconcile::observe::engine_of(lab, seen, &m.name),
                    advertise: ip_of(lab, seen, &m.name),
                    reform: moved.is_some(),
                },
            ));
        }
        if !leads || seen.network.is_none() {
            steps.push(self.step(
                Stage::Join,
                Some(&m.name),
                format!("no overlay network `{}` yet", lab.network),
                Action::SwarmNetwork {
                    engine: crate::reconcile::observe::engine_of(lab, seen, &m.name),
                    name: lab.network.clone(),
                },
            ));
        }
        steps.extend(self.stale_entries(lab, m, seen));
        steps
    }

    /// After a halt and a resume the master may come back at another
    /// address: its one-manager swarm still advertises the old one, and
    /// nodes cannot reach it there. Why it must be formed again, if so.
    fn moved_manager(&self, seen: &Observed, master: &Machine) -> Option<String> {
        let info = seen.swarm_info(&master.name)?;
        let ip = seen.ips.get(&master.name)?.to_string();
        let was_manager = (info.is_active() && info.manager)
            || (!info.node_id.is_empty() && matches!(info.state.as_str(), "pending" | "error"));
        if !was_manager || (info.is_active() && info.advertises(&ip)) {
            return None;
        }
        Some(format!(
            "its swarm advertises {} but the machine is now at {ip}: formed again there, services and networks kept",
            if info.node_addr.is_empty() { "an old address" } else { info.node_addr.as_str() }
        ))
    }

    /// A node that left and joined again is a new node; its old entry
    /// stays in `docker node ls` (Ready for a while, then Down) until the
    /// manager removes it. An entry is stale when its machine's engine
    /// answers with another node ID, or with none.
    fn stale_entries(&self, lab: &Lab, master: &Machine, seen: &Observed) -> Vec<Step> {
        let mut steps = Vec::new();
        for entry in seen.nodes.iter().flatten() {
            let why = match lab.machine(&entry.hostname) {
                None if is_lab_node_name(lab, &entry.hostname) => {
                    "is a node lab.toml no longer lists"
                }
                None => continue,
                Some(m) => match seen.swarm_info(&m.name) {
                    Some(now) if now.node_id != entry.id => "left the swarm",
                    _ => continue,
                },
            };
            let rm = ["node", "rm", "--force", &entry.id]
                .map(String::from)
                .to_vec();
            steps.push(self.step(
                Stage::Cleanup,
                Some(&master.name),
                format!(
                    "{} {why}; its old entry {} ({}) goes",
                    entry.hostname, entry.id, entry.status
                ),
                self.docker(lab, seen, &master.name, rm),
            ));
        }
        steps
    }

    fn node(&self, lab: &Lab, m: &Machine, seen: &Observed) -> Vec<Step> {
        let master = lab.master();
        let master_leads = seen
            .swarm_info(&master.name)
            .is_some_and(|i| i.is_active() && i.manager);
        let info = seen.swarm_info(&m.name);
        let known_to_master = info.is_some_and(|i| {
            i.is_active() && seen.nodes.iter().flatten().any(|n| n.id == i.node_id)
        });
        // After a resume the node may be at a new address: it must
        // advertise its own. (Where it finds the manager says nothing: a
        // swarm formed again keeps its first raft address in `RemoteManagers`.)
        let manager_addr = format!("{}:{}", ip_of(lab, seen, &master.name), swarm::MANAGER_PORT);
        let addresses_hold = info.is_some_and(|i| i.advertises(&ip_of(lab, seen, &m.name)));
        if master_leads
            && known_to_master
            && addresses_hold
            && self.moved_manager(seen, master).is_none()
        {
            return Vec::new();
        }
        let mut steps = Vec::new();
        if info.is_some_and(|i| i.is_active()) {
            let why = if known_to_master {
                format!("it joined {} at addresses that changed since", master.name)
            } else {
                format!("it is in a swarm that {} does not lead", master.name)
            };
            steps.push(self.step(
                Stage::Join,
                Some(&m.name),
                why,
                self.docker(lab, seen, &m.name, swarm::leave_args()),
            ));
        }
        let reason =
            if info.is_some_and(|i| i.node_id.is_empty() && !i.is_active()) || info.is_none() {
                "not in the swarm".to_string()
            } else if known_to_master {
                format!(
                    "its own address or {}'s changed since it joined",
                    master.name
                )
            } else {
                "not in the master's swarm".to_string()
            };
        steps.push(self.step(
            Stage::Join,
            Some(&m.name),
            reason,
            Action::SwarmJoin {
                node: crate::reconcile::observe::engine_of(lab, seen, &m.name),
                node_ssh: crate::reconcile::observe::ssh_of(lab, seen, &m.name),
                master: master.name.clone(),
                manager: crate::reconcile::observe::engine_of(lab, seen, &master.name),
                advertise: ip_of(lab, seen, &m.name),
                manager_addr,
            },
        ));
        steps
    }
}

/// Whether `hostname` is named as the lab names its nodes (its nodes'
/// prefix and two digits): a node of the lab's that lab.toml no longer
/// lists, not a machine someone else joined to the swarm.
fn is_lab_node_name(lab: &Lab, hostname: &str) -> bool {
    lab.nodes().any(|n| {
        let prefix = &n.name[..n.name.len().saturating_sub(2)];
        hostname
            .strip_prefix(prefix)
            .is_some_and(|digits| digits.len() == 2 && digits.chars().all(|c| c.is_ascii_digit()))
    })
}

impl Hook for Cluster {
    fn name(&self) -> &'static str {
        "swarm"
    }

    fn applies(&self, lab: &Lab) -> bool {
        lab.mode == Mode::Swarm
    }

    fn on_create(&self, lab: &Lab, machine: &Machine, seen: &Observed) -> Vec<Step> {
        match machine.role {
            Role::Consul => Vec::new(),
            Role::Master => self.master(lab, machine, seen),
            Role::Node => self.node(lab, machine, seen),
        }
    }

    // The swarm goes with its machines: nothing to undo.
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::swarm::{SwarmInfo, SwarmNode};
    use std::path::Path;

    fn lab() -> Lab {
        crate::model::parse(
            Path::new("lab.toml"),
            "box = \"x/y\"\nengine = \"native\"\nmode = \"swarm\"\n[consul]\nenabled = false\n[swarm]\nnodes = 2\n",
        )
        .unwrap()
    }

    fn info(id: &str, manager: bool) -> SwarmInfo {
        SwarmInfo {
            node_id: id.into(),
            state: "active".into(),
            manager,
            ..SwarmInfo::default()
        }
    }

    fn node(id: &str, host: &str, status: &str) -> SwarmNode {
        SwarmNode {
            id: id.into(),
            hostname: host.into(),
            status: status.into(),
            ..SwarmNode::default()
        }
    }

    /// A formed swarm: master leads, both nodes joined, network there.
    fn formed(lab: &Lab) -> Observed {
        let mut seen = Observed::default();
        for (i, m) in lab.machines.iter().enumerate() {
            seen.ips
                .insert(m.name.clone(), format!("10.0.0.{}", i + 2).parse().unwrap());
            let id = format!("id{i}");
            seen.engines
                .insert(m.name.clone(), Ok(info(&id, m.role == Role::Master)));
            seen.nodes
                .get_or_insert_with(Vec::new)
                .push(node(&id, &m.name, "Ready"));
        }
        seen.network = Some("overlay".into());
        seen
    }

    fn plan(lab: &Lab, seen: &Observed) -> Vec<Step> {
        lab.machines
            .iter()
            .flat_map(|m| Cluster.on_create(lab, m, seen))
            .collect()
    }

    #[test]
    fn machines_without_swarm_get_init_join_and_network() {
        let lab = lab();
        let mut seen = Observed::default();
        for m in &lab.machines {
            seen.engines.insert(
                m.name.clone(),
                Ok(SwarmInfo {
                    state: "inactive".into(),
                    ..SwarmInfo::default()
                }),
            );
        }
        seen.ips
            .insert("swarm-master".into(), "10.0.0.2".parse().unwrap());
        seen.ips
            .insert("swarm-node01".into(), "10.0.0.3".parse().unwrap());
        let steps = plan(&lab, &seen);
        let shown: Vec<String> = steps
            .iter()
            .map(|s| format!("{} {}", s.stage, s.action))
            .collect();
        assert_eq!(steps.len(), 4, "{shown:#?}");
        assert!(
            shown[0].starts_with("swarm ")
                && shown[0].ends_with("swarm init --advertise-addr 10.0.0.2"),
            "{}",
            shown[0]
        );
        assert!(
            shown[1].ends_with("network create --driver overlay --attachable lab-overlay"),
            "{}",
            shown[1]
        );
        assert!(
            shown[2].contains("swarm join-token -q worker | ssh ")
                && shown[2].contains("read -r token && exec docker swarm join --token \"$token\"")
                && shown[2].ends_with(" sh 10.0.0.3 10.0.0.2:2377'"),
            "{}",
            shown[2]
        );
        assert!(steps[2..].iter().all(|s| s.stage == Stage::Join));
    }

    #[test]
    fn a_formed_swarm_needs_nothing() {
        let lab = lab();
        assert_eq!(plan(&lab, &formed(&lab)), Vec::new());
    }

    /// Issue 20: `nodes` lowered 3 → 2: the retired node's entry goes;
    /// a machine someone else joined to the swarm stays.
    #[test]
    fn a_retired_nodes_entry_goes_and_a_strangers_stays() {
        let lab = lab();
        let mut seen = formed(&lab);
        seen.nodes.as_mut().unwrap().extend([
            node("id9", "swarm-node03", "Down"),
            node("idx", "my-laptop", "Ready"),
        ]);
        let steps = plan(&lab, &seen);
        assert_eq!(steps.len(), 1, "{steps:#?}");
        assert_eq!(steps[0].stage, Stage::Cleanup);
        assert!(steps[0].action.to_string().ends_with("node rm --force id9"));
        assert!(steps[0].reason.contains("no longer lists"));
    }

    #[test]
    fn a_node_that_left_rejoins_and_its_old_entry_goes() {
        let lab = lab();
        let mut seen = formed(&lab);
        seen.engines.insert(
            "swarm-node02".into(),
            Ok(SwarmInfo {
                state: "inactive".into(),
                ..SwarmInfo::default()
            }),
        );
        seen.nodes.as_mut().unwrap()[2].status = "Down".into();
        let steps = plan(&lab, &seen);
        let what: Vec<(Stage, &str)> = steps
            .iter()
            .map(|s| (s.stage, s.machine.as_deref().unwrap()))
            .collect();
        assert_eq!(
            what,
            [
                (Stage::Cleanup, "swarm-master"),
                (Stage::Join, "swarm-node02")
            ]
        );
        assert!(steps[0].action.to_string().ends_with("node rm --force id2"));
        assert!(matches!(steps[1].action, Action::SwarmJoin { .. }));
    }

    #[test]
    fn a_node_in_a_foreign_swarm_leaves_first() {
        let lab = lab();
        let mut seen = formed(&lab);
        seen.engines
            .insert("swarm-node01".into(), Ok(info("stranger", false)));
        let steps = plan(&lab, &seen);
        assert_eq!(steps.len(), 3, "{steps:#?}");
        assert!(steps[0].action.to_string().ends_with("node rm --force id1"));
        assert!(steps[1].action.to_string().ends_with("swarm leave --force"));
        assert!(matches!(steps[2].action, Action::SwarmJoin { .. }));
    }

    #[test]
    fn a_lost_network_is_made_again() {
        let lab = lab();
        let mut seen = formed(&lab);
        seen.network = None;
        let steps = plan(&lab, &seen);
        assert_eq!(steps.len(), 1);
        assert!(steps[0].action.to_string().contains("network create"));
    }

    #[test]
    fn a_master_back_at_a_new_address_forms_its_swarm_again_and_the_nodes_rejoin() {
        let lab = lab();
        let mut seen = Observed::default();
        seen.ips
            .insert("swarm-master".into(), "10.0.0.9".parse().unwrap());
        seen.ips
            .insert("swarm-node01".into(), "10.0.0.3".parse().unwrap());
        let mut master = info("m", true);
        master.node_addr = "10.0.0.2".into();
        let mut worker = info("w", false);
        worker.node_addr = "10.0.0.3".into();
        worker.remote_managers = vec![crate::tools::swarm::RemoteManager {
            node_id: "m".into(),
            addr: "10.0.0.2:2377".into(),
        }];
        seen.engines.insert("swarm-master".into(), Ok(master));
        seen.engines
            .insert("swarm-node01".into(), Ok(worker.clone()));
        seen.nodes = Some(vec![
            node("m", "swarm-master", "Ready"),
            node("w", "swarm-node01", "Ready"),
        ]);
        seen.network = Some("overlay".into());
        let shown: Vec<String> = plan(&lab, &seen)
            .iter()
            .map(|s| format!("{} {}", s.stage, s.action))
            .collect();
        assert!(
            shown[0].starts_with("swarm ")
                && shown[0].ends_with("swarm init --force-new-cluster --advertise-addr 10.0.0.9"),
            "{shown:#?}"
        );
        assert!(
            shown.iter().any(|s| s.ends_with("swarm leave --force")),
            "{shown:#?}"
        );
        assert!(
            shown
                .iter()
                .any(|s| s.contains("read -r token") && s.ends_with(" sh 10.0.0.3 10.0.0.9:2377'")),
            "{shown:#?}"
        );
        // Where the addresses hold, nothing is planned.
        let mut settled = seen.clone();
        let mut master = info("m", true);
        master.node_addr = "10.0.0.9".into();
        worker.remote_managers[0].addr = "10.0.0.9:2377".into();
        settled.engines.insert("swarm-master".into(), Ok(master));
        settled.engines.insert("swarm-node01".into(), Ok(worker));
        let left = plan(&lab, &settled);
        assert!(
            left.iter()
                .all(|s| s.machine.as_deref() == Some("swarm-node02")),
            "{left:#?}"
        );
    }

    #[test]
    fn swarm_info_with_addresses_parses() {
        let text = r#"{"NodeID":"x1","NodeAddr":"10.0.0.3","LocalNodeState":"active","ControlAvailable":false,"Error":"","RemoteManagers":[{"NodeID":"m1","Addr":"10.0.0.2:2377"}]}"#;
        let info = crate::tools::swarm::parse_info(text).unwrap();
        assert!(info.advertises("10.0.0.3") && !info.advertises("10.0.0.4"));
        assert_eq!(info.remote_managers[0].addr, "10.0.0.2:2377");
        let inactive = crate::tools::swarm::parse_info(
            r#"{"NodeID":"","NodeAddr":"","LocalNodeState":"inactive","RemoteManagers":null}"#,
        )
        .unwrap();
        assert!(inactive.remote_managers.is_empty());
    }
}
