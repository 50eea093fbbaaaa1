//! `lab graph`: a picture of the lab (see [`crate::view`]), looked at the
//! way `lab status` looks (read-only), plus the swarm's services, their
//! running tasks and its overlay networks, asked of the manager.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;

use crate::cli::{GraphArgs, GraphFormat};
use crate::model::{Lab, Mode};
use crate::process::runner::Runner;
use crate::reconcile::observe;
use crate::reconcile::observed::Observed;
use crate::session::Session;
use crate::tools::swarm;
use crate::view::{self, MachineView, Picture, TaskView};

pub async fn run(lab: &Lab, args: &GraphArgs, session: &Session) -> anyhow::Result<()> {
    let runner = session.reader(&crate::reconcile::driver::of(lab).tools())?;
    let target = target(lab, args)?;
    if args.watch {
        let Some(file) = target else {
            anyhow::bail!(crate::error::Error::Usage(
                "--watch rewrites a file: give one with -o FILE (not -o -)".into()
            ));
        };
        return watch(lab, args, &runner, &file).await;
    }
    let picture = look(&runner, lab).await?;
    let text = draw(&picture, args.format, None)?;
    match target {
        None => crate::out!("{text}"),
        Some(file) => {
            write(&file, &text)?;
            crate::outln!("{}", file.display());
            if args.open {
                open(&file)?;
            }
        }
    }
    Ok(())
}

/// Where the drawing goes: the file -o names, stdout for `-o -`; without
/// -o, the page to the lab's folder (`.lab/graph.html`), text to stdout.
fn target(lab: &Lab, args: &GraphArgs) -> anyhow::Result<Option<PathBuf>> {
    match &args.output {
        Some(p) if p.as_os_str() == "-" => {
            if args.open {
                anyhow::bail!(crate::error::Error::Usage(
                    "--open opens a file: leave out -o -, or give -o FILE".into()
                ));
            }
            Ok(None)
        }
        Some(p) => Ok(Some(p.clone())),
        None if args.format == GraphFormat::Html || args.watch || args.open => {
            let dir = lab.state_dir();
            crate::process::files::private_dir(&dir)?;
            let ext = args.format.extension();
            // Absolute, for a person to open from wherever they are.
            let file = dir.join(format!("graph.{ext}"));
            Ok(Some(std::path::absolute(&file).unwrap_or(file)))
        }
        None => Ok(None),
    }
}

fn draw(p: &Picture, format: GraphFormat, refresh: Option<u64>) -> anyhow::Result<String> {
    Ok(match format {
        GraphFormat::Html => view::html::html(p, refresh)?,
        GraphFormat::Svg => view::svg::svg(p),
        GraphFormat::Dot => view::dot(p),
        GraphFormat::Mermaid => view::mermaid(p),
        GraphFormat::Json => serde_json::to_string_pretty(p)? + "\n",
    })
}

/// The page is read by a browser, maybe another user's: not private.
fn write(file: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.is_dir() {
            anyhow::bail!(
                "cannot write {}: the folder {} does not exist",
                file.display(),
                dir.display()
            );
        }
    }
    crate::process::files::write_whole(file, text.as_bytes(), false)
}

