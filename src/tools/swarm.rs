//! Docker's swarm mode as lab sees it: the docker commands it runs and pure
//! parsers of what they print.

use serde::{Deserialize, Serialize};

/// `docker info --format '{{json .Swarm}}'`, the parts lab needs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwarmInfo {
    #[serde(rename = "NodeID", default)]
    pub node_id: String,
    /// "inactive", "pending", "active", "error" or "locked".
    #[serde(rename = "LocalNodeState", default)]
    pub state: String,
    #[serde(rename = "ControlAvailable", default)]
    pub manager: bool,
    #[serde(rename = "Error", default)]
    pub error: String,
    /// The address the node advertises to the swarm.
    #[serde(rename = "NodeAddr", default)]
    pub node_addr: String,
    /// Where the node finds its managers (`IP:2377`).
    #[serde(rename = "RemoteManagers", default, deserialize_with = "null_is_empty")]
    pub remote_managers: Vec<RemoteManager>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteManager {
    #[serde(rename = "NodeID", default)]
    pub node_id: String,
    #[serde(rename = "Addr", default)]
    pub addr: String,
}

fn null_is_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<RemoteManager>, D::Error> {
    Ok(Option::<Vec<RemoteManager>>::deserialize(d)?.unwrap_or_default())
}

impl SwarmInfo {
    pub fn is_active(&self) -> bool {
        self.state == "active"
    }

    /// Whether the node advertises `ip` (or says nothing of its address).
    pub fn advertises(&self, ip: &str) -> bool {
        self.node_addr.is_empty() || self.node_addr == ip
    }
}

pub fn info_args() -> Vec<String> {
    ["info", "--format", "{{json .Swarm}}"]
        .map(String::from)
        .to_vec()
}

/// What an engine says of its swarm now.
pub async fn info(
    runner: &crate::process::runner::Runner,
    engine: &crate::tools::engine::Engine,
) -> anyhow::Result<SwarmInfo> {
    let cmd = engine.docker(runner, &info_args()).await?;
    parse_info(&runner.query(&cmd).await?.stdout).map_err(anyhow::Error::msg)
}

pub fn parse_info(text: &str) -> Result<SwarmInfo, String> {
    serde_json::from_str(text.trim())
        .map_err(|e| format!("unexpected `docker info` output ({e}): {}", text.trim()))
}

/// One line of `docker node ls --format '{{json .}}'`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwarmNode {
    #[serde(rename = "ID", default)]
    pub id: String,
    #[serde(rename = "Hostname", default)]
    pub hostname: String,
    /// "Ready", "Down", "Unknown", "Disconnected".
    #[serde(rename = "Status", default)]
    pub status: String,
    #[serde(rename = "Availability", default)]
    pub availability: String,
    /// "Leader", "Reachable", "Unreachable" or empty for workers.
    #[serde(rename = "ManagerStatus", default)]
    pub manager_status: String,
}

impl SwarmNode {
    pub fn is_ready(&self) -> bool {
        self.status == "Ready"
    }
}

pub fn node_ls_args() -> Vec<String> {
    ["node", "ls", "--format", "{{json .}}"]
        .map(String::from)
        .to_vec()
}

pub fn parse_node_ls(text: &str) -> Result<Vec<SwarmNode>, String> {
    json_lines(text, "docker node ls")
}

/// One JSON value per non-empty line, as `--format '{{json .}}'` prints.
fn json_lines<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<Vec<T>, String> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l).map_err(|e| format!("unexpected `{what}` line ({e}): {l}"))
        })
        .collect()
}

pub fn network_ls_args() -> Vec<String> {
    [
        "network",
        "ls",
        "--format",
        "{{.Name}}\t{{.Driver}}\t{{.Scope}}",
    ]
    .map(String::from)
    .to_vec()
}

/// The driver of network `name` in `docker network ls` output, if it is there.
pub fn network_driver(text: &str, name: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let mut cols = l.split('\t');
        (cols.next() == Some(name)).then(|| cols.next().unwrap_or_default().to_string())
    })
}

/// The swarm's manager port: `swarm join` goes to MASTER_IP:2377.
pub const MANAGER_PORT: u16 = 2377;

