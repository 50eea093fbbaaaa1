//! `lab up`'s schedule from boot to swarm, with no I/O: which machine is
//! asked for its SSH settings when, which is observed, and which of its
//! hooks' steps are planned and added once it and the machines it plans
//! from are observed. [`Schedule::on`] takes one event (a line of `vagrant
//! up`, a look that came back) and returns the effects to carry out; the
//! loop in `bringup.rs` carries them out and feeds their results back.
//! consul's create does not wait for the last node's boot, nor a node's for
//! the other nodes'.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{Lab, Machine, Mode, Role};
use crate::reconcile::hooks::Hook;
use crate::reconcile::observed::Observed;
use crate::reconcile::plan::{Plan, Stage, Step};
use crate::reconcile::planner;
use crate::tools::docker_machine::DmMachine;
use crate::tools::vagrant::{SshConfig, UpLine, VmState, VmStatus};

/// The other machines whose observed state a machine's steps are planned
/// from: classic Swarm's creates name Consul's address; a swarm-mode node
/// joins at the master's address with its token. The master plans from its
/// own engine (nodes it cannot see yet are finished after the run).
pub fn inputs(lab: &Lab, machine: &Machine) -> Vec<String> {
    match (lab.mode, machine.role) {
        (Mode::Classic, Role::Master | Role::Node) => lab
            .consul_machine()
            .map(|c| c.name.clone())
            .into_iter()
            .collect(),
        (Mode::Swarm, Role::Node) => vec![lab.master().name.clone()],
        _ => Vec::new(),
    }
}

/// The first of a machine's stages planned from the machines it plans
/// from ([`inputs`]); its steps before it (an engine, Docker installed) need
/// only the machine itself and start as soon as it is seen.
pub fn planned_from_others(lab: &Lab, machine: &Machine) -> Option<Stage> {
    if inputs(lab, machine).is_empty() {
        return None;
    }
    match lab.mode {
        // The creates name Consul's address.
        Mode::Classic => Some(Stage::Swarm),
        // Leave and join follow from the master's swarm.
        Mode::Swarm => Some(Stage::Join),
    }
}

/// Which of a machine's steps to add: those from stage `from` on (all when
/// `None`), and before stage `before` (to the end when `None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part {
    pub from: Option<Stage>,
    pub before: Option<Stage>,
}

impl Part {
    fn holds(&self, stage: Stage) -> bool {
        self.from.is_none_or(|f| stage >= f) && self.before.is_none_or(|b| stage < b)
    }
}

/// The steps to add now from a plan made with what is observed: each
/// machine's `take` part, in the plan's order, and the lab-wide ones (the
/// CA) that were not added before.
pub fn admit(plan: &Plan, take: &BTreeMap<String, Part>, added: &[Step]) -> Vec<Step> {
    plan.steps
        .iter()
        .filter(|s| match &s.machine {
            Some(m) => take.get(m).is_some_and(|part| part.holds(s.stage)),
            None => !added.contains(s),
        })
        .cloned()
        .collect()
}

/// The machines to ask `vagrant ssh-config` for now, taken from `wanted`
/// (up, not asked yet), while `running` calls are under way. One call at a
/// time, for every machine up since the last (a Ruby start-up each, on the
/// cores the booting machines use); but a machine that others plan from
/// (consul, the master) is asked for at once, alone: the lab waits for it.
pub fn ssh_batch(lab: &Lab, wanted: &mut Vec<String>, running: usize) -> Option<Vec<String>> {
    let first: Vec<String> = wanted
        .iter()
        .filter(|m| lab.machines.iter().any(|o| inputs(lab, o).contains(m)))
        .cloned()
        .collect();
    if !first.is_empty() {
        wanted.retain(|m| !first.contains(m));
        Some(first)
    } else if running == 0 && !wanted.is_empty() {
        Some(std::mem::take(wanted))
    } else {
        None
    }
}