/// Draws again every `--interval` seconds until Ctrl-C, each time
/// replacing the file whole; the page reloads itself as often.
async fn watch(lab: &Lab, args: &GraphArgs, runner: &Runner, file: &Path) -> anyhow::Result<()> {
    crate::process::children::end_by_interrupt();
    let every = args.interval.max(1);
    let mut first = true;
    while !crate::process::children::interrupted() {
        match look(runner, lab).await {
            Ok(picture) => {
                write(file, &draw(&picture, args.format, Some(every))?)?;
                crate::errln!(
                    "{}: drawn at {}: {} machines, {} tasks{}",
                    file.display(),
                    picture.drawn_at,
                    picture.machines.len(),
                    picture.task_count(),
                    picture
                        .problem
                        .as_ref()
                        .map(|p| format!(" ({p})"))
                        .unwrap_or_default()
                );
                if first {
                    crate::outln!("{}", file.display());
                    if args.open {
                        open(file)?;
                    }
                    first = false;
                }
            }
            Err(e) if crate::process::children::interrupted() => {
                let _ = e;
                break;
            }
            Err(e) => crate::errln!("lab graph: could not look at the lab: {e:#} (trying again)"),
        }
        let until = std::time::Instant::now() + Duration::from_secs(every);
        while std::time::Instant::now() < until && !crate::process::children::interrupted() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    crate::errln!("lab graph: stopped watching; {} stays", file.display());
    Ok(())
}

/// The lab as it is now.
pub async fn look(runner: &Runner, lab: &Lab) -> anyhow::Result<Picture> {
    let (seen, ips, problem) = observe::read_only(runner, lab).await?;
    let faults = crate::host::record::of(lab).faults;
    let mut picture = Picture {
        schema: crate::model::schema::GRAPH,
        lab: lab.name.clone(),
        drawn_at: crate::model::time::rfc3339(std::time::SystemTime::now()),
        subnet: lab.subnet.to_string(),
        problem,
        ..Picture::default()
    };
    for m in &lab.machines {
        let row = super::status::row(lab, &seen, ips.get(&m.name), m);
        picture.machines.push(MachineView {
            name: row.machine,
            role: row.role.to_string(),
            address: row.ip.map(|ip| ip.to_string()),
            vagrant: row.vagrant,
            engine: row.engine,
            node: row.swarm,
            faults: faults
                .iter()
                .filter(|f| f.machine == m.name)
                .map(|f| format!("{}: {}", f.kind, f.detail))
                .collect(),
            tasks: Vec::new(),
        });
    }
    // Only a manager that answers is asked: the picture already shows
    // one that is not running or whose engine does not answer.
    let manager_answers = picture
        .machines
        .iter()
        .any(|m| m.name == lab.master().name && m.address.is_some() && m.engine == "Running");
    if lab.mode == Mode::Swarm && picture.problem.is_none() && manager_answers {
        if let Err(e) = swarm_view(runner, lab, &seen, &mut picture).await {
            picture.problem = Some(format!("the swarm's services: {e:#}"));
        }
    }
    picture.settle();
    Ok(picture)
}

/// The manager's services, their running tasks placed on their nodes,
/// and the overlay networks.
async fn swarm_view(
    runner: &Runner,
    lab: &Lab,
    seen: &Observed,
    picture: &mut Picture,
) -> anyhow::Result<()> {
    let manager = observe::engine_of(lab, seen, &lab.master().name);
    let on = |args: Vec<String>| {
        let manager = &manager;
        async move {
            let cmd = manager.docker(runner, &args).await?;
            anyhow::Ok(runner.quiet(&cmd).await?.stdout)
        }
    };
    let (services, networks) =
        tokio::join!(on(swarm::service_ls_args()), on(swarm::overlay_ls_args()));
    picture.overlays = swarm::parse_overlays(&networks.context("listing the overlay networks")?);
    let services: Vec<String> = services
        .context("listing the services")?
        .lines()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    if services.is_empty() {
        return Ok(());
    }
    let listed = on(swarm::services_ps_args(&services))
        .await
        .context("listing the services' tasks")?;
    let tasks = swarm::parse_stack_ps(&listed).map_err(anyhow::Error::msg)?;
    for t in tasks {
        let task = TaskView::new(&t.name, &t.current_state);
        match picture.machines.iter_mut().find(|m| m.name == t.node) {
            Some(m) if !t.node.is_empty() => m.tasks.push(task),
            _ => picture.unplaced.push(task),
        }
    }
    Ok(())
}

/// The desktop's own opener: xdg-open, macOS's open, Windows' start.
fn open(file: &Path) -> anyhow::Result<()> {
    let (program, before): (&str, &[&str]) = if cfg!(windows) {
        ("cmd", &["/C", "start", ""])
    } else if cfg!(target_os = "macos") {
        ("open", &[])
    } else {
        ("xdg-open", &[])
    };
    std::process::Command::new(program)
        .args(before)
        .arg(file)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .with_context(|| {
            format!(
                "opening {} with {program}: is a desktop there? The page is written; open it in a browser",
                file.display()
            )
        })?;
    Ok(())
}
