//! `lab up` as one graph from boot to swarm. `vagrant up` streams its
//! machine-readable lines; each machine is observed (SSH settings, private
//! address, its engine) as soon as Vagrant says it is up, and its hooks'
//! steps are planned and started as soon as it and the machines it needs
//! are observed, while the others still boot. consul's create does not wait
//! for the last node's boot, nor a node's for the other nodes'.

use std::collections::{BTreeMap, BTreeSet};

use tokio::sync::mpsc;

use crate::model::{Lab, Machine, Mode, Role};
use crate::process::runner::Runner;
use crate::reconcile::execute::{Executor, PlanFailed};
use crate::reconcile::hooks::Hook;
use crate::reconcile::observe;
use crate::reconcile::observed::Observed;
use crate::reconcile::plan::{Action, Plan, Stage, Step};
use crate::reconcile::{own, planner};
use crate::tools::docker_machine::DmMachine;
use crate::tools::vagrant::{self, SshConfig, UpLine, VmState, VmStatus};
use crate::ui::Ui;

/// In the state directory while a `vagrant up` that lab started runs.
pub const UNFINISHED: &str = "vagrant-up.unfinished";

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

/// Where `lab up` starts from.
pub struct Start {
    pub vms: Vec<VmStatus>,
    /// docker-machine's entries of the lab's machines, as found before
    /// anything booted (by `own::claim`).
    pub dm: BTreeMap<String, DmMachine>,
    /// `vagrant up`, when a machine is not running.
    pub boot: Option<Step>,
}

/// What a bring-up leaves: what it saw, and how many steps it ran.
pub struct Done {
    pub seen: Observed,
    pub steps: usize,
    /// Where the time went: phases, and the machine waited for last.
    pub timeline: super::timeline::Report,
}

enum Event {
    Line(UpLine),
    Booted(anyhow::Result<()>),
    Ssh(Vec<String>, anyhow::Result<BTreeMap<String, SshConfig>>),
    Entries(anyhow::Result<BTreeMap<String, DmMachine>>),
    Seen(String, Box<anyhow::Result<Observed>>),
    /// A task that panicked.
    Lost(String),
}

/// One `lab up` from boot to the last hook step.
struct Run<'a> {
    lab: &'a Lab,
    runner: &'a Runner,
    hooks: &'a [Box<dyn Hook>],
    tx: mpsc::UnboundedSender<Event>,
    exec: Executor<'a>,
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
    /// Background tasks that will still send their one last event.
    outstanding: usize,
    /// When each booting machine was up, since the run began.
    ups: BTreeMap<String, std::time::Duration>,
}

pub async fn up(
    lab: &Lab,
    runner: &Runner,
    ui: &Ui,
    hooks: &[Box<dyn Hook>],
    start: Start,
    retry_hint: &'static str,
) -> Result<Done, PlanFailed> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let booting: BTreeSet<String> = if start.boot.is_some() {
        lab.machines
            .iter()
            .filter(|m| !start.vms.iter().any(|v| v.name == m.name && v.is_running()))
            .map(|m| m.name.clone())
            .collect()
    } else {
        BTreeSet::new()
    };
    let mut run = Run {
        lab,
        runner,
        hooks,
        tx,
        exec: Executor::new(runner, ui),
        seen: Observed {
            vms: start.vms,
            ca_ready: crate::reconcile::driver::of(lab).ca_ready(lab),
            ..Observed::default()
        },
        booting,
        dm_before: start.dm,
        boot_running: false,
        boot_line: String::new(),
        ssh_wanted: Vec::new(),
        ssh_busy: 0,
        deferred: Vec::new(),
        observed: BTreeSet::new(),
        admitted: BTreeMap::new(),
        outstanding: 0,
        ups: BTreeMap::new(),
    };
    run.ssh_wanted = lab
        .machines
        .iter()
        .map(|m| m.name.clone())
        .filter(|m| !run.booting.contains(m))
        .collect();
    if let Some(boot) = start.boot {
        run.boot(boot);
    }
    loop {
        run.ask_ssh();
        run.admit_ready();
        if run.outstanding == 0 && run.exec.is_idle() {
            break;
        }
        let event = tokio::select! {
            event = rx.recv() => event,
            _ = run.exec.next(), if !run.exec.is_idle() => None,
        };
        if let Some(event) = event {
            run.handle(event);
        }
    }
    run.finish(retry_hint)
}

