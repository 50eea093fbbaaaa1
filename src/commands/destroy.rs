//! `lab destroy`: unregister, destroy the machines, forget the state.

use std::time::Duration;

use crate::cli::PlanArgs;
use crate::config::{EngineDriver, Lab};
use crate::execute::execute;
use crate::hooks;
use crate::observe::{self, Observed};
use crate::plan;
use crate::runner::Tool;
use crate::ui::Ui;

const RETRY: &str = "fix the cause and run `lab destroy` again: it skips what is already gone";

pub async fn run(
    lab: &Lab,
    args: &PlanArgs,
    quiet: bool,
    timeout: Option<Duration>,
) -> anyhow::Result<()> {
    if args.dry_run {
        return super::dry_run::print(lab, args.json, plan::destroy).await;
    }
    let hooks = hooks::standard();
    let mut tools = vec![Tool::Vagrant];
    if lab.provider == crate::config::Provider::Docker {
        tools.push(Tool::Docker);
    }
    if lab.engine == EngineDriver::DockerMachine {
        tools.push(Tool::DockerMachine);
    }
    let runner = if lab.state_dir().exists() {
        super::runner(lab, &tools, timeout)?
    } else {
        super::reader(&tools)?
    };
    let ui = Ui::new(quiet);
    let _lock = if lab.state_dir().exists() {
        Some(crate::state::lock(lab, "destroy")?)
    } else {
        None
    };
    let mut seen = Observed {
        vms: observe::vms(&runner, lab).await?,
        ..Observed::default()
    };
    if lab.engine == EngineDriver::DockerMachine {
        seen.dm = observe::docker_machines(&runner, lab).await?;
    }
    seen.host_containers = observe::host_containers(&runner, lab).await?;
    let plan = plan::destroy(lab, &seen, &hooks);
    if plan.is_empty() {
        crate::registry::unregister(&crate::registry::path(), lab)?;
        ui.say(
            "nothing to destroy: no machine, docker-machine entry, certificate or .lab state of this lab exists",
        );
        return Ok(());
    }
    execute(&plan, &runner, &ui, RETRY).await?;
    crate::registry::unregister(&crate::registry::path(), lab)?;
    ui.say("the lab is gone");
    Ok(())
}
