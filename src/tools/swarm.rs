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
        .secret_output();
    let token = runner.query(&token_cmd).await?.stdout.trim().to_string();
    let cmd = join_over_ssh(join.node_ssh, join.advertise, join.manager_addr).secret(&token);
    runner
        .run_with_input(&cmd, format!("{token}\n").as_bytes())
        .await?;
    settle(runner, join.node).await
}

/// A node that has just joined says `pending` for a moment; whatever looks
/// next (the plan after this one) must see it as it will stay: active.
async fn settle(
    runner: &crate::process::runner::Runner,
    node: &crate::tools::engine::Engine,
) -> anyhow::Result<()> {
    const TRIES: u32 = 30;
    for _ in 0..TRIES {
        if info(runner, node).await?.is_active() {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    anyhow::bail!(
        "{} joined but did not become an active swarm member within {TRIES}s\nhint: look at its engine's log (`lab ssh {} -- sudo journalctl -u docker -n 30`)",
        node.machine(),
        node.machine()
    )
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
) -> crate::process::runner::Cmd {
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

/// One task of `docker stack ps NAME --format '{{json .}}'`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackTask {
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