impl<'a> Run<'a> {
    /// Runs `work` beside the loop; its event comes back even if it
    /// panics, so that the loop never waits for an event that cannot come.
    fn spawn(&mut self, work: impl std::future::Future<Output = Event> + Send + 'static) {
        self.outstanding += 1;
        let tx = self.tx.clone();
        let inner = tokio::spawn(work);
        tokio::spawn(async move {
            let event = inner
                .await
                .unwrap_or_else(|panic| Event::Lost(format!("{panic}")));
            let _ = tx.send(event);
        });
    }

    /// Starts `vagrant up`, each of its lines an event as it comes.
    fn boot(&mut self, step: Step) {
        let Action::Run { command } = step.action else {
            return;
        };
        self.boot_line = command.to_string();
        let unfinished = self.lab.state_dir().join(UNFINISHED);
        if let Err(e) = std::fs::write(
            &unfinished,
            "a `vagrant up` started by lab has not finished\n",
        ) {
            self.exec
                .fail("all machines", command.to_string(), e.into());
            return;
        }
        for name in self.booting.clone() {
            self.exec.bar(&name).begin("vagrant up");
        }
        self.boot_running = true;
        let (runner, lines) = (self.runner.clone(), self.tx.clone());
        self.spawn(async move {
            let on_line = |line: &str| {
                let _ = lines.send(Event::Line(vagrant::up_line(line)));
            };
            let result = runner.run(&command, &on_line).await;
            Event::Booted(result.map(|_| ()).map_err(|e| match &e {
                crate::process::process_error::RunError::Failed { stdout, .. } => {
                    match vagrant::up_error(stdout) {
                        Some(said) => {
                            anyhow::anyhow!("`{command}` failed\n--- Vagrant said\n{said}")
                        }
                        None => e.into(),
                    }
                }
                _ => e.into(),
            }))
        });
    }

    fn ask_ssh(&mut self) {
        let Some(names) = ssh_batch(self.lab, &mut self.ssh_wanted, self.ssh_busy) else {
            return;
        };
        self.ssh_busy += 1;
        let (runner, lab) = (self.runner.clone(), self.lab.clone());
        self.spawn(async move {
            let result = observe::ssh_configs_of(&runner, &lab, &names).await;
            Event::Ssh(names, result)
        });
    }

    /// The machine's address and engine, observed on its own.
    fn observe(&mut self, name: String) {
        let lab = self.lab.clone();
        let runner = self.runner.clone();
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
        self.exec.bar(&name).begin("reading its address and engine");
        self.spawn(async move {
            let result = async {
                let ssh =
                    mine.ssh.get(&name).cloned().ok_or_else(|| {
                        anyhow::anyhow!("Vagrant gave no SSH settings for {name}")
                    })?;
                let ip = observe::address(&runner, &lab, &name, &ssh).await?;
                mine.ips.insert(name.clone(), ip);
                observe::engines_and_services(&runner, &lab, &mut mine).await?;
                Ok(mine)
            }
            .await;
            Event::Seen(name, Box::new(result))
        });
    }

