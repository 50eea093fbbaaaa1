//! One file per subcommand; each takes a validated lab and does its job.

pub mod bake;
pub mod boxes;
pub mod check;
pub mod deploy;
pub mod destroy;
pub mod doctor;
pub mod dry_run;
pub mod env;
pub mod fault;
pub mod grade;
pub mod graph;
pub mod halt;
pub mod pack;
pub mod snapshot;
pub mod ssh;
pub mod status;
pub mod up;
pub mod verify;

use crate::cli::{Cli, Command};
use crate::model::{self, Lab};
use crate::session::Session;

/// Runs the parsed command line.
pub async fn run(cli: Cli, session: &Session) -> anyhow::Result<()> {
    if let Command::Completions(args) = &cli.command {
        // Needs no lab.toml: it is installed once, before any lab exists.
        let mut command = <Cli as clap::CommandFactory>::command();
        let mut script = Vec::new();
        clap_complete::generate(args.shell, &mut command, "lab", &mut script);
        crate::out!("{}", String::from_utf8_lossy(&script));
        return Ok(());
    }
    if let Command::Grade(args) = &cli.command {
        if !args.reports.is_empty() {
            // Students' own reports: no lab is involved.
            return grade::merge(args);
        }
    }
    if let Command::Status(args) = &cli.command {
        if args.all {
            return status::all(args, session).await;
        }
    }
    let lab = match model::load(&cli.file) {
        Ok(lab) => lab,
        // Taking a lab down, or looking at it, needs only its record.
        Err(e)
            if matches!(
                crate::error::find(&e),
                Some(crate::error::Error::ConfigMissing { .. })
            ) && matches!(
                cli.command,
                Command::Destroy(_) | Command::Status(_) | Command::Halt(_)
            ) =>
        {
            let Some(lab) = crate::host::record::lab_without_file(&cli.file) else {
                return Err(e);
            };
            crate::errln!(
                "warning: {} is gone; lab `{}` is known from its record, as the last `lab up` read it",
                cli.file.display(),
                lab.name
            );
            lab
        }
        Err(e) => return Err(e),
    };
    for warning in &lab.warnings {
        crate::errln!("warning: {warning}");
    }
    let uses_pack = match &cli.command {
        Command::Up(args) => !args.plan.dry_run,
        Command::Box(_) => true,
        _ => false,
    };
    if uses_pack {
        check_pack(&lab)?;
    }
    let lab = among_the_others(lab, &cli.command)?;
    // Machines the lab made stay its own until `up` retires them or
    // `destroy` takes the lab down: they are shown and halted too.
    let lab = match &cli.command {
        Command::Status(_) | Command::Halt(_) | Command::Graph(_) => with_recorded_machines(lab),
        _ => lab,
    };
    match cli.command {
        Command::Up(args) => up::run(&lab, &args, session).await,
        Command::Destroy(args) => destroy::run(&lab, &args, session).await,
        Command::Halt(args) => halt::run(&lab, &args, session).await,
        Command::Env(args) => env::run(&lab, &args, &cli.file, session).await,
        Command::Status(args) => status::run(&lab, &args, session).await,
        Command::Verify(args) => verify::run(&lab, &args, session).await,
        Command::Check(args) => check::run(&lab, &args, session).await,
        Command::Grade(args) => grade::run(&lab, &args, session).await,
        Command::Fault(command) => fault::run(&lab, &command, session).await,
        Command::Snapshot(command) => snapshot::run(&lab, &command, session).await,
        Command::Reset => snapshot::reset(&lab, session).await,
        Command::Ssh(args) => ssh::run(&lab, &args, session).await,
        Command::Graph(args) => graph::run(&lab, &args, session).await,
        Command::Doctor(args) => doctor::run(&lab, &args, session).await,
        Command::Deploy(args) => deploy::run(&lab, &args, session).await,
        Command::Pack(args) => pack::run(&lab, &args, session).await,
        Command::Box(crate::cli::BoxCommand::Add { profile }) => {
            boxes::add(&lab, profile.as_deref(), session).await
        }
        Command::Box(crate::cli::BoxCommand::Bake {
            profile,
            out,
            packages,
        }) => {
            bake::run(
                &lab,
                profile.as_deref(),
                out.as_deref(),
                packages.as_deref(),
                session,
            )
            .await
        }
        Command::Completions(_) => unreachable!("handled before lab.toml is read"),
        Command::Render => {
            crate::out!("{}", crate::host::render::vagrantfile(&lab)?);
            Ok(())
        }
    }
}