pub fn init_args(advertise: &str) -> Vec<String> {
    vec![
        "swarm".into(),
        "init".into(),
        "--advertise-addr".into(),
        advertise.into(),
    ]
}

/// A one-manager swarm whose manager moved to `advertise`: formed again
/// from the manager's own state (services, networks, nodes' entries stay).
pub fn reform_args(advertise: &str) -> Vec<String> {
    let mut args = init_args(advertise);
    args.insert(2, "--force-new-cluster".into());
    args
}

pub fn join_token_args() -> Vec<String> {
    ["swarm", "join-token", "-q", "worker"]
        .map(String::from)
        .to_vec()
}

/// `swarm init` on the master as it is now: nothing where it leads at
/// `advertise` already; formed again there where it led at another address
/// (or its swarm broke when the address went); after leaving, where it is
/// a worker of another swarm.
pub async fn init(
    runner: &crate::process::runner::Runner,
    engine: &crate::tools::engine::Engine,
    advertise: &str,
    on_line: &(dyn Fn(&str) + Sync),
) -> anyhow::Result<()> {
    let info = info(runner, engine).await?;
    let args = if info.is_active() && info.manager {
        if info.advertises(advertise) {
            return Ok(());
        }
        on_line(&format!(
            "the swarm advertises {}: formed again at {advertise}",
            info.node_addr
        ));
        reform_args(advertise)
    } else if info.is_active() {
        let leave = engine.docker(runner, &leave_args()).await?;
        runner.run(&leave, on_line).await?;
        init_args(advertise)
    } else if !info.node_id.is_empty() && matches!(info.state.as_str(), "pending" | "error") {
        reform_args(advertise)
    } else {
        init_args(advertise)
    };
    let cmd = engine.docker(runner, &args).await?;
    runner.run(&cmd, on_line).await?;
    Ok(())
}

/// The lab's overlay network on the manager, unless it is there (a swarm
/// formed again keeps its networks).
pub async fn ensure_network(
    runner: &crate::process::runner::Runner,
    engine: &crate::tools::engine::Engine,
    name: &str,
    on_line: &(dyn Fn(&str) + Sync),
) -> anyhow::Result<()> {
    let ls = engine.docker(runner, &network_ls_args()).await?;
    if network_driver(&runner.query(&ls).await?.stdout, name).is_some() {
        return Ok(());
    }
    let create = engine.docker(runner, &network_create_args(name)).await?;
    runner.run(&create, on_line).await?;
    Ok(())
}

/// A node joining the manager's swarm as a worker.
pub struct Join<'a> {
    pub node: &'a crate::tools::engine::Engine,
    pub node_ssh: &'a crate::tools::vagrant::SshConfig,
    pub manager: &'a crate::tools::engine::Engine,
    pub advertise: &'a str,
    pub manager_addr: &'a str,
}

/// Joins the node to the manager's swarm. The plan was made before the
/// node's engine was set up, so what the node says now decides: already a
/// Ready member, nothing to do; in some other swarm (or a stale one), it
/// leaves first. The worker token goes over ssh on stdin (see [`JOIN`]).
pub async fn join(
    runner: &crate::process::runner::Runner,
    join: &Join<'_>,
    on_line: &(dyn Fn(&str) + Sync),
) -> anyhow::Result<()> {
    let info = info(runner, join.node).await?;
    if info.is_active() {
        let ls = join.manager.docker(runner, &node_ls_args()).await?;
        let members =
            parse_node_ls(&runner.query(&ls).await?.stdout).map_err(anyhow::Error::msg)?;
        // Where a worker finds its manager is not asked: a swarm formed
        // again keeps the manager's first raft address in every node's
        // `RemoteManagers`; the manager's own list decides.
        let holds = info.advertises(join.advertise);
        if holds && members.iter().any(|n| n.id == info.node_id && n.is_ready()) {
            return Ok(());
        }
    }
    // In a swarm it cannot reach (`pending`: its manager moved) or broke
    // in (`error`) as much as in the wrong one: it leaves first.
    if !matches!(info.state.as_str(), "inactive" | "") {
        let leave = join.node.docker(runner, &leave_args()).await?;
        runner.run(&leave, on_line).await?;
    }
    let token_cmd = join
        .manager
        .docker(runner, &join_token_args())
        .await?
        .secret_output()
        .retry_on(transient);
    let token = runner.query(&token_cmd).await?.stdout.trim().to_string();
    let cmd = join_over_ssh(join.node_ssh, join.advertise, join.manager_addr)
        .secret(&token)
        .retry_on(join_transient);
    let joined = runner
        .run_with_input(&cmd, format!("{token}\n").as_bytes(), on_line)
        .await?;
    if let Some(note) = tries_note(&joined.retried) {
        on_line(&format!("joined {note}"));
    }
    settle(runner, join).await
}

