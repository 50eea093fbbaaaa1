//! `lab up`, as named phases: prepare (checks, lock, the lab's place among
//! the others and its record, the Vagrantfile), repair (what an
//! interrupted run left), machines (`vagrant up`), converge (engines,
//! services, swarm: the hooks' plan, until the engines show nothing more).

use crate::cli::UpArgs;
use crate::host::state::Lock;
use crate::model::Lab;
use crate::process::runner::{Runner, Tool};
use crate::reconcile::execute::execute;
use crate::reconcile::hooks::{self, Hook};
use crate::reconcile::observe::{self, Observed};
use crate::reconcile::{own, plan, planner};
use crate::session::Session;
use crate::tools::vagrant::{VmState, VmStatus};
use crate::ui::Ui;

/// In the state directory while a `vagrant up` that lab started runs.
const UNFINISHED: &str = "vagrant-up.unfinished";

const RETRY: &str =
    "fix the cause and run `lab up` again: it keeps what is done and redoes only what is missing";

pub async fn run(lab: &Lab, args: &UpArgs, session: &Session) -> anyhow::Result<()> {
    if args.plan.dry_run {
        return super::dry_run::print(lab, args.plan.json, planner::up, session).await;
    }
    let (up, _lock) = Up::prepare(lab, args, session).await?;
    let vms = up.repair().await?;
    let vms = up.machines(vms).await?;
    up.converge(vms).await?;
    up.ui.say(&format!(
        "the lab is up. Point Docker at the swarm with: eval \"$(lab env {})\"",
        up.lab.master().name
    ));
    Ok(())
}

/// VirtualBox's host-only networks, which a lab without a subnet of its own
/// keeps clear of (when VirtualBox is there to ask).
async fn host_networks(lab: &Lab, session: &Session) -> Vec<crate::model::Subnet> {
    if lab.provider != crate::model::Provider::Virtualbox || lab.subnet_configured {
        return Vec::new();
    }
    let Ok(runner) = session.reader(&[Tool::VBoxManage]) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for cmd in crate::tools::vbox::list_hostonly() {
        if let Ok(out) = runner.quiet(&cmd).await {
            found.extend(crate::tools::vbox::parse_hostonly(&out.stdout));
        }
    }
    found
}

/// What the phases of one `lab up` share.
struct Up {
    lab: Lab,
    runner: Runner,
    ui: Ui,
    hooks: Vec<Box<dyn Hook>>,
}

impl Up {
    /// doctor's checks, the lab's lock, its place on the host (registry:
    /// names and subnet), its record of what it owns, the Vagrantfile.
    async fn prepare(lab: &Lab, args: &UpArgs, session: &Session) -> anyhow::Result<(Up, Lock)> {
        let ui = session.ui();
        if !args.skip_doctor {
            super::doctor::preflight(lab, &ui, session).await?;
        }
        let runner = session.runner(lab, &Tool::needed_by(lab))?;
        let lock = crate::host::state::lock(lab, "up")?;
        own::not_renamed(lab)?;
        let avoid = host_networks(lab, session).await;
        let lab =
            crate::host::registry::claim(&crate::host::registry::path()?, lab.clone(), &avoid)?;
        own::claim(&runner, &lab, &ui).await?;
        super::write_vagrantfile(&lab)?;
        let up = Up {
            lab,
            runner,
            ui,
            hooks: hooks::standard(),
        };
        Ok((up, lock))
    }

    /// A `vagrant up` that was stopped half-way can leave a machine running
    /// without its private network: it is halted, so that `vagrant up`
    /// starts it again and connects it. Returns Vagrant's machines.
    async fn repair(&self) -> anyhow::Result<Vec<VmStatus>> {
        let (lab, runner) = (&self.lab, &self.runner);
        let vms = observe::vms(runner, lab).await?;
        if !lab.state_dir().join(UNFINISHED).exists() {
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
        execute(&plan::halt(lab, &half_made), runner, &self.ui, RETRY).await?;
        observe::vms(runner, lab).await
    }

    /// `vagrant up` for what is not running (with the box or image from
    /// its local copy, and what Vagrant lost track of removed first).
    async fn machines(&self, vms: Vec<VmStatus>) -> anyhow::Result<Vec<VmStatus>> {
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
        let machines_up = plan::machines_up(lab, &seen);
        if machines_up.is_empty() {
            return Ok(seen.vms);
        }
        let unfinished = lab.state_dir().join(UNFINISHED);
        std::fs::write(
            &unfinished,
            "a `vagrant up` started by lab has not finished\n",
        )?;
        let result = execute(&machines_up, runner, &self.ui, RETRY).await;
        own::note_vagrant_ids(lab)?;
        result?;
        let _ = std::fs::remove_file(&unfinished);
        // `vagrant up` succeeded, so every machine is running now: Vagrant
        // is not asked again (a Ruby start-up costs seconds).
        for vm in &mut seen.vms {
            vm.state = VmState::Running;
        }
        Ok(seen.vms)
    }

    /// The hooks' plan from what is there, executed; then the engines this
    /// run set up are asked, and what they show is finished (a node's stale
    /// swarm entry, say).
    async fn converge(&self, vms: Vec<VmStatus>) -> anyhow::Result<()> {
        let (lab, runner) = (&self.lab, &self.runner);
        self.ui
            .say("reading SSH settings, private addresses and the engines' state");
        let mut seen = observe::everything(runner, lab, vms).await?;
        let plan = planner::create_hooks(lab, &seen, &self.hooks);
        if plan.is_empty() {
            self.ui
                .say("every engine, service and swarm member is in place: nothing to do");
        }
        execute(&plan, runner, &self.ui, RETRY).await?;
        for _ in 0..2 {
            if plan.is_empty() {
                break;
            }
            observe::engines_again(runner, lab, &mut seen).await?;
            let more = planner::create_hooks(lab, &seen, &self.hooks);
            if more.is_empty() {
                break;
            }
            self.ui.say("finishing what the new engines show");
            execute(&more, runner, &self.ui, RETRY).await?;
        }
        own::note_addresses(lab, &seen)
    }
}
