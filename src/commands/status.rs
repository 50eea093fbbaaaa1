//! `lab status`: one row per machine, as a table or JSON.

use std::net::Ipv4Addr;

use serde::Serialize;

use crate::cli::StatusArgs;
use crate::config::Lab;
use crate::observe;
use crate::runner::Tool;

#[derive(Debug, Serialize)]
pub struct Row {
    pub machine: String,
    pub role: &'static str,
    pub vagrant: String,
    pub ip: Option<Ipv4Addr>,
    pub docker_machine: String,
    pub url: String,
    pub problem: Option<String>,
}

pub async fn run(lab: &Lab, args: &StatusArgs) -> anyhow::Result<()> {
    let runner = super::reader(&[Tool::Vagrant, Tool::DockerMachine, Tool::Ssh])?;
    let vms = observe::vms(&runner, lab).await?;
    let ssh = observe::ssh_configs(&runner, lab, &vms).await?;
    let (ips, dm) = tokio::join!(
        observe::addresses_each(&runner, lab, &ssh),
        observe::docker_machines(&runner, lab)
    );
    let dm = dm?;

    let rows: Vec<Row> = lab
        .machines
        .iter()
        .map(|m| {
            let vm = vms.iter().find(|v| v.name == m.name);
            let entry = dm.get(&m.name);
            let address = ips.get(&m.name);
            let problem = match (address, entry) {
                (Some(Err(e)), _) => Some(e.clone()),
                (_, Some(e)) if !e.is_healthy() => Some(e.problem()),
                _ => None,
            };
            Row {
                machine: m.name.clone(),
                role: m.role.as_str(),
                vagrant: vm.map_or_else(|| "not_created".to_string(), |v| v.state.clone()),
                ip: address.and_then(|r| r.as_ref().ok()).copied(),
                docker_machine: entry.map_or_else(|| "absent".to_string(), |e| e.state.clone()),
                url: entry.map(|e| e.url.clone()).unwrap_or_default(),
                problem,
            }
        })
        .collect();

    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({ "lab": lab.name, "machines": rows })
            )?
        );
    } else {
        print!("{}", table(&rows));
    }
    Ok(())
}

pub fn table(rows: &[Row]) -> String {
    let header = [
        "MACHINE",
        "ROLE",
        "VAGRANT",
        "IP",
        "DOCKER-MACHINE",
        "URL",
        "PROBLEM",
    ];
    let cells: Vec<[String; 7]> = rows
        .iter()
        .map(|r| {
            [
                r.machine.clone(),
                r.role.to_string(),
                r.vagrant.clone(),
                r.ip.map_or_else(|| "-".to_string(), |ip| ip.to_string()),
                r.docker_machine.clone(),
                if r.url.is_empty() {
                    "-".to_string()
                } else {
                    r.url.clone()
                },
                r.problem.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &cells {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let line = |row: &[String]| {
        let mut text = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            }
        }
        text.trim_end().to_string() + "\n"
    };
    let mut out = line(&header.map(String::from));
    for row in &cells {
        out.push_str(&line(row));
    }
    out
}
