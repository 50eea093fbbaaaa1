//! `lab up`, as named phases: prepare (checks, lock, the lab's place among
//! the others and its record, the Vagrantfile), repair (what an
//! interrupted run left), machines (`vagrant up`), converge (engines,
//! services, swarm: the hooks' plan, until the engines show nothing more).

use crate::cli::UpArgs;
use crate::host::state::Lock;
use crate::model::Lab;
use crate::process::runner::Runner;
use crate::process::tool::Tool;
use crate::reconcile::execute::execute;
use crate::reconcile::hooks::{self, Hook};
use crate::reconcile::observe;
use crate::reconcile::observed::Observed;
use crate::reconcile::plan::Plan;
use crate::reconcile::{bringup, own, planner};
use crate::session::Session;
use crate::tools::docker_machine::DmMachine;
use crate::tools::vagrant::VmStatus;
use crate::ui::Ui;
use std::collections::BTreeMap;

const RETRY: &str =
    "fix the cause and run `lab up` again: it keeps what is done and redoes only what is missing";

/// `lab up` without doctor's checks, as a step of another command: after a
/// restore or a cleared fault, it brings back what is stopped and mends
/// addresses, certificates and the swarm.
pub async fn mend(lab: &Lab, session: &Session) -> anyhow::Result<()> {
    let args = UpArgs {
        skip_doctor: true,
        ..UpArgs::default()
    };
    run(lab, &args, session).await
}

pub async fn run(lab: &Lab, args: &UpArgs, session: &Session) -> anyhow::Result<()> {
    let mut lab = lab.clone();
    lab.one_by_one = args.no_parallel;
    let lab = &lab;
    if args.plan.dry_run {
        let mut plan = Plan::default();
        let record = crate::host::record::of(lab);
        let extras = record.extras(lab);
        if !extras.is_empty() {
            let wide = record.lab(lab);
            let seen = super::dry_run::look(&wide, session).await;
            plan = planner::retire(&wide, &seen, &extras, &hooks::standard());
        }
        plan.extend(super::dry_run::plan(lab, planner::up, session).await);
        return super::dry_run::show(&plan, args.plan.json);
    }
    let (up, _lock) = Up::prepare(lab, args, session).await?;
    let vms = up.repair().await?;
    // A swarm whose every machine this run made has no node entry from
    // before it: nothing stale for a last look to find.
    let fresh = vms.iter().all(|v| !v.is_created());
    let seen = up.bring_up(vms).await?;
    up.finish(seen, fresh).await?;
    let has_reset_point = crate::host::record::of(lab)
        .snapshots
        .iter()
        .any(|s| s.name == crate::reconcile::checkpoint::AFTER_UP);
    if lab.snapshot_after_up && !has_reset_point {
        // What `lab reset` goes back to. The lab is up without it: a failed
        // snapshot is a warning, not a failed `up`.
        if let Err(e) = crate::reconcile::checkpoint::save(
            &up.runner,
            lab,
            crate::reconcile::checkpoint::AFTER_UP,
            &up.ui,
        )
        .await
        {
            up.ui.warn(&format!(
                "warning: the lab is up, but its `{}` snapshot for `lab reset` failed: {e:#}\nhint: `lab snapshot save {}` tries again; `[snapshots] after_up = false` in lab.toml stops it",
                crate::reconcile::checkpoint::AFTER_UP,
                crate::reconcile::checkpoint::AFTER_UP
            ));
        }
    }
    up.ui.say(&format!(
        "the lab is up. Point Docker at the swarm with: eval \"$(lab env {})\"",
        up.lab.master().name
    ));
    Ok(())
}

/// The host's networks (routes, Docker's, VirtualBox's host-only ones),
/// which a lab without a subnet of its own keeps clear of.
async fn host_networks(lab: &Lab, session: &Session) -> Vec<crate::model::Subnet> {
    if lab.subnet_configured {
        return Vec::new();
    }
    let (tools, _) = crate::process::tool::Tools::available(&[Tool::Docker, Tool::VBoxManage]);
    let runner = session.runner_with(tools.clone());
    crate::host::networks::in_use(&runner, &tools, lab.provider).await
}

/// The machines the lab made that lab.toml no longer lists go, once the
/// user says so (a terminal's answer, or `--yes`); the record forgets
/// those never made. Without either, `up` stops before it changes them.
async fn retire(lab: &Lab, runner: &Runner, ui: &Ui, yes: bool) -> anyhow::Result<()> {
    let record = crate::host::record::of(lab);
    let extras = record.extras(lab);
    if extras.is_empty() {
        return Ok(());
    }
    let wide = record.lab(lab);
    // Vagrant sees a machine only in a Vagrantfile that lists it.
    super::write_vagrantfile(&wide)?;
    let seen = observe::for_destroy(runner, &wide).await?;
    let plan = planner::retire(&wide, &seen, &extras, &hooks::standard());
    let made: Vec<String> = seen
        .vms
        .iter()
        .filter(|v| extras.contains(&v.name) && v.is_created())
        .map(|v| format!("{} ({})", v.name, v.state.as_str().replace('_', " ")))
        .collect();
    if !made.is_empty() && !yes {
        let question = format!(
            "lab.toml no longer lists {}, which this lab made; remove {}?",
            made.join(", "),
            if made.len() == 1 { "it" } else { "them" }
        );
        if !crate::ui::confirm(&question) {
            return Err(crate::error::Error::Invalid(format!(
                    "{question} Not without a yes: nothing was changed\nhint: `lab up --yes` removes them (a script's way), or put them back in {}; `lab destroy` takes the whole lab down",
                    lab.file.display()
                ))
            .into());
        }
    }
    ui.say(&format!(
        "retiring what lab.toml no longer lists: {}",
        extras.join(", ")
    ));
    execute(&plan, runner, ui, RETRY).await?;
    Ok(())
}

