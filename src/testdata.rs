//! The real `vagrant` 2.3.4 and `docker-machine` 0.16.2 transcripts, copied
//! byte for byte from the shared contract into tests/fixtures.

use std::path::PathBuf;

use crate::model::Lab;
use crate::reconcile::observed::Observed;
use crate::tools::containers::ContainerState;
use crate::tools::docker_machine::DmMachine;
use crate::tools::vagrant::{SshConfig, VmStatus};

fn fixture(dir: &str, name: &str, stream: &str) -> String {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests",
        "fixtures",
        dir,
        &format!("{name}.{stream}"),
    ]
    .iter()
    .collect();
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

pub fn vagrant_stdout(name: &str) -> String {
    fixture("vagrant", name, "stdout")
}

/// Real output recorded here that the shared contract does not hold.
pub fn recorded(name: &str) -> String {
    fixture("recorded", name, "stdout")
}

pub fn vagrant_stderr(name: &str) -> String {
    fixture("vagrant", name, "stderr")
}

pub fn dm_stdout(name: &str) -> String {
    fixture("docker-machine", name, "stdout")
}

/// Everything up, registered, at these addresses, Consul running.
pub fn all_done(lab: &Lab) -> Observed {
    let mut seen = Observed {
        consul_container: ContainerState::Running,
        ..Observed::default()
    };
    for (i, m) in lab.machines.iter().enumerate() {
        let ip = format!("10.0.0.{}", i + 2);
        seen.vms.push(VmStatus {
            name: m.name.clone(),
            provider: "virtualbox".into(),
            state: crate::tools::vagrant::VmState::Running,
        });
        seen.ips.insert(m.name.clone(), ip.parse().unwrap());
        seen.ssh.insert(
            m.name.clone(),
            SshConfig {
                host: m.name.clone(),
                hostname: "127.0.0.1".into(),
                user: "vagrant".into(),
                port: 2222,
                identity_files: vec![format!("/k/{}", m.name).into()],
            },
        );
        seen.dm.insert(
            m.name.clone(),
            DmMachine {
                name: m.name.clone(),
                state: "Running".into(),
                url: format!("tcp://{ip}:2376"),
                docker: "v20.10.24".into(),
                ..DmMachine::default()
            },
        );
    }
    seen
}