/// How long a node that has joined gets to be a Ready member in its
/// manager's list. A VM under software emulation was seen taking over
/// half a minute for its first heartbeat.
const SETTLE: std::time::Duration = std::time::Duration::from_secs(120);

/// A node that has just joined says `pending` for a moment, and its manager
/// lists it as `Unknown` until its first heartbeat: until then the swarm
/// places no task on it and cannot attach a container there to an overlay
/// network. `up` ends when the swarm can take work, so the join waits for
/// both.
async fn settle(runner: &crate::process::runner::Runner, join: &Join<'_>) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let mut last = String::from("not yet asked");
    while started.elapsed() < SETTLE {
        let me = info(runner, join.node).await?;
        if me.is_active() {
            let ls = join.manager.docker(runner, &node_ls_args()).await?;
            let listed = runner
                .query(&ls.retry_on(transient))
                .await
                .map_err(anyhow::Error::from)
                .and_then(|out| parse_node_ls(&out.stdout).map_err(anyhow::Error::msg));
            match listed {
                Ok(nodes) => match nodes.iter().find(|n| n.id == me.node_id) {
                    Some(n) if n.is_ready() => return Ok(()),
                    Some(n) => last = format!("its manager lists it as {}", n.status),
                    None => last = "its manager does not list it yet".into(),
                },
                Err(e) => last = format!("its manager did not answer: {e:#}"),
            }
        } else {
            last = format!("its engine says `{}`", me.state);
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    anyhow::bail!(
        "{} joined but was not a Ready swarm member within {}s ({last})\nhint: look at its engine's log (`lab ssh {} -- sudo journalctl -u docker -n 30`)",
        join.node.machine(),
        SETTLE.as_secs(),
        join.node.machine()
    )
}

/// Why a swarm command's failure will likely pass by itself: a manager
/// still electing or settling, or one too busy to answer in time (a VM
/// under software emulation, a laptop running four VMs). A real
/// misconfiguration (a network that does not exist, a bad stack file, a
/// node in another swarm) says something else and fails at once.
pub fn transient(stderr: &str) -> Option<&'static str> {
    if stderr.contains("attaching to network failed")
        && stderr.contains("context deadline exceeded")
    {
        return Some("the manager did not attach the container to the overlay network in time");
    }
    const KNOWN: [(&str, &str); 5] = [
        (
            "The swarm does not have a leader",
            "the managers are still electing a leader",
        ),
        (
            "rpc error: code = Unavailable",
            "the manager is not answering yet",
        ),
        (
            "rpc error: code = DeadlineExceeded",
            "the manager did not answer in time",
        ),
        (
            "rpc error: code = Canceled: grpc: the client connection is closing",
            "the manager's connection was closing",
        ),
        (
            "manager is not available",
            "the manager is not answering yet",
        ),
    ];
    KNOWN
        .iter()
        .find(|(needle, _)| stderr.contains(needle))
        .map(|(_, why)| *why)
}

/// A join goes over ssh to the node: ssh's passing failures as well as
/// the swarm's.
pub fn join_transient(stderr: &str) -> Option<&'static str> {
    crate::tools::ssh::transient(stderr).or_else(|| transient(stderr))
}

/// `after 3 tries (why)`, for a command that was tried again; None when
/// the first try answered.
pub fn tries_note(retried: &[&str]) -> Option<String> {
    let last = retried.last()?;
    Some(format!("after {} tries ({last})", retried.len() + 1))
}

/// Joins the node from the inside: the token comes on stdin, so it is in
/// no command line on the host (where every user can read them with `ps`),
/// in no log and in no error.
const JOIN: &str =
    r#"IFS= read -r token && exec docker swarm join --token "$token" --advertise-addr "$1" "$2""#;

