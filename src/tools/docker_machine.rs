//! docker-machine 0.16.2: the commands lab sends and parsers for its answers.

use std::net::Ipv4Addr;
use std::path::Path;

use serde::Serialize;

use crate::process::process_builder::Cmd;

use crate::process::tool::Tool;

/// One row of `docker-machine ls`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct DmMachine {
    pub name: String,
    pub active: String,
    pub driver: String,
    /// `Running`, `Stopped`, `Timeout`, `Error`, ...
    pub state: String,
    pub url: String,
    pub swarm: String,
    /// `v20.10.24+dfsg1`, or `Unknown` when the engine did not answer.
    pub docker: String,
    pub error: String,
}

impl DmMachine {
    /// Stored, reachable and its engine answers: a create that finished.
    pub fn is_healthy(&self) -> bool {
        self.state == "Running"
            && self.error.is_empty()
            && self.docker != "Unknown"
            && !self.docker.is_empty()
    }

    /// The engine's address from the URL column (`tcp://IP:2376`).
    pub fn ip(&self) -> Option<Ipv4Addr> {
        let rest = self.url.strip_prefix("tcp://")?;
        rest.split(':').next()?.parse().ok()
    }

    /// Why this entry cannot be used as it is, for the plan's reason column.
    pub fn problem(&self) -> String {
        if !self.error.is_empty() {
            self.error.clone()
        } else if self.state != "Running" {
            format!("docker-machine reports it {}", self.state)
        } else {
            "its engine did not answer".to_string()
        }
    }
}

/// Parses the default `docker-machine ls` table. Columns are located by
/// the header's words, since tabwriter pads with spaces and leaves cells empty.
pub fn parse_ls(text: &str) -> Vec<DmMachine> {
    let mut lines = text.lines();
    let Some(header) = lines.next() else {
        return Vec::new();
    };
    let starts: Vec<(usize, &str)> = header
        .char_indices()
        .filter(|&(i, c)| c != ' ' && (i == 0 || header.as_bytes()[i - 1] == b' '))
        .map(|(i, _)| (i, header[i..].split(' ').next().unwrap_or("")))
        .collect();
    let mut machines = Vec::new();
    for row in lines.filter(|l| !l.trim().is_empty()) {
        let mut m = DmMachine::default();
        for (k, &(start, column)) in starts.iter().enumerate() {
            let end = starts
                .get(k + 1)
                .map_or(row.len(), |&(next, _)| next.min(row.len()));
            let cell = row
                .get(start.min(row.len())..end)
                .unwrap_or("")
                .trim()
                .to_string();
            match column {
                "NAME" => m.name = cell,
                "ACTIVE" => m.active = cell,
                "DRIVER" => m.driver = cell,
                "STATE" => m.state = cell,
                "URL" => m.url = cell,
                "SWARM" => m.swarm = cell,
                "DOCKER" => m.docker = cell,
                "ERRORS" => m.error = cell,
                _ => {}
            }
        }
        machines.push(m);
    }
    machines
}

/// Undoes Go's `%q` quoting, which docker-machine uses for paths and values.
fn go_unquote(text: &str) -> String {
    let inner = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// Parses `docker-machine env --shell bash` into (name, value) pairs.
pub fn parse_env(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| line.strip_prefix("export "))
        .filter_map(|assignment| assignment.split_once('='))
        .map(|(k, v)| (k.to_string(), go_unquote(v)))
        .collect()
}

/// Parses `docker-machine config` into arguments for the docker client.
/// The seed's `docker $(docker-machine config NAME)` relied on word
/// splitting; here each line is one argument with its quotes removed.
pub fn parse_config(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| match line.split_once('=') {
            Some((flag, value)) if value.starts_with('"') => {
                format!("{flag}={}", go_unquote(value))
            }
            _ => line.to_string(),
        })
        .collect()
}

/// Parses `docker-machine status NAME`: `Running`, `Stopped`, ...
pub fn parse_status(text: &str) -> String {
    text.trim().to_string()
}