/// What happened: a line of `vagrant up`, or a piece of work that ended.
#[derive(Debug)]
pub enum Event {
    Line(UpLine),
    /// `vagrant up` ended (with the lab's Vagrant ids noted).
    Booted(anyhow::Result<()>),
    Ssh(Vec<String>, anyhow::Result<BTreeMap<String, SshConfig>>),
    Entries(anyhow::Result<BTreeMap<String, DmMachine>>),
    Seen(String, Box<anyhow::Result<Observed>>),
    /// A piece of work that panicked.
    Lost(String),
}

/// What to do about it.
#[derive(Debug)]
pub enum Effect {
    /// Start `vagrant up`; its lines and its end come back as events.
    Boot,
    /// Vagrant says `machine` is up.
    Up(String),
    /// `vagrant up` is over: its mark of an unfinished boot goes.
    BootDone,
    /// Ask `vagrant ssh-config` for these machines.
    AskSsh(Vec<String>),
    /// Read docker-machine's entries again.
    AskEntries,
    /// Read a machine's address and engine, starting from what is known of it.
    Observe(String, Box<Observed>),
    /// Add these steps to the running graph.
    Add(Vec<Step>),
    /// A machine's progress bar starts this.
    Begin(String, String),
    /// A machine's progress bar shows this line.
    Progress(String, String),
    /// A machine's steps wait for other machines (unless it is busy with
    /// steps of its own).
    Waiting(String, Vec<String>),
    /// A machine is done, with this outcome.
    Settle(String, String),
    /// Work for these machines failed.
    Fail {
        machines: Vec<String>,
        action: String,
        error: anyhow::Error,
    },
}

/// Where the schedule is: what is booting, asked, observed and admitted.
pub struct Schedule<'a> {
    lab: &'a Lab,
    hooks: &'a [Box<dyn Hook>],
    seen: Observed,
    /// Machines that this `vagrant up` brings up.
    booting: BTreeSet<String>,
    /// Entries docker-machine had before the boot; a machine that boots
    /// now is asked again once the boot is over (its engine was away).
    dm_before: BTreeMap<String, DmMachine>,
    boot_running: bool,
    /// The `vagrant up` command line, for its failure.
    boot_line: String,
    ssh_wanted: Vec<String>,
    /// `vagrant ssh-config` calls running.
    ssh_busy: usize,
    /// Waiting for `docker-machine ls` after the boot.
    deferred: Vec<String>,
    observed: BTreeSet<String>,
    /// Machines whose steps are added: true once all of them are, false
    /// while those planned from other machines still wait for them.
    admitted: BTreeMap<String, bool>,
    /// The steps added so far.
    added: Vec<Step>,
    /// Work started whose event has not come back.
    outstanding: usize,
}