/// ssh to the node, running `docker swarm join` there with the token read
/// from stdin.
pub fn join_over_ssh(
    node: &crate::tools::vagrant::SshConfig,
    advertise: &str,
    manager: &str,
) -> crate::process::process_builder::Cmd {
    crate::tools::ssh::ssh(
        node,
        &crate::tools::ssh::remote_command(&["sudo", "sh", "-c", JOIN, "sh", advertise, manager]),
    )
}

pub fn leave_args() -> Vec<String> {
    ["swarm", "leave", "--force"].map(String::from).to_vec()
}

pub fn network_create_args(name: &str) -> Vec<String> {
    vec![
        "network".into(),
        "create".into(),
        "--driver".into(),
        "overlay".into(),
        "--attachable".into(),
        name.into(),
    ]
}

/// `docker network create --driver overlay NAME`: classic Swarm's overlay,
/// as the seed's compose file made it.
pub fn overlay_create_args(name: &str) -> Vec<String> {
    ["network", "create", "--driver", "overlay", name]
        .map(String::from)
        .to_vec()
}

pub fn network_rm_args(name: &str) -> Vec<String> {
    ["network", "rm", name].map(String::from).to_vec()
}

/// `docker service|network ls -q` of those that carry `label`.
pub fn labelled_ls_args(what: &str, label: &str) -> Vec<String> {
    [what, "ls", "-q", "--filter", label]
        .map(String::from)
        .to_vec()
}

/// The services of stack `name`, one name a line.
pub fn stack_services_args(name: &str) -> Vec<String> {
    ["stack", "services", name, "--format", "{{.Name}}"]
        .map(String::from)
        .to_vec()
}

/// The tasks of stack `name`, as [`parse_stack_ps`] reads them.
pub fn stack_ps_args(name: &str) -> Vec<String> {
    ["stack", "ps", name, "--no-trunc", "--format", "{{json .}}"]
        .map(String::from)
        .to_vec()
}

/// A service's published ports, as [`parse_published_ports`] reads them.
pub fn published_ports_args(service: &str) -> Vec<String> {
    [
        "service",
        "inspect",
        service,
        "--format",
        "{{json .Spec.EndpointSpec.Ports}}",
    ]
    .map(String::from)
    .to_vec()
}

/// One task of `docker stack ps NAME --format '{{json .}}'`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackTask {
    #[serde(rename = "ID", default)]
    pub id: String,
    #[serde(rename = "Name", default)]
    pub name: String,
    #[serde(rename = "Node", default)]
    pub node: String,
    #[serde(rename = "CurrentState", default)]
    pub current_state: String,
    #[serde(rename = "DesiredState", default)]
    pub desired_state: String,
    #[serde(rename = "Error", default)]
    pub error: String,
}

impl StackTask {
    /// `redmine_db.1` → `redmine_db`.
    pub fn service(&self) -> &str {
        self.name.rsplit_once('.').map_or(&self.name, |(s, _)| s)
    }

    pub fn is_running(&self) -> bool {
        self.current_state.starts_with("Running")
    }
}

pub fn parse_stack_ps(text: &str) -> Result<Vec<StackTask>, String> {
    json_lines(text, "docker stack ps")
}

/// `docker service inspect --format '{{json .Spec.EndpointSpec.Ports}}'`:
/// the ports a service publishes, in either mode (ingress or host).
pub fn parse_published_ports(json: &str) -> Vec<u16> {
    #[derive(Deserialize)]
    struct Port {
        #[serde(rename = "PublishedPort", default)]
        published: u16,
    }
    serde_json::from_str::<Option<Vec<Port>>>(json.trim())
        .ok()
        .flatten()
        .unwrap_or_default()
        .into_iter()
        .map(|p| p.published)
        .filter(|p| *p != 0)
        .collect()
}

pub fn service_ls_args() -> Vec<String> {
    ["service", "ls", "--format", "{{.Name}}"]
        .map(String::from)
        .to_vec()
}