/// What `docker-machine create -d generic` is told about one machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateSpec {
    pub name: String,
    pub ip: String,
    pub ssh_key: String,
    pub ssh_port: u16,
    pub ssh_user: String,
    pub swarm: Option<SwarmFlags>,
    pub engine_opts: Vec<String>,
    /// `--engine-install-url`: where docker-machine gets Docker from when
    /// the machine has none (its own default: get.docker.com); `""` never
    /// installs. `None` leaves docker-machine's default.
    pub install_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwarmFlags {
    pub master: bool,
    pub discovery: String,
}

pub fn create(spec: &CreateSpec) -> Cmd {
    let mut args: Vec<String> = vec!["create".into(), "-d".into(), "generic".into()];
    if let Some(url) = &spec.install_url {
        args.push("--engine-install-url".into());
        args.push(url.clone());
    }
    let port = spec.ssh_port.to_string();
    for (flag, value) in [
        ("--generic-ip-address", spec.ip.as_str()),
        ("--generic-ssh-key", spec.ssh_key.as_str()),
        ("--generic-ssh-port", port.as_str()),
        ("--generic-ssh-user", spec.ssh_user.as_str()),
    ] {
        args.push(flag.into());
        args.push(value.into());
    }
    if let Some(swarm) = &spec.swarm {
        args.push("--swarm".into());
        if swarm.master {
            args.push("--swarm-master".into());
        }
        args.push("--swarm-discovery".into());
        args.push(swarm.discovery.clone());
    }
    for opt in &spec.engine_opts {
        args.push("--engine-opt".into());
        args.push(opt.clone());
    }
    args.push(spec.name.clone());
    Cmd::new(Tool::DockerMachine, args)
}

pub fn rm(name: &str) -> Cmd {
    Cmd::new(Tool::DockerMachine, ["rm", "-y", name])
}

/// `docker-machine ip NAME`: the address the entry was created for, read
/// from its configuration (it answers for a machine that is down).
pub fn ip(name: &str) -> Cmd {
    Cmd::new(Tool::DockerMachine, ["ip", name])
}

pub fn ls() -> Cmd {
    Cmd::new(Tool::DockerMachine, ["ls"])
}

pub fn env(name: &str, swarm: bool) -> Cmd {
    let mut args = vec!["env", "--shell", "bash"];
    if swarm {
        args.push("--swarm");
    }
    args.push(name);
    Cmd::new(Tool::DockerMachine, args)
}

pub fn config(name: &str) -> Cmd {
    Cmd::new(Tool::DockerMachine, ["config", name])
}

/// docker-machine keeps its own copy of the key, so the path only has to
/// exist when create runs; an absolute path keeps it valid from any cwd.
/// `docker-machine config --swarm NAME`: the classic Swarm manager's API.
pub fn config_swarm(name: &str) -> Cmd {
    Cmd::new(Tool::DockerMachine, ["config", "--swarm", name])
}

