//! `lab status`: one row per machine, as a table or JSON.

use crate::session::Session;
use std::net::Ipv4Addr;

use serde::Serialize;

use crate::cli::StatusArgs;
use crate::model::{Lab, Mode, Role};
use crate::process::tool::Tool;
use crate::reconcile::observe;
use crate::reconcile::observed::Observed;

#[derive(Debug, Serialize)]
pub struct Row {
    pub machine: String,
    pub role: &'static str,
    pub vagrant: String,
    pub ip: Option<Ipv4Addr>,
    /// docker-machine's state of its entry, or for native engines "Running"
    /// when the engine answers over TLS.
    pub engine: String,
    pub url: String,
    /// Swarm mode: the node's status in the master's `docker node ls`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub swarm: Option<String>,
    pub problem: Option<String>,
}

pub async fn run(lab: &Lab, args: &StatusArgs, session: &Session) -> anyhow::Result<()> {
    let runner = session.reader(&crate::reconcile::driver::of(lab).tools())?;
    let (seen, ips, lab_problem) = observe::read_only(&runner, lab).await?;

    let rows: Vec<Row> = lab
        .machines
        .iter()
        .map(|m| row(lab, &seen, ips.get(&m.name), m))
        .collect();

    if args.json {
        crate::outln!(
            "{}",
            serde_json::to_string_pretty(&report(lab, &rows, lab_problem.as_deref()))?
        );
    } else {
        crate::out!("{}", table(&rows));
        if let Some(problem) = lab_problem {
            crate::outln!("problem: {problem}");
        }
        for fault in crate::host::record::of(lab).faults {
            crate::outln!(
                "fault: {}: {} (since {}; `lab fault clear` undoes it)",
                fault.machine,
                fault.detail,
                fault.since
            );
        }
    }
    Ok(())
}

/// `lab status --json`, schema [`STATUS`](crate::model::schema::STATUS).
pub fn report(lab: &Lab, rows: &[Row], problem: Option<&str>) -> serde_json::Value {
    serde_json::json!({
        "schema": crate::model::schema::STATUS,
        "lab": lab.name,
        "engine": lab.engine,
        "mode": lab.mode,
        "machines": rows,
        "problem": problem,
    })
}

/// `lab status --all --json`, schema [`STATUS_ALL`](crate::model::schema::STATUS_ALL).
pub fn report_all(registry: &std::path::Path, rows: &[LabRow]) -> serde_json::Value {
    serde_json::json!({
        "schema": crate::model::schema::STATUS_ALL,
        "registry": registry.display().to_string(),
        "labs": rows,
    })
}

pub fn row(
    lab: &Lab,
    seen: &Observed,
    address: Option<&Result<Ipv4Addr, String>>,
    m: &crate::model::Machine,
) -> Row {
    let vm = seen.vm(&m.name);
    let crate::reconcile::driver::EngineRow {
        state: engine,
        url,
        problem: engine_problem,
    } = crate::reconcile::driver::of(lab).engine_row(lab, seen, &m.name);
    let swarm = (lab.mode == Mode::Swarm && m.role != Role::Consul).then(|| {
        let id = seen.swarm_info(&m.name).map(|i| i.node_id.as_str());
        let listed = seen
            .nodes
            .iter()
            .flatten()
            .find(|n| Some(n.id.as_str()) == id && !n.id.is_empty());
        match listed {
            Some(n) if n.manager_status.is_empty() => n.status.clone(),
            Some(n) => format!("{} {}", n.status, n.manager_status.to_lowercase()),
            None => "not joined".to_string(),
        }
    });
    let problem = match address {
        Some(Err(e)) => Some(e.clone()),
        _ => engine_problem,
    };
    Row {
        machine: m.name.clone(),
        role: m.role.as_str(),
        vagrant: vm.map_or_else(|| "not_created".to_string(), |v| v.state.to_string()),
        ip: address.and_then(|r| r.as_ref().ok()).copied(),
        engine,
        url,
        swarm,
        problem,
    }
}

pub fn table(rows: &[Row]) -> String {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.machine.clone(),
                r.role.to_string(),
                r.vagrant.clone(),
                r.ip.map_or_else(|| "-".to_string(), |ip| ip.to_string()),
                r.engine.clone(),
                if r.url.is_empty() {
                    "-".to_string()
                } else {
                    r.url.clone()
                },
                r.swarm.clone().unwrap_or_else(|| "-".to_string()),
                r.problem.clone().unwrap_or_default(),
            ]
        })
        .collect();
    crate::ui::columns(
        &[
            "MACHINE", "ROLE", "VAGRANT", "IP", "ENGINE", "URL", "SWARM", "PROBLEM",
        ],
        &cells,
    )
}

/// One row of `lab status --all`.
#[derive(Debug, Serialize)]
pub struct LabRow {
    pub name: String,
    pub file: String,
    pub subnet: String,
    pub running: usize,
    pub machines: usize,
    pub problem: Option<String>,
}

/// One lab of the host's list: how many of its machines run, or why
/// that cannot be told.
async fn lab_row(
    runner: &crate::process::runner::Runner,
    entry: &crate::host::registry::Entry,
) -> LabRow {
    let mut row = LabRow {
        name: entry.name.clone(),
        file: entry.file.display().to_string(),
        subnet: entry.subnet.clone(),
        running: 0,
        machines: 0,
        problem: None,
    };
    if !entry.present() {
        row.problem = Some(format!(
            "missing: {} is gone; its subnet stays taken until `lab status --all --prune`",
            entry.file.display()
        ));
        return row;
    }
    match crate::model::load(&entry.file) {
        Ok(lab) => {
            row.machines = lab.machines.len();
            match observe::vms(runner, &lab).await {
                Ok(vms) => row.running = vms.iter().filter(|v| v.is_running()).count(),
                Err(e) => row.problem = Some(format!("{e:#}")),
            }
        }
        Err(e) => row.problem = Some(format!("{e:#}")),
    }
    row
}

/// `lab status --all`: every lab recorded on this host.
pub async fn all(args: &StatusArgs, session: &Session) -> anyhow::Result<()> {
    let registry = crate::host::registry::path()?;
    if args.prune {
        for gone in crate::host::registry::prune(&registry)? {
            crate::errln!(
                "forgot lab `{}`: {} is gone",
                gone.name,
                gone.file.display()
            );
        }
    }
    let entries = crate::host::registry::load(&registry)?;
    let runner = session.reader(&[Tool::Vagrant])?;
    let mut rows = Vec::new();
    for entry in &entries {
        rows.push(lab_row(&runner, entry).await);
    }
    if args.json {
        crate::outln!(
            "{}",
            serde_json::to_string_pretty(&report_all(&registry, &rows))?
        );
        return Ok(());
    }
    if rows.is_empty() {
        crate::outln!("no lab on this host ({} lists none)", registry.display());
        return Ok(());
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.name.clone(),
                format!("{}/{}", r.running, r.machines),
                r.subnet.clone(),
                r.file.clone(),
                r.problem.clone().unwrap_or_default(),
            ]
        })
        .collect();
    crate::out!(
        "{}",
        crate::ui::columns(&["LAB", "RUNNING", "SUBNET", "FILE", "PROBLEM"], &cells)
    );
    Ok(())
}