/// The swarm service an exercise means by `wanted`, as a stack file names
/// it: the service of that name, or `STACK_wanted` of the one stack that
/// has it; two candidates are an error naming both.
pub fn resolve_service(services: &[String], wanted: &str) -> Result<String, String> {
    if services.iter().any(|s| s == wanted) {
        return Ok(wanted.to_string());
    }
    let suffix = format!("_{wanted}");
    let found: Vec<&String> = services.iter().filter(|s| s.ends_with(&suffix)).collect();
    match found.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(format!(
            "no service `{wanted}` in the swarm ({})",
            if services.is_empty() {
                "it runs none".to_string()
            } else {
                format!("it runs {}", services.join(", "))
            }
        )),
        many => Err(format!(
            "`{wanted}` is {}: remove the stacks but one",
            many.iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(" and ")
        )),
    }
}

/// The tasks the swarm wants running for a service, as `stack ps` lists
/// them.
pub fn service_ps_args(service: &str) -> Vec<String> {
    [
        "service",
        "ps",
        service,
        "--no-trunc",
        "--filter",
        "desired-state=running",
        "--format",
        "{{json .}}",
    ]
    .map(String::from)
    .to_vec()
}

/// The tasks the swarm wants running for all these services at once
/// (`lab graph`), one JSON object a line.
pub fn services_ps_args(services: &[String]) -> Vec<String> {
    let mut args: Vec<String> = ["service", "ps"].map(String::from).to_vec();
    args.extend(services.iter().cloned());
    args.extend(
        [
            "--filter",
            "desired-state=running",
            "--format",
            "{{json .}}",
        ]
        .map(String::from),
    );
    args
}

/// The swarm's overlay networks by name, without `ingress` (every swarm
/// has it; the routing mesh, not a network a student made).
pub fn overlay_ls_args() -> Vec<String> {
    [
        "network",
        "ls",
        "--filter",
        "driver=overlay",
        "--format",
        "{{.Name}}",
    ]
    .map(String::from)
    .to_vec()
}

pub fn parse_overlays(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|n| !n.is_empty() && *n != "ingress")
        .map(String::from)
        .collect()
}

pub fn service_inspect_args(service: &str) -> Vec<String> {
    ["service", "inspect", service, "--format", "{{json .Spec}}"]
        .map(String::from)
        .to_vec()
}

/// What an exercise asks of a service's spec.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceSpec {
    pub image: String,
    /// Declared replicas; None for a global service.
    pub replicas: Option<u64>,
    pub published: Vec<u16>,
}

/// `docker service inspect NAME --format '{{json .Spec}}'`.
pub fn parse_service_spec(json: &str) -> Result<ServiceSpec, String> {
    let spec: serde_json::Value = serde_json::from_str(json.trim())
        .map_err(|e| format!("unexpected `docker service inspect` output ({e})"))?;
    let image = spec["TaskTemplate"]["ContainerSpec"]["Image"]
        .as_str()
        .unwrap_or_default();
    // The swarm pins an image by its digest: `name:tag@sha256:...`.
    let image = image.split('@').next().unwrap_or_default().to_string();
    Ok(ServiceSpec {
        image,
        replicas: spec["Mode"]["Replicated"]["Replicas"].as_u64(),
        published: parse_published_ports(&spec["EndpointSpec"]["Ports"].to_string()),
    })
}

/// `docker inspect TASK --format '{{.Status.ContainerStatus.ContainerID}}'`,
/// asked of a manager: the container that runs a task, on its node.
pub fn task_container_args(task: &str) -> Vec<String> {
    [
        "inspect",
        "--type",
        "task",
        "--format",
        "{{.Status.ContainerStatus.ContainerID}}",
        task,
    ]
    .map(String::from)
    .to_vec()
}