/// VBoxManage, where a VirtualBox lab's host has it: `up` asks it which VMs
/// bear the lab's names.
fn vbox_runner(lab: &Lab, session: &Session) -> Option<Runner> {
    if lab.provider != crate::model::Provider::Virtualbox {
        return None;
    }
    let (tools, _) = crate::process::tool::Tools::available(&[Tool::VBoxManage]);
    tools
        .has(Tool::VBoxManage)
        .then(|| session.runner_with(tools))
}

/// What the phases of one `lab up` share.
struct Up {
    lab: Lab,
    runner: Runner,
    ui: Ui,
    hooks: Vec<Box<dyn Hook>>,
    /// docker-machine's entries of the lab's own, before anything booted.
    entries: BTreeMap<String, DmMachine>,
}

impl Up {
    /// doctor's checks, the lab's lock, its place on the host (registry:
    /// names and subnet), its record of what it owns, the Vagrantfile.
    async fn prepare(lab: &Lab, args: &UpArgs, session: &Session) -> anyhow::Result<(Up, Lock)> {
        let ui = session.ui();
        if !args.skip_doctor {
            super::doctor::preflight(lab, &ui, session).await?;
        }
        let runner = session.runner(lab, &crate::reconcile::driver::of(lab).tools())?;
        let lock = crate::host::state::lock(lab, "up")?;
        own::not_renamed(lab)?;
        let avoid = host_networks(lab, session).await;
        let registry = crate::host::registry::path()?;
        let lab = crate::host::registry::claim(&registry, lab.clone(), &avoid)?;
        let vbox = vbox_runner(&lab, session);
        let entries = own::claim(&runner, vbox.as_ref(), &lab, &ui).await?;
        crate::host::registry::note_id(&registry, &lab, &crate::host::record::of(&lab).id)?;
        retire(&lab, &runner, &ui, args.yes).await?;
        super::write_vagrantfile(&lab)?;
        let up = Up {
            lab,
            runner,
            ui,
            hooks: hooks::standard(),
            entries,
        };
        Ok((up, lock))
    }

    /// A `vagrant up` that was stopped half-way can leave a machine running
    /// without its private network: it is halted, so that `vagrant up`
    /// starts it again and connects it. Returns Vagrant's machines.
    async fn repair(&self) -> anyhow::Result<Vec<VmStatus>> {
        let (lab, runner) = (&self.lab, &self.runner);
        let vms = observe::vms(runner, lab).await?;
        if !lab.state_dir().join(bringup::UNFINISHED).exists() {
            return Ok(vms);
        }
        let seen = Observed {
            vms,
            ..Observed::default()
        };
        let half_made = own::half_made_machines(runner, lab, &seen).await?;
        if half_made.is_empty() {
            return Ok(seen.vms);
        }
        self.ui.say(&format!(
            "the last `vagrant up` was stopped half-way; {} lack their private network",
            half_made.join(", ")
        ));
        execute(&planner::halt(lab, &half_made), runner, &self.ui, RETRY).await?;
        observe::vms(runner, lab).await
    }

    /// `vagrant up` for what is not running (with the box or image from
    /// its local copy, and what Vagrant lost track of removed first), and
    /// each machine's steps as soon as it and what it needs are up.
    async fn bring_up(&self, vms: Vec<VmStatus>) -> anyhow::Result<bringup::Done> {
        let (lab, runner) = (&self.lab, &self.runner);
        let mut seen = Observed {
            vms,
            ..Observed::default()
        };
        if lab.machines.iter().any(|m| !seen.is_running(&m.name)) {
            observe::box_or_image(runner, lab, &mut seen).await?;
            let record = crate::host::record::of(lab);
            seen.host_containers = observe::host_containers(runner, lab, &record).await?.ours;
        }
        let mut before = planner::machines_up(lab, &seen);
        // `vagrant up` comes last; what comes before it clears its way.
        let boot = before.steps.pop();
        execute(&before, runner, &self.ui, RETRY).await?;
        let start = bringup::Start {
            vms: seen.vms,
            dm: self.entries.clone(),
            boot,
        };
        Ok(bringup::up(lab, runner, &self.ui, &self.hooks, start, RETRY).await?)
    }

    /// What the engines this run set up show now is finished (a node's
    /// stale swarm entry, say).
    async fn finish(&self, done: bringup::Done, fresh: bool) -> anyhow::Result<()> {
        let (lab, runner) = (&self.lab, &self.runner);
        let mut seen = done.seen;
        if done.steps == 0 {
            self.ui
                .say("every engine, service and swarm member is in place: nothing to do");
        } else if lab.mode == crate::model::Mode::Swarm && !fresh {
            // A swarm's manager is planned before every node is seen; its
            // view after the joins shows what is left (a stale entry of a
            // node that was there before and joined again).
            for _ in 0..2 {
                observe::engines_again(runner, lab, &mut seen).await?;
                let more = planner::create_hooks(lab, &seen, &self.hooks);
                if more.is_empty() {
                    break;
                }
                self.ui.say("finishing what the new engines show");
                execute(&more, runner, &self.ui, RETRY).await?;
            }
        }
        if done.steps > 0 {
            self.ui.say(&done.timeline.line());
        }
        Ok(())
    }
}