    fn fail(&mut self, names: &[String], action: String, error: anyhow::Error) {
        let label = names.join(", ");
        for name in names {
            if names.len() > 1 {
                self.exec.settle(name, "failed");
            }
        }
        self.exec.fail(&label, action, error);
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Line(UpLine::Up(name)) if self.booting.contains(&name) => {
                self.ups.insert(name.clone(), self.exec.elapsed());
                for vm in self.seen.vms.iter_mut().filter(|v| v.name == name) {
                    vm.state = VmState::Running;
                }
                self.exec.bar(&name).begin("up");
                self.ssh_wanted.push(name);
            }
            Event::Line(UpLine::Say {
                machine: Some(name),
                text,
            }) if self.booting.contains(&name) => {
                if let Some(last) = text.lines().rev().find(|l| !l.trim().is_empty()) {
                    self.exec.bar(&name).progress(last);
                }
            }
            Event::Line(_) => {}
            Event::Lost(why) => {
                self.outstanding -= 1;
                self.exec.fail(
                    "all machines",
                    "internal task".into(),
                    anyhow::anyhow!("{why}"),
                );
            }
            Event::Booted(result) => {
                self.outstanding -= 1;
                self.boot_running = false;
                let noted = own::note_vagrant_ids(self.lab);
                let not_up: Vec<String> = self
                    .booting
                    .iter()
                    .filter(|m| !self.seen.is_running(m))
                    .cloned()
                    .collect();
                match result.and(noted) {
                    Ok(()) => {
                        let _ = std::fs::remove_file(self.lab.state_dir().join(UNFINISHED));
                    }
                    Err(e) if !not_up.is_empty() => self.fail(&not_up, self.boot_line.clone(), e),
                    Err(e) => self.fail(&["all machines".to_string()], self.boot_line.clone(), e),
                }
                self.ask_entries();
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
                                    self.ready_to_observe(name);
                                }
                                None => self.fail(
                                    std::slice::from_ref(&name),
                                    "vagrant ssh-config".into(),
                                    anyhow::anyhow!("Vagrant gave no SSH settings for {name}"),
                                ),
                            }
                        }
                    }
                    Err(e) => self.fail(&names, "reading the SSH settings".into(), e),
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
                            self.observe(name);
                        }
                    }
                    Err(e) => self.fail(&names, "docker-machine ls".into(), e),
                }
            }
            Event::Seen(name, result) => {
                self.outstanding -= 1;
                match *result {
                    Ok(mine) => {
                        self.merge(&name, mine);
                        self.observed.insert(name);
                    }
                    Err(e) => self.fail(&[name], "observing the machine".into(), e),
                }
            }
        }
    }

    /// A machine with its SSH settings: observed now, or (a docker-machine
    /// entry from before its boot) once the boot is over and the entries
    /// are read again.
    fn ready_to_observe(&mut self, name: String) {
        let entry_before = self.dm_before.get(&name).cloned();
        if self.booting.contains(&name) && entry_before.is_some() {
            self.deferred.push(name);
            if !self.boot_running {
                self.ask_entries();
            }
            return;
        }
        if let Some(entry) = entry_before {
            self.seen.dm.insert(name.clone(), entry);
        }
        self.observe(name);
    }

    fn ask_entries(&mut self) {
        if self.deferred.is_empty() || self.boot_running {
            return;
        }
        let (lab, runner) = (self.lab.clone(), self.runner.clone());
        self.spawn(async move {
            let record = crate::host::record::of(&lab);
            let found = observe::docker_machines(&runner, &lab, &record)
                .await
                .map(|f| f.ours);
            Event::Entries(found)
        });
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

    /// Plans and starts the steps of every machine that, with the machines
    /// it needs, is observed now.
    fn admit_ready(&mut self) {
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
        let steps = admit(&plan, &parts, self.exec.steps());
        self.exec.add(steps);
        for (name, (_, whole)) in take {
            if whole {
                self.exec.settle(&name, "nothing to do");
            } else if !self.exec.busy(&name) {
                let needs = inputs(self.lab, self.lab.machine(&name).expect("a lab machine"));
                self.exec
                    .bar(&name)
                    .progress(&format!("waiting for {}", needs.join(", ")));
            }
            self.admitted.insert(name, whole);
        }
    }

    fn finish(mut self, retry_hint: &'static str) -> Result<Done, PlanFailed> {
        for m in &self.lab.machines {
            if self.observed.contains(&m.name) && self.admitted.get(&m.name) != Some(&true) {
                let needs = inputs(self.lab, m).join(", ");
                self.exec
                    .settle(&m.name, &format!("not run: it needs {needs}, which failed"));
            }
        }
        let steps = self.exec.steps().len();
        let timeline = super::timeline::report(self.exec.ran(), &self.ups, self.exec.elapsed());
        self.exec.finish(retry_hint)?;
        Ok(Done {
            seen: self.seen,
            steps,
            timeline,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::graph;
    use crate::reconcile::observed::ContainerState;
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
}