/// The lab settled among the host's other labs. `up` records it later,
/// under the list's lock; a list that cannot be read stops `up`, while the
/// other commands go on with a warning, `destroy` and `render` above all:
/// a broken list must not keep anyone from taking a lab down.
fn among_the_others(lab: Lab, command: &Command) -> anyhow::Result<Lab> {
    let strict = matches!(command, Command::Up(args) if !args.plan.dry_run);
    let entries = crate::host::registry::path().and_then(|path| crate::host::registry::load(&path));
    match entries {
        // A clash stops only what would make something: the other commands
        // must still reach the lab, to take it down above all.
        Ok(entries) if !matches!(command, Command::Up(_)) => {
            match crate::host::registry::settle(lab.clone(), &entries) {
                Ok(settled) => Ok(settled),
                Err(clash) => {
                    crate::errln!("warning: {clash}");
                    Ok(lab)
                }
            }
        }
        Ok(entries) => Ok(crate::host::registry::settle(lab, &entries)?),
        Err(e) if strict => Err(e),
        Err(e) => {
            crate::errln!("warning: {e:#}\nwarning: going on without the list of labs: the subnet shown may not be the one `lab up` picks");
            Ok(lab)
        }
    }
}

/// The lab with the machines its record has beside lab.toml's.
fn with_recorded_machines(lab: Lab) -> Lab {
    match crate::host::record::load(&lab.state_dir()) {
        Ok(Some(record)) if record.name == lab.name && !record.extras(&lab).is_empty() => {
            let mut wide = record.lab(&lab);
            // The subnet is the list's, as settled; the record's may be older.
            wide.subnet = lab.subnet;
            wide
        }
        _ => lab,
    }
}

/// For a command that changes a lab that may exist: a logging runner and
/// the lab's lock where its state directory is there; where it is not,
/// nothing of the lab exists, and a reader that writes nothing will do.
pub fn on_existing_lab(
    lab: &Lab,
    tools: &[crate::process::tool::Tool],
    verb: &str,
    session: &Session,
) -> anyhow::Result<(
    crate::process::runner::Runner,
    Option<crate::host::state::Lock>,
)> {
    if !lab.state_dir().exists() {
        return Ok((session.reader(tools)?, None));
    }
    let runner = session.runner(lab, tools)?;
    Ok((runner, Some(crate::host::state::lock(lab, verb)?)))
}

/// Writes `.lab/Vagrantfile` when it differs from what lab.toml renders.
pub fn write_vagrantfile(lab: &Lab) -> anyhow::Result<()> {
    let text = crate::host::render::vagrantfile(lab)?;
    let dir = lab.state_dir();
    let path = dir.join("Vagrantfile");
    if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
        crate::host::state::ensure(lab)?;
        crate::process::files::write_atomically(&path, text.as_bytes())?;
    }
    Ok(())
}

/// From a pack (`lab pack`): every packed file is what was packed, before
/// anything runs.
fn check_pack(lab: &crate::model::Lab) -> anyhow::Result<()> {
    let Some(manifest) = crate::host::pack::load(&lab.root)? else {
        return Ok(());
    };
    crate::host::pack::verify(&lab.root, &manifest, &lab.state_dir(), &|file| {
        crate::errln!("checking the pack: {file}");
    })?;
    Ok(())
}