pub fn absolute_key(key: &Path) -> String {
    std::path::absolute(key)
        .unwrap_or_else(|_| key.to_path_buf())
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::dm_stdout;

    #[test]
    fn ls_of_one_healthy_machine() {
        let machines = parse_ls(&dm_stdout("ls"));
        assert_eq!(
            machines,
            [DmMachine {
                name: "node1".into(),
                active: "-".into(),
                driver: "generic".into(),
                state: "Running".into(),
                url: "tcp://172.28.128.11:2376".into(),
                swarm: String::new(),
                docker: "v20.10.24+dfsg1".into(),
                error: String::new(),
            }]
        );
        assert!(machines[0].is_healthy());
        assert_eq!(machines[0].ip(), Some(Ipv4Addr::new(172, 28, 128, 11)));
    }

    #[test]
    fn ls_tells_failed_creates_from_good_ones() {
        let machines = parse_ls(&dm_stdout("ls-mixed"));
        assert_eq!(machines.len(), 9);
        let by_name = |n: &str| machines.iter().find(|m| m.name == n).unwrap().clone();
        assert!(by_name("node2").is_healthy());
        let swarm1 = by_name("swarm1");
        assert_eq!(swarm1.swarm, "swarm1 (master)");
        assert_eq!(
            swarm1.error,
            "Unable to query docker version: Cannot connect to the docker engine endpoint"
        );
        assert!(!swarm1.is_healthy());
        let unreach = by_name("unreach1");
        assert_eq!(
            (
                unreach.state.as_str(),
                unreach.url.as_str(),
                unreach.docker.as_str()
            ),
            ("Stopped", "", "Unknown")
        );
        assert!(!unreach.is_healthy());
        assert_eq!(unreach.problem(), "docker-machine reports it Stopped");
    }

    #[test]
    fn ls_of_an_empty_store() {
        assert!(parse_ls(&dm_stdout("ls-empty")).is_empty());
        assert!(parse_ls(&dm_stdout("ls-after-rm")).is_empty());
        assert_eq!(parse_ls(&dm_stdout("ls-two-machines")).len(), 2);
    }

    #[test]
    fn env_is_parsed_into_variables() {
        let vars = parse_env(&dm_stdout("env"));
        assert_eq!(
            vars,
            [
                ("DOCKER_TLS_VERIFY".to_string(), "1".to_string()),
                ("DOCKER_HOST".into(), "tcp://172.28.128.11:2376".into()),
                (
                    "DOCKER_CERT_PATH".into(),
                    "/tmp/dm-store/machines/node1".into()
                ),
                ("DOCKER_MACHINE_NAME".into(), "node1".into()),
            ]
        );
        assert_eq!(go_unquote(r#""a \"b\" \\c""#), r#"a "b" \c"#);
    }

    #[test]
    fn config_becomes_docker_arguments_without_quotes() {
        assert_eq!(
            parse_config(&dm_stdout("config")),
            [
                "--tlsverify",
                "--tlscacert=/tmp/dm-store/machines/node1/ca.pem",
                "--tlscert=/tmp/dm-store/machines/node1/cert.pem",
                "--tlskey=/tmp/dm-store/machines/node1/key.pem",
                "-H=tcp://172.28.128.11:2376",
            ]
        );
    }

    #[test]
    fn status_words() {
        assert_eq!(parse_status(&dm_stdout("status")), "Running");
        assert_eq!(parse_status(&dm_stdout("status-stopped")), "Stopped");
    }

    #[test]
    fn create_argv_matches_the_recorded_swarm_master() {
        let spec = CreateSpec {
            name: "swarm1".into(),
            ip: "172.28.128.12".into(),
            ssh_key: "/tmp/dm-keys/id_rsa".into(),
            ssh_port: 22,
            ssh_user: "vagrant".into(),
            swarm: Some(SwarmFlags {
                master: true,
                discovery: "consul://172.28.128.12:8500".into(),
            }),
            engine_opts: vec![
                "cluster-store=consul://172.28.128.12:8500".into(),
                "cluster-advertise=eth1:2376".into(),
            ],
            install_url: None,
        };
        let recorded = "docker-machine create -d generic --generic-ip-address 172.28.128.12 --generic-ssh-key /tmp/dm-keys/id_rsa --generic-ssh-port 22 --generic-ssh-user vagrant --swarm --swarm-master --swarm-discovery consul://172.28.128.12:8500 --engine-opt cluster-store=consul://172.28.128.12:8500 --engine-opt cluster-advertise=eth1:2376 swarm1";
        assert_eq!(create(&spec).to_string(), recorded);
    }

    #[test]
    fn an_install_url_goes_where_the_recorded_create_has_it() {
        let spec = CreateSpec {
            name: "nodocker2".into(),
            ip: "172.28.128.16".into(),
            ssh_key: "/tmp/dm-keys/id_rsa".into(),
            ssh_port: 22,
            ssh_user: "vagrant".into(),
            swarm: None,
            engine_opts: Vec::new(),
            install_url: Some(String::new()),
        };
        // create-no-docker-empty-install-url.txt: `--engine-install-url ""`.
        let recorded = [
            "create",
            "-d",
            "generic",
            "--engine-install-url",
            "",
            "--generic-ip-address",
            "172.28.128.16",
            "--generic-ssh-key",
            "/tmp/dm-keys/id_rsa",
            "--generic-ssh-port",
            "22",
            "--generic-ssh-user",
            "vagrant",
            "nodocker2",
        ];
        assert_eq!(create(&spec).args, recorded);
    }
}
