//! How lab reaches one machine's Docker engine: through docker-machine, as
//! the seed did (`docker $(docker-machine config NAME) ...`), or with lab's
//! own TLS certificates (`engine = "native"`). Everything that talks to an
//! engine goes through here, so the two differ in this file only.

use std::fmt;
use std::path::PathBuf;

use anyhow::Context as _;
use serde::Serialize;

use crate::model::Lab;
use crate::process::process_builder::{quote, Cmd};
use crate::process::runner::Runner;
use crate::process::tool::Tool;
use crate::tools::docker_machine;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "via", rename_all = "kebab-case")]
pub enum Engine {
    DockerMachine {
        machine: String,
    },
    /// Classic Swarm's manager API on the master (port 3376), through
    /// `docker-machine config --swarm`.
    ClassicSwarm {
        machine: String,
    },
    Tls {
        machine: String,
        /// `tcp://IP:PORT`
        host: String,
        /// Holds ca.pem, cert.pem and key.pem, as `DOCKER_CERT_PATH` expects.
        certs: PathBuf,
    },
}

impl Engine {
    /// A native engine at `host` (`tcp://IP:PORT`), reached with the lab's
    /// certificates.
    pub fn tls_at(lab: &Lab, machine: &str, host: String) -> Engine {
        let certs = lab.certs_dir();
        Engine::Tls {
            machine: machine.to_string(),
            host,
            certs: std::path::absolute(&certs).unwrap_or(certs),
        }
    }

    /// The classic Swarm's API, on the lab's master.
    pub fn classic_swarm(lab: &Lab) -> Engine {
        Engine::ClassicSwarm {
            machine: lab.dm_name(&lab.master().name),
        }
    }

    pub fn machine(&self) -> &str {
        match self {
            Engine::DockerMachine { machine }
            | Engine::ClassicSwarm { machine }
            | Engine::Tls { machine, .. } => machine,
        }
    }

    /// `docker ARGS` aimed at this engine. docker-machine's flags are read
    /// when the command is made, as the seed's `$(...)` did.
    pub async fn docker(&self, runner: &Runner, args: &[String]) -> anyhow::Result<Cmd> {
        match self {
            Engine::DockerMachine { machine } | Engine::ClassicSwarm { machine } => {
                let config = match self {
                    Engine::ClassicSwarm { .. } => docker_machine::config_swarm(machine),
                    _ => docker_machine::config(machine),
                };
                let out = runner
                    .query(&config)
                    .await
                    .with_context(|| format!("reading how to reach {machine}'s Docker engine"))?;
                let mut full = docker_machine::parse_config(&out.stdout);
                full.extend(args.iter().cloned());
                Ok(Cmd::new(Tool::Docker, full))
            }
            Engine::Tls { .. } => Ok(self.tls_docker(args)),
        }
    }

    fn tls_docker(&self, args: &[String]) -> Cmd {
        let mut full = Vec::new();
        if let Engine::Tls { host, .. } = self {
            full.extend(["--tlsverify".to_string(), "-H".to_string(), host.clone()]);
        }
        full.extend(args.iter().cloned());
        let mut cmd = Cmd::new(Tool::Docker, full);
        for (k, v) in self.tls_env() {
            cmd = cmd.env(k, v);
        }
        cmd
    }

    /// The variables a `docker` client needs for this engine (native only;
    /// docker-machine prints its own).
    pub fn env(&self) -> Vec<(String, String)> {
        match self {
            Engine::DockerMachine { .. } | Engine::ClassicSwarm { .. } => Vec::new(),
            Engine::Tls { host, .. } => {
                let mut vars = vec![
                    ("DOCKER_TLS_VERIFY".to_string(), "1".to_string()),
                    ("DOCKER_HOST".to_string(), host.clone()),
                ];
                vars.extend(self.tls_env().into_iter().map(|(k, v)| (k.to_string(), v)));
                vars
            }
        }
    }

    fn tls_env(&self) -> Vec<(&'static str, String)> {
        match self {
            Engine::DockerMachine { .. } | Engine::ClassicSwarm { .. } => Vec::new(),
            Engine::Tls { certs, .. } => vec![("DOCKER_CERT_PATH", certs.display().to_string())],
        }
    }
}

impl Engine {
    /// Waits until the engine answers. A restarted engine takes a few
    /// seconds; a TLS handshake with the lab's certificates is the proof
    /// that it is ready.
    pub async fn wait(
        &self,
        runner: &Runner,
        on_line: &(dyn Fn(&str) + Sync),
    ) -> anyhow::Result<()> {
        const TRIES: u32 = 60;
        let args: Vec<String> = ["version", "--format", "{{.Server.Version}}"]
            .map(String::from)
            .to_vec();
        let cmd = self.docker(runner, &args).await?;
        let mut last = None;
        for attempt in 1..=TRIES {
            match runner.query(&cmd).await {
                Ok(out) => {
                    on_line(&format!("Docker {} answers over TLS", out.stdout.trim()));
                    return Ok(());
                }
                Err(e) => last = Some(e),
            }
            if attempt < TRIES {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        }
        Err(anyhow::anyhow!(
            "{}'s engine did not answer over TLS within {TRIES}s: {}\nhint: look at its log with `vagrant ssh {} -c 'sudo journalctl -u docker -n 30'` in .lab/",
            self.machine(),
            last.map(|e| e.to_string()).unwrap_or_default(),
            self.machine()
        ))
    }
}

/// Shown the way a person would type it.
impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Engine::DockerMachine { machine } => {
                write!(f, "docker $(docker-machine config {})", quote(machine))
            }
            Engine::ClassicSwarm { machine } => {
                write!(
                    f,
                    "docker $(docker-machine config --swarm {})",
                    quote(machine)
                )
            }
            Engine::Tls { .. } => write!(f, "{}", self.tls_docker(&[])),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    // The expected lines hold Unix paths.
    #[cfg(unix)]
    #[test]
    fn native_engines_are_reached_with_labs_certificates() {
        let lab = crate::model::parse(
            Path::new("/srv/class/lab.toml"),
            "box = \"x/y\"\nengine = \"native\"\nmode = \"swarm\"\n[docker]\nport = 2400\n",
        )
        .unwrap();
        let engine = Engine::tls_at(&lab, "swarm-master", "tcp://10.0.0.3:2400".into());
        let cmd = engine.tls_docker(&["node".into(), "ls".into()]);
        assert_eq!(
            cmd.to_string(),
            "DOCKER_CERT_PATH=/srv/class/.lab/certs docker --tlsverify -H tcp://10.0.0.3:2400 node ls"
        );
        let env = engine.env();
        assert!(env.contains(&("DOCKER_HOST".into(), "tcp://10.0.0.3:2400".into())));
        assert!(env.contains(&("DOCKER_TLS_VERIFY".into(), "1".into())));
    }

    #[test]
    fn docker_machine_engines_read_their_flags_when_run() {
        let lab = crate::model::parse(Path::new("lab.toml"), "box = \"x/y\"\n").unwrap();
        let engine = Engine::DockerMachine {
            machine: lab.dm_name("consul"),
        };
        assert_eq!(engine.to_string(), "docker $(docker-machine config consul)");
        assert!(engine.env().is_empty());
    }
}