/// Classic Swarm's `docker info --format '{{json .SystemStatus}}'`: pairs
/// such as `["Nodes","3"]`, then per node `[" └ Status","Healthy"]`.
/// Returns (nodes, healthy).
pub fn parse_classic_status(text: &str) -> Option<(usize, usize)> {
    let pairs: Vec<(String, String)> = serde_json::from_str(text.trim()).ok()?;
    let nodes = pairs
        .iter()
        .find(|(k, _)| k.trim() == "Nodes")?
        .1
        .trim()
        .parse()
        .ok()?;
    let healthy = pairs
        .iter()
        .filter(|(k, v)| k.trim_start_matches([' ', '└']).trim() == "Status" && v == "Healthy")
        .count();
    Some((nodes, healthy))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `docker run --network lab-overlay` printed on a VM under
    /// software emulation (issue 20), and what a misconfigured run prints.
    const ATTACH_DEADLINE: &str = "docker: Error response from daemon: attaching to network failed, make sure your network options are correct and check manager logs: context deadline exceeded.\n";
    const NO_NETWORK: &str = "docker: Error response from daemon: network lab-overlay not found.\n";

    #[test]
    fn passing_swarm_answers_are_told_from_misconfigurations() {
        assert!(transient(ATTACH_DEADLINE).is_some_and(|why| why.contains("overlay network")));
        assert!(transient(
            "Error response from daemon: rpc error: code = Unavailable desc = connection error"
        )
        .is_some());
        assert!(transient("Error response from daemon: rpc error: code = Unknown desc = The swarm does not have a leader. It's possible that too few managers are online.").is_some());
        assert_eq!(transient(NO_NETWORK), None);
        assert_eq!(
            transient("Error response from daemon: This node is already part of a swarm."),
            None
        );
        assert_eq!(
            transient("docker: Error response from daemon: context deadline exceeded (a pull)"),
            None,
            "a deadline of something else than the attach is not the swarm's"
        );
        assert!(
            join_transient("ssh: connect to host 10.0.0.3 port 22: Connection refused").is_some()
        );
        assert!(join_transient(ATTACH_DEADLINE).is_some());
        assert_eq!(tries_note(&[]), None);
        assert_eq!(
            tries_note(&["a", "b"]).as_deref(),
            Some("after 3 tries (b)")
        );
    }

    /// A "docker" that fails `fails` times with `message`, then succeeds;
    /// the runner with a quick backoff, and where its calls are counted.
    #[cfg(unix)]
    fn flaky_docker(
        dir: &std::path::Path,
        fails: u32,
        message: &str,
    ) -> crate::process::runner::Runner {
        use crate::model::Retry;
        use crate::process::runner::Runner;
        use crate::process::tool::{Tool, Tools};
        use std::os::unix::fs::PermissionsExt as _;
        let script = dir.join("docker");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nn=$(cat {d}/count 2>/dev/null || echo 0); n=$((n+1)); echo $n > {d}/count\nif [ $n -le {fails} ]; then printf '%s' '{message}' >&2; exit 125; fi\necho started\n",
                d = dir.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        Runner::new(Tools::at(vec![(Tool::Docker, script)])).with_retry(Retry {
            attempts: 4,
            backoff: std::time::Duration::from_millis(10),
        })
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn an_attach_deadline_is_tried_again_and_the_tries_are_told() {
        use crate::process::process_builder::Cmd;
        use crate::process::tool::Tool;
        let dir = tempfile::tempdir().unwrap();
        let runner = flaky_docker(dir.path(), 2, ATTACH_DEADLINE);
        let run = Cmd::new(Tool::Docker, ["run", "--network", "lab-overlay"]).retry_on(transient);
        let out = runner.quiet(&run).await.unwrap();
        assert_eq!(out.stdout, "started\n");
        assert_eq!(out.retried.len(), 2);
        assert_eq!(
            tries_note(&out.retried).as_deref(),
            Some("after 3 tries (the manager did not attach the container to the overlay network in time)")
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("count"))
                .unwrap()
                .trim(),
            "3"
        );
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_misconfiguration_fails_at_once_with_its_own_error() {
        use crate::process::process_builder::Cmd;
        use crate::process::tool::Tool;
        let dir = tempfile::tempdir().unwrap();
        let runner = flaky_docker(dir.path(), 9, NO_NETWORK);
        let run = Cmd::new(Tool::Docker, ["run", "--network", "lab-overlay"]).retry_on(transient);
        let err = runner.quiet(&run).await.unwrap_err();
        assert!(
            err.to_string().contains("network lab-overlay not found"),
            "{err}"
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("count"))
                .unwrap()
                .trim(),
            "1"
        );
    }

    #[test]
    fn swarm_info_of_a_manager_a_worker_and_a_loner() {
        let manager = r#"{"NodeID":"k1x","NodeAddr":"10.0.0.3","LocalNodeState":"active","ControlAvailable":true,"Error":"","RemoteManagers":[{"NodeID":"k1x","Addr":"10.0.0.3:2377"}],"Nodes":3,"Managers":1,"Cluster":{"ID":"c9"}}"#;
        let info = parse_info(manager).unwrap();
        assert!(info.is_active() && info.manager);
        assert_eq!(info.node_id, "k1x");
        let worker = parse_info(r#"{"NodeID":"w2","NodeAddr":"10.0.0.4","LocalNodeState":"active","ControlAvailable":false,"Error":"","RemoteManagers":null}"#).unwrap();
        assert!(worker.is_active() && !worker.manager);
        let alone = parse_info(r#"{"NodeID":"","NodeAddr":"","LocalNodeState":"inactive","ControlAvailable":false,"Error":"","RemoteManagers":null}"#).unwrap();
        assert!(!alone.is_active());
        assert!(parse_info("Cannot connect to the Docker daemon").is_err());
    }

    #[test]
    fn node_list_lines() {
        let text = "{\"Availability\":\"Active\",\"EngineVersion\":\"20.10.24+dfsg1\",\"Hostname\":\"swarm-master\",\"ID\":\"k1x\",\"ManagerStatus\":\"Leader\",\"Self\":true,\"Status\":\"Ready\",\"TLSStatus\":\"Ready\"}\n{\"Availability\":\"Active\",\"EngineVersion\":\"20.10.24+dfsg1\",\"Hostname\":\"swarm-node01\",\"ID\":\"w2\",\"ManagerStatus\":\"\",\"Self\":false,\"Status\":\"Down\",\"TLSStatus\":\"Ready\"}\n";
        let nodes = parse_node_ls(text).unwrap();
        assert_eq!(nodes.len(), 2);
        assert!(nodes[0].is_ready());
        assert_eq!(nodes[1].hostname, "swarm-node01");
        assert!(!nodes[1].is_ready());
        assert!(parse_node_ls("ID HOSTNAME\n").is_err());
    }

    #[test]
    fn classic_swarm_counts_healthy_nodes() {
        let text = r#"[["Role","primary"],["Strategy","spread"],["Filters","health, port"],["Nodes","2"],[" └ swarm-master","10.0.0.3:2376"],["  └ Status","Healthy"],[" └ swarm-node01","10.0.0.4:2376"],["  └ Status","Pending"]]"#;
        assert_eq!(parse_classic_status(text), Some((2, 1)));
        assert_eq!(parse_classic_status("null"), None);
    }

    #[test]
    fn stack_tasks_and_ports() {
        let ps = "{\"CurrentState\":\"Running 3 seconds ago\",\"DesiredState\":\"Running\",\"Error\":\"\",\"ID\":\"t1\",\"Image\":\"x\",\"Name\":\"redmine_db.1\",\"Node\":\"swarm-node02\",\"Ports\":\"\"}\n{\"CurrentState\":\"Rejected 1 second ago\",\"DesiredState\":\"Shutdown\",\"Error\":\"No such image: x\",\"ID\":\"t2\",\"Image\":\"x\",\"Name\":\"redmine_redmine.1\",\"Node\":\"swarm-node01\",\"Ports\":\"\"}\n";
        let tasks = parse_stack_ps(ps).unwrap();
        assert_eq!(tasks[0].service(), "redmine_db");
        assert!(tasks[0].is_running() && !tasks[1].is_running());
        assert_eq!(tasks[1].error, "No such image: x");
        let ports =
            r#"[{"Protocol":"tcp","TargetPort":3000,"PublishedPort":3000,"PublishMode":"host"}]"#;
        assert_eq!(parse_published_ports(ports), [3000]);
        assert!(parse_published_ports("null").is_empty());
    }

    #[test]
    fn network_by_exact_name() {
        let text =
            "bridge\tbridge\tlocal\nlab-overlay-old\toverlay\tswarm\nlab-overlay\toverlay\tswarm\n";
        assert_eq!(
            network_driver(text, "lab-overlay").as_deref(),
            Some("overlay")
        );
        assert_eq!(network_driver(text, "lab"), None);
    }
}