impl<'a> Schedule<'a> {
    /// A schedule from the machines' states `vms` and docker-machine's
    /// entries `dm`; `boot_line` is `vagrant up`'s, when machines are to
    /// boot (those not running).
    pub fn new(
        lab: &'a Lab,
        hooks: &'a [Box<dyn Hook>],
        vms: Vec<VmStatus>,
        dm: BTreeMap<String, DmMachine>,
        ca_ready: bool,
        boot_line: Option<String>,
    ) -> Schedule<'a> {
        let booting: BTreeSet<String> = if boot_line.is_some() {
            lab.machines
                .iter()
                .filter(|m| !vms.iter().any(|v| v.name == m.name && v.is_running()))
                .map(|m| m.name.clone())
                .collect()
        } else {
            BTreeSet::new()
        };
        let ssh_wanted = lab
            .machines
            .iter()
            .map(|m| m.name.clone())
            .filter(|m| !booting.contains(m))
            .collect();
        Schedule {
            lab,
            hooks,
            seen: Observed {
                vms,
                ca_ready,
                ..Observed::default()
            },
            booting,
            dm_before: dm,
            boot_running: false,
            boot_line: boot_line.unwrap_or_default(),
            ssh_wanted,
            ssh_busy: 0,
            deferred: Vec::new(),
            observed: BTreeSet::new(),
            admitted: BTreeMap::new(),
            added: Vec::new(),
            outstanding: 0,
        }
    }

    /// The first effects: the boot, and what can be asked at once.
    pub fn start(&mut self) -> Vec<Effect> {
        let mut effects = Vec::new();
        if !self.boot_line.is_empty() {
            for name in &self.booting {
                effects.push(Effect::Begin(name.clone(), "vagrant up".into()));
            }
            self.boot_running = true;
            self.outstanding += 1;
            effects.push(Effect::Boot);
        }
        self.next(&mut effects);
        effects
    }

    /// What to do after `event`.
    pub fn on(&mut self, event: Event) -> Vec<Effect> {
        let mut effects = Vec::new();
        self.handle(event, &mut effects);
        self.next(&mut effects);
        effects
    }

    /// Whether work is out whose event is still to come.
    pub fn waiting(&self) -> bool {
        self.outstanding > 0
    }

    pub fn into_seen(self) -> Observed {
        self.seen
    }

    /// At the end: the machines observed whose steps planned from others
    /// never came, each with why.
    pub fn left_out(&self) -> Vec<(String, String)> {
        self.lab
            .machines
            .iter()
            .filter(|m| {
                self.observed.contains(&m.name) && self.admitted.get(&m.name) != Some(&true)
            })
            .map(|m| {
                let needs = inputs(self.lab, m).join(", ");
                (
                    m.name.clone(),
                    format!("not run: it needs {needs}, which failed"),
                )
            })
            .collect()
    }

    fn next(&mut self, effects: &mut Vec<Effect>) {
        self.ask_ssh(effects);
        self.admit_ready(effects);
    }

    fn fail(
        &self,
        machines: &[String],
        action: String,
        error: anyhow::Error,
        effects: &mut Vec<Effect>,
    ) {
        effects.push(Effect::Fail {
            machines: machines.to_vec(),
            action,
            error,
        });
    }

    fn handle(&mut self, event: Event, effects: &mut Vec<Effect>) {
        match event {
            Event::Line(UpLine::Up(name)) if self.booting.contains(&name) => {
                for vm in self.seen.vms.iter_mut().filter(|v| v.name == name) {
                    vm.state = VmState::Running;
                }
                effects.push(Effect::Up(name.clone()));
                effects.push(Effect::Begin(name.clone(), "up".into()));
                self.ssh_wanted.push(name);
            }
            Event::Line(UpLine::Say {
                machine: Some(name),
                text,
            }) if self.booting.contains(&name) => {
                if let Some(last) = text.lines().rev().find(|l| !l.trim().is_empty()) {
                    effects.push(Effect::Progress(name, last.to_string()));
                }
            }
            Event::Line(_) => {}
            Event::Lost(why) => {
                self.outstanding -= 1;
                self.fail(
                    &["all machines".to_string()],
                    "internal task".into(),
                    anyhow::anyhow!("{why}"),
                    effects,
                );
            }
            Event::Booted(result) => {
                self.outstanding -= 1;
                self.boot_running = false;
                let not_up: Vec<String> = self
                    .booting
                    .iter()
                    .filter(|m| !self.seen.is_running(m))
                    .cloned()
                    .collect();
                match result {
                    Ok(()) => effects.push(Effect::BootDone),
                    Err(e) if !not_up.is_empty() => {
                        self.fail(&not_up, self.boot_line.clone(), e, effects);
                    }
                    Err(e) => self.fail(
                        &["all machines".to_string()],
                        self.boot_line.clone(),
                        e,
                        effects,
                    ),
                }
                self.ask_entries(effects);
            }
            Event::Ssh(names, result) => {
                self.outstanding -= 1;
                self.ssh_busy -= 1;
                match result {
                    Ok(mut found) => {
                        for name in names {
                            match found.remove(&name) {
                                Some(config) => {
                                    self.seen.ssh.insert(name.clone(), config);
                                    self.ready_to_observe(name, effects);
                                }
                                None => self.fail(
                                    std::slice::from_ref(&name),
                                    "vagrant ssh-config".into(),
                                    anyhow::anyhow!("Vagrant gave no SSH settings for {name}"),
                                    effects,
                                ),
                            }
                        }
                    }
                    Err(e) => self.fail(&names, "reading the SSH settings".into(), e, effects),
                }
            }
            Event::Entries(result) => {
                self.outstanding -= 1;
                let names = std::mem::take(&mut self.deferred);
                match result {
                    Ok(entries) => {
                        for name in names {
                            match entries.get(&name) {
                                Some(entry) => self.seen.dm.insert(name.clone(), entry.clone()),
                                None => self.seen.dm.remove(&name),
                            };
                            self.observe(name, effects);
                        }
                    }
                    Err(e) => self.fail(&names, "docker-machine ls".into(), e, effects),
                }
            }
            Event::Seen(name, result) => {
                self.outstanding -= 1;
                match *result {
                    Ok(mine) => {
                        self.merge(&name, mine);
                        self.observed.insert(name);
                    }
                    Err(e) => self.fail(&[name], "observing the machine".into(), e, effects),
                }
            }
        }
    }

    fn ask_ssh(&mut self, effects: &mut Vec<Effect>) {
        if let Some(names) = ssh_batch(self.lab, &mut self.ssh_wanted, self.ssh_busy) {
            self.ssh_busy += 1;
            self.outstanding += 1;
            effects.push(Effect::AskSsh(names));
        }
    }

    /// A machine with its SSH settings: observed now, or (a docker-machine
    /// entry from before its boot) once the boot is over and the entries
    /// are read again.
    fn ready_to_observe(&mut self, name: String, effects: &mut Vec<Effect>) {
        let entry_before = self.dm_before.get(&name).cloned();
        if self.booting.contains(&name) && entry_before.is_some() {
            self.deferred.push(name);
            self.ask_entries(effects);
            return;
        }
        if let Some(entry) = entry_before {
            self.seen.dm.insert(name.clone(), entry);
        }
        self.observe(name, effects);
    }

    fn ask_entries(&mut self, effects: &mut Vec<Effect>) {
        if self.deferred.is_empty() || self.boot_running {
            return;
        }
        self.outstanding += 1;
        effects.push(Effect::AskEntries);
    }

    /// The machine's address and engine, observed on its own.
    fn observe(&mut self, name: String, effects: &mut Vec<Effect>) {
        let mut mine = Observed {
            vms: self
                .seen
                .vms
                .iter()
                .filter(|v| v.name == name)
                .cloned()
                .collect(),
            ca_ready: self.seen.ca_ready,
            ..Observed::default()
        };
        if let Some(ssh) = self.seen.ssh.get(&name) {
            mine.ssh.insert(name.clone(), ssh.clone());
        }
        if let Some(entry) = self.seen.dm.get(&name) {
            mine.dm.insert(name.clone(), entry.clone());
        }
        self.outstanding += 1;
        effects.push(Effect::Begin(
            name.clone(),
            "reading its address and engine".into(),
        ));
        effects.push(Effect::Observe(name, Box::new(mine)));
    }

    fn merge(&mut self, name: &str, mine: Observed) {
        let seen = &mut self.seen;
        seen.ips.extend(mine.ips);
        seen.engines.extend(mine.engines);
        if name == self.lab.master().name {
            seen.nodes = mine.nodes;
            seen.network = mine.network;
        }
        if self.lab.consul_machine().is_some_and(|c| c.name == name) {
            seen.consul_container = mine.consul_container;
        }
    }

    /// Plans and adds the steps of every machine that, with the machines
    /// it needs, is observed now.
    fn admit_ready(&mut self, effects: &mut Vec<Effect>) {
        let mut take = BTreeMap::new();
        for m in &self.lab.machines {
            if !self.observed.contains(&m.name) || self.admitted.get(&m.name) == Some(&true) {
                continue;
            }
            let others_seen = inputs(self.lab, m)
                .iter()
                .all(|i| self.observed.contains(i));
            let split = planned_from_others(self.lab, m);
            let part = match (self.admitted.contains_key(&m.name), others_seen) {
                (false, true) => Part {
                    from: None,
                    before: None,
                },
                (false, false) => Part {
                    from: None,
                    before: split,
                },
                (true, true) => Part {
                    from: split,
                    before: None,
                },
                (true, false) => continue,
            };
            take.insert(m.name.clone(), (part, others_seen));
        }
        if take.is_empty() {
            return;
        }
        let plan = planner::create_hooks(self.lab, &self.seen, self.hooks);
        let parts = take.iter().map(|(m, (p, _))| (m.clone(), *p)).collect();
        let steps = admit(&plan, &parts, &self.added);
        self.added.extend(steps.iter().cloned());
        effects.push(Effect::Add(steps));
        for (name, (_, whole)) in take {
            if whole {
                effects.push(Effect::Settle(name.clone(), "nothing to do".into()));
            } else {
                let needs = self
                    .lab
                    .machine(&name)
                    .map(|m| inputs(self.lab, m))
                    .unwrap_or_default();
                effects.push(Effect::Waiting(name.clone(), needs));
            }
            self.admitted.insert(name, whole);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::graph;
    use crate::reconcile::plan::Action;
    use crate::tools::containers::ContainerState;
    use std::path::Path;

    fn parse(text: &str) -> Lab {
        crate::model::parse(Path::new("/nonexistent/lab.toml"), text).unwrap()
    }

    /// A fresh lab in which only `up` are up and observed so far.
    fn partly_up(lab: &Lab, up: &[&str]) -> Observed {
        let mut seen = crate::testdata::all_done(lab);
        seen.dm.clear();
        seen.consul_container = ContainerState::Unknown;
        seen.ips.retain(|m, _| up.contains(&m.as_str()));
        seen.ssh.retain(|m, _| up.contains(&m.as_str()));
        seen
    }

    const ALL: Part = Part {
        from: None,
        before: None,
    };

    fn names(list: &[&str]) -> BTreeMap<String, Part> {
        list.iter().map(|s| (s.to_string(), ALL)).collect()
    }

    #[test]
    fn a_machine_waits_only_for_the_machines_it_plans_from() {
        let classic = parse("box = \"x/y\"\n[swarm]\nnodes = 1\n");
        let of = |lab: &Lab, m: &str| inputs(lab, lab.machine(m).unwrap());
        assert!(of(&classic, "consul").is_empty());
        assert_eq!(of(&classic, "swarm-master"), ["consul"]);
        assert_eq!(of(&classic, "swarm-node01"), ["consul"]);
        let swarm =
            parse("box = \"x/y\"\nengine = \"native\"\nmode = \"swarm\"\n[swarm]\nnodes = 1\n");
        assert!(of(&swarm, "consul").is_empty());
        assert!(of(&swarm, "swarm-master").is_empty());
        assert_eq!(of(&swarm, "swarm-node01"), ["swarm-master"]);
    }

    #[test]
    fn the_machine_others_wait_for_is_asked_for_at_once_the_rest_together() {
        let lab = parse("box = \"x/y\"\n[swarm]\nnodes = 2\n");
        let mut wanted: Vec<String> = vec!["swarm-node01".into()];
        assert_eq!(ssh_batch(&lab, &mut wanted, 0).unwrap(), ["swarm-node01"]);
        // node01's call runs; node02 and consul come up.
        wanted.extend(["swarm-node02".to_string(), "consul".to_string()]);
        assert_eq!(ssh_batch(&lab, &mut wanted, 1).unwrap(), ["consul"]);
        assert_eq!(ssh_batch(&lab, &mut wanted, 2), None);
        assert_eq!(wanted, ["swarm-node02"]);
        wanted.push("swarm-master".into());
        assert_eq!(
            ssh_batch(&lab, &mut wanted, 0).unwrap(),
            ["swarm-node02", "swarm-master"]
        );
        assert!(wanted.is_empty());
    }

    #[test]
    fn consul_is_built_while_the_others_boot_and_their_creates_wait_for_its_service() {
        let lab = parse("box = \"x/y\"\n[swarm]\nnodes = 1\n");
        let hooks = crate::reconcile::hooks::standard();
        // consul is up; the master and the node still boot.
        let seen = partly_up(&lab, &["consul"]);
        let first = admit(
            &planner::create_hooks(&lab, &seen, &hooks),
            &names(&["consul"]),
            &[],
        );
        assert!(first.iter().all(|s| s.machine.as_deref() == Some("consul")));
        assert!(first[0]
            .action
            .to_string()
            .starts_with("docker-machine create -d generic --generic-ip-address 10.0.0.2 "));
        assert!(first
            .last()
            .unwrap()
            .action
            .to_string()
            .contains(" run -d --name consul"));
        // Then the other two are up: their steps name consul's real address.
        let seen = partly_up(&lab, &["consul", "swarm-master", "swarm-node01"]);
        let second = admit(
            &planner::create_hooks(&lab, &seen, &hooks),
            &names(&["swarm-master", "swarm-node01"]),
            &first,
        );
        assert!(second
            .iter()
            .all(|s| s.machine.as_deref() != Some("consul")));
        let all = Plan {
            steps: first.iter().chain(&second).cloned().collect(),
        };
        let waits = graph::waits_for(&all);
        let consul_run = first.len() - 1;
        for (i, step) in all.steps.iter().enumerate().skip(first.len()) {
            let shown = step.action.to_string();
            if shown.contains("--swarm-discovery") {
                assert!(shown.contains("consul://10.0.0.2:8500"), "{shown}");
                assert!(
                    waits[i].contains(&consul_run),
                    "{shown} waits for {:?}",
                    waits[i]
                );
            } else {
                // Docker's install needs no Consul: it starts at once.
                assert!(waits[i].is_empty(), "{shown} waits for {:?}", waits[i]);
            }
        }
    }

    #[test]
    fn a_node_installs_docker_before_consul_is_seen_and_registers_after() {
        let lab = parse("box = \"x/y\"\n[swarm]\nnodes = 1\n");
        let node = lab.machine("swarm-node01").unwrap();
        let split = planned_from_others(&lab, node);
        assert_eq!(split, Some(Stage::Swarm));
        let hooks = crate::reconcile::hooks::standard();
        let early = Part {
            from: None,
            before: split,
        };
        let seen = partly_up(&lab, &["swarm-node01"]);
        let plan = planner::create_hooks(&lab, &seen, &hooks);
        let first = admit(&plan, &[("swarm-node01".to_string(), early)].into(), &[]);
        assert_eq!(first.len(), 1, "{first:#?}");
        assert!(
            first[0].action.to_string().contains("curl -fsSL"),
            "{first:#?}"
        );
        let seen = partly_up(&lab, &["consul", "swarm-node01"]);
        let late = Part {
            from: split,
            before: None,
        };
        let plan = planner::create_hooks(&lab, &seen, &hooks);
        let second = admit(&plan, &[("swarm-node01".to_string(), late)].into(), &first);
        assert_eq!(second.len(), 1, "{second:#?}");
        assert!(
            second[0]
                .action
                .to_string()
                .contains("consul://10.0.0.2:8500"),
            "{second:#?}"
        );
        assert_eq!(
            planned_from_others(&lab, lab.machine("consul").unwrap()),
            None
        );
    }

    #[test]
    fn the_labs_ca_comes_with_the_first_machine_and_only_once() {
        let lab =
            parse("box = \"x/y\"\nengine = \"native\"\nmode = \"swarm\"\n[swarm]\nnodes = 1\n");
        let hooks = crate::reconcile::hooks::standard();
        let mut seen = partly_up(&lab, &["consul"]);
        seen.engines.clear();
        let first = admit(
            &planner::create_hooks(&lab, &seen, &hooks),
            &names(&["consul"]),
            &[],
        );
        assert!(
            matches!(first[0].action, Action::EnsureCa { .. }),
            "{first:#?}"
        );
        assert!(first[1..]
            .iter()
            .all(|s| s.machine.as_deref() == Some("consul")));
        let seen = partly_up(&lab, &["consul", "swarm-master"]);
        let second = admit(
            &planner::create_hooks(&lab, &seen, &hooks),
            &names(&["swarm-master"]),
            &first,
        );
        assert!(!second.is_empty());
        assert!(second
            .iter()
            .all(|s| s.machine.as_deref() == Some("swarm-master")));
    }

    /// The schedule's effects, as short words a test can compare.
    fn said(effects: &[Effect]) -> Vec<String> {
        effects
            .iter()
            .map(|e| match e {
                Effect::Boot => "boot".to_string(),
                Effect::Up(m) => format!("up {m}"),
                Effect::BootDone => "boot done".to_string(),
                Effect::AskSsh(names) => format!("ssh {}", names.join(",")),
                Effect::AskEntries => "entries".to_string(),
                Effect::Observe(m, _) => format!("observe {m}"),
                Effect::Add(steps) => format!("add {}", steps.len()),
                Effect::Begin(m, what) => format!("{m}: {what}"),
                Effect::Progress(m, line) => format!("{m}: ... {line}"),
                Effect::Waiting(m, needs) => format!("{m} waits for {}", needs.join(",")),
                Effect::Settle(m, outcome) => format!("{m}: {outcome}"),
                Effect::Fail {
                    machines, action, ..
                } => format!("failed {}: {action}", machines.join(",")),
            })
            .collect()
    }

    fn added(effects: &[Effect]) -> Vec<Step> {
        effects
            .iter()
            .flat_map(|e| match e {
                Effect::Add(steps) => steps.clone(),
                _ => Vec::new(),
            })
            .collect()
    }

    /// What Vagrant says of `names`: their SSH settings.
    fn ssh_of(lab: &Lab, names: &[&str]) -> Event {
        let all = crate::testdata::all_done(lab);
        Event::Ssh(
            names.iter().map(|n| n.to_string()).collect(),
            Ok(names
                .iter()
                .map(|n| (n.to_string(), all.ssh[*n].clone()))
                .collect()),
        )
    }

    /// A machine's own look: its address.
    fn seen_of(lab: &Lab, name: &str) -> Event {
        let all = crate::testdata::all_done(lab);
        let mine = Observed {
            ips: [(name.to_string(), all.ips[name])].into(),
            ..Observed::default()
        };
        Event::Seen(name.to_string(), Box::new(Ok(mine)))
    }

    fn booting<'a>(lab: &'a Lab, hooks: &'a [Box<dyn Hook>]) -> Schedule<'a> {
        let vms = crate::reconcile::observe::none_created(lab);
        Schedule::new(
            lab,
            hooks,
            vms,
            BTreeMap::new(),
            false,
            Some("vagrant up".into()),
        )
    }

    fn hooks() -> &'static [Box<dyn Hook>] {
        Box::leak(crate::reconcile::hooks::standard().into_boxed_slice())
    }

    fn up(name: &str) -> Event {
        Event::Line(UpLine::Up(name.to_string()))
    }

    #[test]
    fn each_machine_is_looked_at_as_it_comes_up_and_a_node_waits_only_for_consul() {
        let lab = parse("box = \"x/y\"\n[swarm]\nnodes = 1\n");
        let mut s = booting(&lab, hooks());
        assert_eq!(
            said(&s.start()),
            [
                "consul: vagrant up",
                "swarm-master: vagrant up",
                "swarm-node01: vagrant up",
                "boot"
            ]
        );
        // The node is up first: asked for alone, as nothing else is asked.
        assert_eq!(
            said(&s.on(up("swarm-node01"))),
            ["up swarm-node01", "swarm-node01: up", "ssh swarm-node01"]
        );
        // consul is asked for at once, beside the node's call.
        assert_eq!(
            said(&s.on(up("consul"))),
            ["up consul", "consul: up", "ssh consul"]
        );
        assert_eq!(
            said(&s.on(ssh_of(&lab, &["swarm-node01"]))),
            [
                "swarm-node01: reading its address and engine",
                "observe swarm-node01"
            ]
        );
        // Seen before consul: Docker's install only, and the node waits.
        let early = s.on(seen_of(&lab, "swarm-node01"));
        assert_eq!(said(&early), ["add 1", "swarm-node01 waits for consul"]);
        assert!(added(&early)[0].action.to_string().contains("curl -fsSL"));
        s.on(ssh_of(&lab, &["consul"]));
        let late = s.on(seen_of(&lab, "consul"));
        let steps = added(&late);
        assert!(steps
            .iter()
            .any(|s| s.machine.as_deref() == Some("swarm-node01")
                && s.action.to_string().contains("consul://10.0.0.2:8500")));
        assert!(said(&late).contains(&"swarm-node01: nothing to do".to_string()));
        // The master is still to come, and so is the boot's end.
        assert!(s.waiting());
        s.on(up("swarm-master"));
        s.on(ssh_of(&lab, &["swarm-master"]));
        s.on(seen_of(&lab, "swarm-master"));
        assert!(s.waiting(), "the boot has not ended");
        assert_eq!(said(&s.on(Event::Booted(Ok(())))), ["boot done"]);
        assert!(!s.waiting());
        assert!(s.left_out().is_empty());
    }

    #[test]
    fn a_machine_whose_look_failed_leaves_out_the_steps_planned_from_it() {
        let lab = parse("box = \"x/y\"\n[swarm]\nnodes = 1\n");
        let mut s = booting(&lab, hooks());
        s.start();
        s.on(up("swarm-node01"));
        s.on(up("consul"));
        s.on(ssh_of(&lab, &["swarm-node01"]));
        s.on(seen_of(&lab, "swarm-node01"));
        let failed = s.on(Event::Ssh(
            vec!["consul".into()],
            Err(anyhow::anyhow!("vagrant ssh-config: no such machine")),
        ));
        assert_eq!(said(&failed), ["failed consul: reading the SSH settings"]);
        assert_eq!(
            s.left_out(),
            [(
                "swarm-node01".to_string(),
                "not run: it needs consul, which failed".to_string()
            )]
        );
    }

    #[test]
    fn a_failed_boot_names_the_machines_that_did_not_come_up() {
        let lab = parse("box = \"x/y\"\n[swarm]\nnodes = 1\n");
        let mut s = booting(&lab, hooks());
        s.start();
        s.on(up("consul"));
        let effects = s.on(Event::Booted(Err(anyhow::anyhow!("out of memory"))));
        assert_eq!(
            said(&effects),
            ["failed swarm-master,swarm-node01: vagrant up"]
        );
    }

    #[test]
    fn machines_already_running_are_asked_for_together_without_a_boot() {
        let lab = parse("box = \"x/y\"\n[swarm]\nnodes = 1\n");
        let running = crate::testdata::all_done(&lab).vms;
        let mut s = Schedule::new(&lab, hooks(), running, BTreeMap::new(), false, None);
        // consul first (the others plan from it), then the rest at once.
        assert_eq!(said(&s.start()), ["ssh consul"]);
        assert_eq!(
            said(&s.on(ssh_of(&lab, &["consul"]))),
            [
                "consul: reading its address and engine",
                "observe consul",
                "ssh swarm-master,swarm-node01"
            ]
        );
    }
}
