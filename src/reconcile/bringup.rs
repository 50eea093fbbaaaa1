//! `lab up` as one graph from boot to swarm, carried out: `vagrant up`
//! streams its machine-readable lines, each machine is observed as soon as
//! Vagrant says it is up, and its hooks' steps run as soon as the schedule
//! (`schedule.rs`, no I/O) admits them. This file is the loop that carries
//! out the schedule's effects and feeds their results back as events.

use std::collections::BTreeMap;

use tokio::sync::mpsc;

use crate::model::Lab;
use crate::process::runner::Runner;
use crate::reconcile::execute::{Executor, PlanFailed};
use crate::reconcile::hooks::Hook;
use crate::reconcile::observe;
use crate::reconcile::observed::Observed;
use crate::reconcile::own;
use crate::reconcile::plan::{Action, Step};
use crate::reconcile::schedule::{Effect, Event, Schedule};
use crate::tools::docker_machine::DmMachine;
use crate::tools::vagrant::{self, VmStatus};
use crate::ui::Ui;

/// In the state directory while a `vagrant up` that lab started runs.
pub const UNFINISHED: &str = "vagrant-up.unfinished";

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

pub async fn up(
    lab: &Lab,
    runner: &Runner,
    ui: &Ui,
    hooks: &[Box<dyn Hook>],
    start: Start,
    retry_hint: &'static str,
) -> Result<Done, PlanFailed> {
    let boot = start.boot.and_then(|step| match step.action {
        Action::Run { command } => Some(command),
        _ => None,
    });
    let mut schedule = Schedule::new(
        lab,
        hooks,
        start.vms,
        start.dm,
        crate::reconcile::driver::of(lab).ca_ready(lab),
        boot.as_ref().map(ToString::to_string),
    );
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut run = Run {
        lab,
        runner,
        tx,
        exec: Executor::new(runner, ui),
        boot,
        ups: BTreeMap::new(),
    };
    let mut effects = schedule.start();
    loop {
        for effect in effects.drain(..) {
            run.carry_out(effect);
        }
        if !schedule.waiting() && run.exec.is_idle() {
            break;
        }
        let event = tokio::select! {
            event = rx.recv() => event,
            _ = run.exec.next(), if !run.exec.is_idle() => None,
        };
        if let Some(event) = event {
            let event = match event {
                // Vagrant's ids are the lab's record of its machines.
                Event::Booted(result) => Event::Booted(result.and(own::note_vagrant_ids(lab))),
                other => other,
            };
            effects = schedule.on(event);
        }
    }
    for (name, why) in schedule.left_out() {
        run.exec.settle(&name, &why);
    }
    let steps = run.exec.steps().len();
    let timeline = super::timeline::report(run.exec.ran(), &run.ups, run.exec.elapsed());
    run.exec.finish(retry_hint)?;
    Ok(Done {
        seen: schedule.into_seen(),
        steps,
        timeline,
    })
}

/// What carries out the schedule's effects.
struct Run<'a> {
    lab: &'a Lab,
    runner: &'a Runner,
    tx: mpsc::UnboundedSender<Event>,
    exec: Executor<'a>,
    /// `vagrant up`, when machines boot.
    boot: Option<crate::process::process_builder::Cmd>,
    /// When each booting machine was up, since the run began.
    ups: BTreeMap<String, std::time::Duration>,
}

impl Run<'_> {
    fn carry_out(&mut self, effect: Effect) {
        match effect {
            Effect::Boot => self.boot(),
            Effect::Up(name) => {
                self.ups.insert(name, self.exec.elapsed());
            }
            Effect::BootDone => {
                let _ = std::fs::remove_file(self.lab.state_dir().join(UNFINISHED));
            }
            Effect::AskSsh(names) => {
                let (runner, lab) = (self.runner.clone(), self.lab.clone());
                self.spawn(async move {
                    let result = observe::ssh_configs_of(&runner, &lab, &names).await;
                    Event::Ssh(names, result)
                });
            }
            Effect::AskEntries => {
                let (lab, runner) = (self.lab.clone(), self.runner.clone());
                self.spawn(async move {
                    let record = crate::host::record::of(&lab);
                    let found = observe::docker_machines(&runner, &lab, &record)
                        .await
                        .map(|f| f.ours);
                    Event::Entries(found)
                });
            }
            Effect::Observe(name, mine) => self.observe(name, *mine),
            Effect::Add(steps) => self.exec.add(steps),
            Effect::Begin(name, what) => self.exec.bar(&name).begin(&what),
            Effect::Progress(name, line) => self.exec.bar(&name).progress(&line),
            Effect::Waiting(name, needs) => {
                if !self.exec.busy(&name) {
                    self.exec
                        .bar(&name)
                        .progress(&format!("waiting for {}", needs.join(", ")));
                }
            }
            Effect::Settle(name, outcome) => self.exec.settle(&name, &outcome),
            Effect::Fail {
                machines,
                action,
                error,
            } => {
                if machines.len() > 1 {
                    for name in &machines {
                        self.exec.settle(name, "failed");
                    }
                }
                self.exec.fail(&machines.join(", "), action, error);
            }
        }
    }

    /// Runs `work` beside the loop; its event comes back even if it
    /// panics, so that the loop never waits for an event that cannot come.
    fn spawn(&self, work: impl std::future::Future<Output = Event> + Send + 'static) {
        let tx = self.tx.clone();
        let inner = tokio::spawn(work);
        tokio::spawn(async move {
            let event = inner
                .await
                .unwrap_or_else(|panic| Event::Lost(format!("{panic}")));
            let _ = tx.send(event);
        });
    }

    /// Starts `vagrant up`, each of its lines an event as it comes; a mark
    /// in the state directory says it has not finished until it has.
    fn boot(&self) {
        let Some(command) = self.boot.clone() else {
            return;
        };
        let unfinished = self.lab.state_dir().join(UNFINISHED);
        if let Err(e) = std::fs::write(
            &unfinished,
            "a `vagrant up` started by lab has not finished\n",
        ) {
            let _ =
                self.tx.send(Event::Booted(Err(anyhow::Error::new(e)
                    .context(format!("could not write {}", unfinished.display())))));
            return;
        }
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

    /// The machine's address and engine, observed on its own.
    fn observe(&self, name: String, mut mine: Observed) {
        let lab = self.lab.clone();
        let runner = self.runner.clone();
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
}
