//! A picture of a lab (`lab graph`): its machines with their state and
//! faults, its private network and the swarm's overlay networks, and each
//! service's running tasks on their nodes. The picture is plain data,
//! drawn here as dot, mermaid, SVG or an HTML page without observing
//! anything, so each drawing is tested from a picture made by hand.
//!
//! Every drawing is stable: machines in lab.toml's order, tasks by service
//! and slot, overlays by name, a service's colour from its place among
//! the services' names. The same lab draws the same picture.

pub mod html;
pub mod svg;

use serde::Serialize;

/// What `lab graph` draws, and `lab graph --format json` prints.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Picture {
    pub schema: &'static str,
    pub lab: String,
    /// `2026-12-03T10:00:00Z`.
    pub drawn_at: String,
    /// The lab's private network, every machine's second interface.
    pub subnet: String,
    /// The swarm's overlay networks (swarm mode; none otherwise).
    pub overlays: Vec<String>,
    pub machines: Vec<MachineView>,
    /// Tasks the swarm wants running that no node has taken yet.
    pub unplaced: Vec<TaskView>,
    /// Why part of the picture could not be read (the swarm's manager
    /// down, say): the rest is drawn.
    pub problem: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MachineView {
    pub name: String,
    pub role: String,
    pub address: Option<String>,
    /// Vagrant's state: running, poweroff, not_created...
    pub vagrant: String,
    /// The engine's state as `lab status` shows it.
    pub engine: String,
    /// The swarm node's status (Ready, Down, "Ready leader"), in swarm mode.
    pub node: Option<String>,
    /// The fault drills in place on the machine.
    pub faults: Vec<String>,
    pub tasks: Vec<TaskView>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct TaskView {
    pub service: String,
    /// `web.2`: the service and the task's slot (replica).
    pub name: String,
    /// The first word of the task's current state: Running, Starting...
    pub state: String,
}

impl TaskView {
    /// A task of `docker service ps`: its name (`web.2`, or `web.ID` for a
    /// global service's) and current state ("Running 5 minutes ago" is
    /// drawn as Running, so that time alone changes no picture).
    pub fn new(name: &str, current_state: &str) -> TaskView {
        TaskView {
            service: name.rsplit_once('.').map_or(name, |(s, _)| s).to_string(),
            name: name.to_string(),
            state: current_state
                .split_whitespace()
                .next()
                .unwrap_or("unknown")
                .to_string(),
        }
    }

    pub fn is_running(&self) -> bool {
        self.state == "Running"
    }

    /// Sort key: by service, then slot as a number (web.10 after web.9).
    fn key(&self) -> (String, u64, String) {
        let slot = self
            .name
            .rsplit_once('.')
            .and_then(|(_, s)| s.parse().ok())
            .unwrap_or(u64::MAX);
        (self.service.clone(), slot, self.name.clone())
    }
}

impl MachineView {
    pub fn is_running(&self) -> bool {
        self.vagrant == "running"
    }

    /// The card's lines under its name: address, engine, node.
    pub fn facts(&self) -> Vec<String> {
        let mut lines = vec![
            self.address
                .clone()
                .unwrap_or_else(|| "no address".to_string()),
            format!("vagrant {} · engine {}", self.vagrant, self.engine),
        ];
        if let Some(node) = &self.node {
            lines.push(format!("node {node}"));
        }
        lines
    }
}

impl Picture {
    /// Puts everything in its stable order.
    pub fn settle(&mut self) {
        self.overlays.sort();
        self.overlays.dedup();
        for m in &mut self.machines {
            m.tasks.sort_by_key(TaskView::key);
        }
        self.unplaced.sort_by_key(TaskView::key);
    }

    /// Every service with a task in the picture, sorted: a service's
    /// colour is its place here.
    pub fn services(&self) -> Vec<String> {
        let mut all: Vec<String> = self
            .machines
            .iter()
            .flat_map(|m| &m.tasks)
            .chain(&self.unplaced)
            .map(|t| t.service.clone())
            .collect();
        all.sort();
        all.dedup();
        all
    }

    pub fn task_count(&self) -> usize {
        self.machines.iter().map(|m| m.tasks.len()).sum::<usize>() + self.unplaced.len()
    }
}

/// Graphviz's dot: the networks, a cluster per machine holding its tasks.
pub fn dot(p: &Picture) -> String {
    fn q(s: &str) -> String {
        lines(&[s])
    }
    // Each line escaped, joined by dot's own line break.
    fn lines<S: AsRef<str>>(parts: &[S]) -> String {
        let escaped: Vec<String> = parts
            .iter()
            .map(|s| s.as_ref().replace('\\', "\\\\").replace('"', "\\\""))
            .collect();
        format!("\"{}\"", escaped.join("\\n"))
    }
    let task = |t: &TaskView, style: &str| {
        format!(
            "    {} [label={}, style={style}];\n",
            q(&format!("task:{}", t.name)),
            lines(&[&t.name, &t.state])
        )
    };
    let mut out = String::new();
    out.push_str(&format!("graph {} {{\n", q(&format!("lab {}", p.lab))));
    out.push_str(&format!(
        "  graph [label={}, labelloc=t, fontname=\"sans-serif\", compound=true];\n",
        q(&format!("lab {} — drawn {}", p.lab, p.drawn_at))
    ));
    out.push_str("  node [shape=box, fontname=\"sans-serif\"];\n");
    out.push_str(&format!(
        "  \"net:private\" [shape=ellipse, label={}];\n",
        lines(&["private network", &p.subnet])
    ));
    for o in &p.overlays {
        out.push_str(&format!(
            "  {} [shape=ellipse, style=dashed, label={}];\n",
            q(&format!("overlay:{o}")),
            q(&format!("overlay {o}"))
        ));
    }
    for (i, m) in p.machines.iter().enumerate() {
        out.push_str(&format!("  subgraph \"cluster_{i}\" {{\n"));
        let mut label = vec![format!("{} ({})", m.name, m.role)];
        label.extend(m.facts());
        label.extend(m.faults.iter().map(|f| format!("fault: {f}")));
        let style = if m.faults.is_empty() {
            ""
        } else {
            " color=red;"
        };
        out.push_str(&format!("    label={};{style}\n", lines(&label)));
        out.push_str(&format!(
            "    {} [label={}, shape=component];\n",
            q(&format!("machine:{}", m.name)),
            q(&m.name)
        ));
        for t in &m.tasks {
            out.push_str(&task(t, "rounded"));
        }
        out.push_str("  }\n");
        out.push_str(&format!(
            "  \"net:private\" -- {};\n",
            q(&format!("machine:{}", m.name))
        ));
        if m.node.is_some() {
            for o in &p.overlays {
                out.push_str(&format!(
                    "  {} -- {} [style=dashed];\n",
                    q(&format!("overlay:{o}")),
                    q(&format!("machine:{}", m.name))
                ));
            }
        }
    }
    if !p.unplaced.is_empty() {
        out.push_str("  subgraph \"cluster_unplaced\" {\n    label=\"not placed\";\n");
        for t in &p.unplaced {
            out.push_str(&task(t, "\"rounded,dashed\""));
        }
        out.push_str("  }\n");
    }
    out.push_str("}\n");
    out
}

/// A mermaid flowchart: a subgraph per machine holding its tasks.
pub fn mermaid(p: &Picture) -> String {
    // Mermaid's own escapes, inside a quoted label.
    fn esc(s: &str) -> String {
        s.replace('"', "#quot;")
            .replace('<', "#lt;")
            .replace('>', "#gt;")
    }
    let mut out = String::from("flowchart TB\n");
    out.push_str(&format!(
        "  %% lab {} — drawn {}\n",
        esc(&p.lab),
        esc(&p.drawn_at)
    ));
    out.push_str(&format!(
        "  net_private([\"private network {}\"])\n",
        esc(&p.subnet)
    ));
    for (i, o) in p.overlays.iter().enumerate() {
        out.push_str(&format!("  overlay_{i}([\"overlay {}\"])\n", esc(o)));
    }
    for (i, m) in p.machines.iter().enumerate() {
        out.push_str(&format!(
            "  subgraph m{i}[\"{} · {}\"]\n",
            esc(&m.name),
            esc(&m.role)
        ));
        let mut facts = m.facts();
        facts.extend(m.faults.iter().map(|f| format!("fault: {f}")));
        let facts: Vec<String> = facts.iter().map(|l| esc(l)).collect();
        out.push_str(&format!("    m{i}_info[\"{}\"]\n", facts.join("<br/>")));
        for (j, t) in m.tasks.iter().enumerate() {
            out.push_str(&format!(
                "    m{i}_t{j}([\"{} {}\"])\n",
                esc(&t.name),
                esc(&t.state)
            ));
        }
        out.push_str("  end\n");
        out.push_str(&format!("  net_private --- m{i}\n"));
        if m.node.is_some() {
            for (o, _) in p.overlays.iter().enumerate() {
                out.push_str(&format!("  overlay_{o} -.- m{i}\n"));
            }
        }
        if !m.faults.is_empty() {
            out.push_str(&format!("  style m{i} stroke:#c00,stroke-width:3px\n"));
        }
    }
    if !p.unplaced.is_empty() {
        out.push_str("  subgraph unplaced[\"not placed\"]\n");
        for (j, t) in p.unplaced.iter().enumerate() {
            out.push_str(&format!(
                "    u{j}([\"{} {}\"])\n",
                esc(&t.name),
                esc(&t.state)
            ));
        }
        out.push_str("  end\n");
    }
    out
}

#[cfg(test)]
pub(crate) fn sample() -> Picture {
    let machine = |name: &str, role: &str, ip: &str, node: Option<&str>| MachineView {
        name: name.into(),
        role: role.into(),
        address: Some(ip.into()),
        vagrant: "running".into(),
        engine: "Running".into(),
        node: node.map(String::from),
        faults: vec![],
        tasks: vec![],
    };
    let mut p = Picture {
        schema: crate::model::schema::GRAPH,
        lab: "class".into(),
        drawn_at: "2026-12-03T10:00:00Z".into(),
        subnet: "10.0.7.0/24".into(),
        overlays: vec!["lab-overlay".into(), "failover_default".into()],
        machines: vec![
            machine("consul", "consul", "10.0.7.2", None),
            machine("swarm-master", "master", "10.0.7.3", Some("Ready leader")),
            machine("swarm-node01", "node", "10.0.7.4", Some("Ready")),
            machine("swarm-node02", "node", "10.0.7.5", Some("Down")),
        ],
        unplaced: vec![TaskView::new("web.3", "Pending 2 seconds ago")],
        problem: None,
    };
    p.machines[2].tasks = vec![
        TaskView::new("web.10", "Running 1 minute ago"),
        TaskView::new("db.1", "Running 5 minutes ago"),
        TaskView::new("web.2", "Starting 1 second ago"),
    ];
    p.machines[3].faults = vec!["stop: powered off".into()];
    p.machines[3].vagrant = "poweroff".into();
    p.settle();
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_keep_their_service_and_the_state_without_its_age() {
        let t = TaskView::new("redmine_db.1", "Running 5 minutes ago");
        assert_eq!(t.service, "redmine_db");
        assert_eq!(t.state, "Running");
        assert!(t.is_running());
        assert_eq!(TaskView::new("x", "").state, "unknown");
    }

    #[test]
    fn the_order_is_stable_and_slots_sort_as_numbers() {
        let p = sample();
        assert_eq!(p.overlays, ["failover_default", "lab-overlay"]);
        let names: Vec<&str> = p.machines[2]
            .tasks
            .iter()
            .map(|t| t.name.as_str())
            .collect();
        assert_eq!(names, ["db.1", "web.2", "web.10"]);
        assert_eq!(p.services(), ["db", "web"]);
        assert_eq!(p.task_count(), 4);
    }

    #[test]
    fn dot_holds_machines_networks_tasks_and_faults() {
        let text = dot(&sample());
        assert!(text.starts_with("graph \"lab class\" {\n"), "{text}");
        assert!(text.contains(
            "  \"net:private\" [shape=ellipse, label=\"private network\\n10.0.7.0/24\"];\n"
        ));
        assert!(text.contains("    \"task:web.10\" [label=\"web.10\\nRunning\", style=rounded];\n"));
        // consul is no swarm node: only the private network reaches it.
        assert!(text.contains("  \"net:private\" -- \"machine:consul\";\n"));
        assert!(!text.contains("-- \"machine:consul\" [style=dashed]"));
        assert!(text
            .contains("  \"overlay:lab-overlay\" -- \"machine:swarm-node01\" [style=dashed];\n"));
        assert!(
            text.contains("fault: stop: powered off\"; color=red;\n"),
            "{text}"
        );
        assert!(text.contains("label=\"not placed\""));
        assert!(text.contains("\"task:web.3\" [label=\"web.3\\nPending\""));
        assert!(text.ends_with("}\n"));
        assert_eq!(text, dot(&sample()), "the same lab, the same drawing");
    }

    #[test]
    fn dot_quotes_what_it_is_given() {
        let mut p = sample();
        p.machines[0].name = "a\"b\\c".into();
        let text = dot(&p);
        assert!(text.contains("\"machine:a\\\"b\\\\c\""), "{text}");
    }

    #[test]
    fn mermaid_holds_machines_networks_tasks_and_faults() {
        let text = mermaid(&sample());
        let expected_start = "flowchart TB\n  %% lab class — drawn 2026-12-03T10:00:00Z\n  net_private([\"private network 10.0.7.0/24\"])\n  overlay_0([\"overlay failover_default\"])\n  overlay_1([\"overlay lab-overlay\"])\n  subgraph m0[\"consul · consul\"]\n    m0_info[\"10.0.7.2<br/>vagrant running · engine Running\"]\n  end\n  net_private --- m0\n";
        assert!(text.starts_with(expected_start), "{text}");
        assert!(text.contains("    m2_t2([\"web.10 Running\"])\n"), "{text}");
        assert!(text.contains("  overlay_1 -.- m3\n"));
        assert!(text.contains("  style m3 stroke:#c00,stroke-width:3px\n"));
        assert!(text.contains("fault: stop: powered off\"]"));
        assert!(text.contains("    u0([\"web.3 Pending\"])\n"));
    }

    #[test]
    fn mermaid_escapes_quotes_and_angle_brackets() {
        let mut p = sample();
        p.machines[0].role = "<b>\"x\"".into();
        assert!(mermaid(&p).contains("consul · #lt;b#gt;#quot;x#quot;"));
    }
}
