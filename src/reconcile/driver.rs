//! The engine driver: how the machines' Docker engines are set up, reached
//! and shown. lab.toml names one (`engine = "docker-machine" | "native"`);
//! everything that differs between them is here, behind one trait, and the
//! rest of lab asks the driver instead of matching on which one it is (as
//! cross keeps docker and podman apart in `src/docker/engine.rs`). A new
//! driver is a new implementation, and a line in [`of`].

use crate::model::{EngineDriver, Lab};
use crate::process::tool::Tool;
use crate::reconcile::observed::Observed;
use crate::tools::docker_machine::DmMachine;
use crate::tools::engine::Engine;

pub trait Driver: Sync {
    /// In words, for reports.
    fn describe(&self) -> &'static str;

    /// How lab reaches an engine, for reports.
    fn reached(&self) -> &'static str;

    /// The program it drives, beside Vagrant, Docker and ssh.
    fn program(&self) -> Option<Tool>;

    /// The name of the hook (`reconcile/hooks/`) that sets up a machine's
    /// engine once the machine is up.
    fn hook(&self) -> &'static str;

    /// Whether it keeps entries of its own for the lab's machines
    /// (docker-machine's list): lab observes them, claims them as the
    /// lab's, and removes them with the lab.
    fn keeps_entries(&self) -> bool;

    /// How lab reaches `machine`'s engine at its private address `ip` (a
    /// placeholder while it is unknown).
    fn engine(&self, lab: &Lab, machine: &str, ip: &str) -> Engine;

    /// Whether lab can ask `name`'s engine, by what was seen before asking it.
    fn reachable(&self, seen: &Observed, name: &str) -> bool;

    /// Whether `name`'s engine takes commands, by what was seen.
    fn engine_ready(&self, seen: &Observed, name: &str) -> bool;

    /// Whether the lab's CA is on disk, for the engines' certificates.
    fn ca_ready(&self, lab: &Lab) -> bool;

    /// `lab status`'s engine columns for `name`: state, URL and problem.
    fn engine_row(&self, lab: &Lab, seen: &Observed, name: &str) -> EngineRow;

    /// Every program a command that builds or looks at the lab drives.
    fn tools(&self) -> Vec<Tool> {
        let mut tools = vec![Tool::Vagrant, Tool::Docker, Tool::Ssh];
        tools.extend(self.program());
        tools
    }
}

/// An engine as `lab status` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineRow {
    pub state: String,
    pub url: String,
    pub problem: Option<String>,
}

impl EngineRow {
    fn absent() -> EngineRow {
        EngineRow {
            state: "absent".to_string(),
            url: String::new(),
            problem: None,
        }
    }
}

/// The lab's driver.
pub fn of(lab: &Lab) -> &'static dyn Driver {
    match lab.engine {
        EngineDriver::DockerMachine => &DockerMachine,
        EngineDriver::Native => &Native,
    }
}

/// docker-machine's generic driver, as the seed used it: it registers each
/// machine, installs and configures its engine over SSH, and keeps the
/// certificates.
pub struct DockerMachine;

impl Driver for DockerMachine {
    fn describe(&self) -> &'static str {
        "docker-machine"
    }

    fn reached(&self) -> &'static str {
        "registered with docker-machine"
    }

    fn program(&self) -> Option<Tool> {
        Some(Tool::DockerMachine)
    }

    fn hook(&self) -> &'static str {
        "docker-machine"
    }

    fn keeps_entries(&self) -> bool {
        true
    }

    fn engine(&self, lab: &Lab, machine: &str, _ip: &str) -> Engine {
        Engine::DockerMachine {
            machine: lab.dm_name(machine),
        }
    }

    fn reachable(&self, seen: &Observed, name: &str) -> bool {
        seen.dm.get(name).is_some_and(DmMachine::is_healthy)
    }

    fn engine_ready(&self, seen: &Observed, name: &str) -> bool {
        self.reachable(seen, name)
    }

    fn ca_ready(&self, _lab: &Lab) -> bool {
        false
    }

    fn engine_row(&self, _lab: &Lab, seen: &Observed, name: &str) -> EngineRow {
        match seen.dm.get(name) {
            Some(e) => EngineRow {
                state: e.state.clone(),
                url: e.url.clone(),
                problem: (!e.is_healthy()).then(|| e.problem()),
            },
            None => EngineRow::absent(),
        }
    }
}

/// lab itself: its own CA, certificates copied over SSH, dockerd on TLS.
pub struct Native;

impl Driver for Native {
    fn describe(&self) -> &'static str {
        "native engines"
    }

    fn reached(&self) -> &'static str {
        "over TLS with the lab's certificates"
    }

    fn program(&self) -> Option<Tool> {
        None
    }

    fn hook(&self) -> &'static str {
        "native-engine"
    }

    fn keeps_entries(&self) -> bool {
        false
    }

    fn engine(&self, lab: &Lab, machine: &str, ip: &str) -> Engine {
        Engine::tls_at(lab, machine, format!("tcp://{ip}:{}", lab.docker_port))
    }

    fn reachable(&self, seen: &Observed, name: &str) -> bool {
        seen.ca_ready && seen.ips.contains_key(name)
    }

    fn engine_ready(&self, seen: &Observed, name: &str) -> bool {
        seen.swarm_info(name).is_some()
    }

    fn ca_ready(&self, lab: &Lab) -> bool {
        crate::host::tls::ca_ready(lab)
    }

    fn engine_row(&self, lab: &Lab, seen: &Observed, name: &str) -> EngineRow {
        let url = seen
            .ips
            .get(name)
            .map_or_else(String::new, |ip| format!("tcp://{ip}:{}", lab.docker_port));
        match seen.engines.get(name) {
            Some(Ok(_)) => EngineRow {
                state: "Running".to_string(),
                url,
                problem: None,
            },
            Some(Err(e)) => EngineRow {
                state: "Unreachable".to_string(),
                url,
                problem: Some(e.clone()),
            },
            None => EngineRow::absent(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab(engine: &str) -> Lab {
        let text = format!("box = \"x/y\"\nengine = \"{engine}\"\nmode = \"swarm\"\n");
        crate::model::parse(std::path::Path::new("lab.toml"), &text).unwrap()
    }

    #[test]
    fn each_driver_reaches_its_engines_its_own_way() {
        let dm = lab("docker-machine");
        assert_eq!(
            of(&dm).engine(&dm, "swarm-master", "10.0.0.2"),
            Engine::DockerMachine {
                machine: dm.dm_name("swarm-master")
            }
        );
        assert!(of(&dm).tools().contains(&Tool::DockerMachine));
        let native = lab("native");
        let Engine::Tls { host, .. } = of(&native).engine(&native, "swarm-master", "10.0.0.2")
        else {
            panic!("a native engine is reached over TLS");
        };
        assert_eq!(host, format!("tcp://10.0.0.2:{}", native.docker_port));
        assert!(!of(&native).tools().contains(&Tool::DockerMachine));
    }

    #[test]
    fn a_native_engine_is_asked_only_once_the_ca_and_its_address_are_there() {
        let native = lab("native");
        let mut seen = Observed::default();
        seen.ips
            .insert("swarm-master".into(), "10.0.0.2".parse().unwrap());
        assert!(!of(&native).reachable(&seen, "swarm-master"));
        seen.ca_ready = true;
        assert!(of(&native).reachable(&seen, "swarm-master"));
        assert!(!of(&native).reachable(&seen, "swarm-node01"));
        assert_eq!(
            of(&native).engine_row(&native, &seen, "swarm-node01"),
            EngineRow::absent()
        );
    }
}
