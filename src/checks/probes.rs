//! The checks `lab verify` makes on a built lab's engines: classic Swarm's
//! own node count, and probe containers on two machines pinging each other
//! over the overlay network.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::checks::report::Check;
use crate::checks::verify::{self, on, words};
use crate::model::{Lab, Mode};
use crate::process::runner::Runner;
use crate::reconcile::observed::Observed;
use crate::tools::engine::Engine;
use crate::tools::{containers, swarm};

/// Prints each check as it is made (or all as JSON at the end).
#[derive(Default)]
pub struct Report {
    pub json: bool,
    pub checks: Vec<Check>,
    /// Where verify's time went, step by step (`lab -v verify` prints it).
    pub timings: Timings,
}

/// verify's steps and how long each took, and its floor: the slowest
/// probe's start plus one ping round, what no verify of this lab can beat.
#[derive(Debug, Default)]
pub struct Timings {
    pub steps: Vec<(String, Duration)>,
    pub slowest_start: Option<Duration>,
    pub ping_round: Option<Duration>,
}

impl Timings {
    fn step(&mut self, name: impl Into<String>, took: Duration) {
        self.steps.push((name.into(), took));
    }

    pub fn floor(&self) -> Option<Duration> {
        Some(self.slowest_start? + self.ping_round?)
    }

    /// One line per step, then the floor and the whole against it.
    pub fn lines(&self, total: Duration) -> Vec<String> {
        let mut lines: Vec<String> = self
            .steps
            .iter()
            .map(|(name, took)| format!("verify: {name}: {:.2}s", took.as_secs_f64()))
            .collect();
        match self.floor() {
            Some(floor) => lines.push(format!(
                "verify: all of it {:.2}s; its floor {:.2}s (slowest probe start {:.2}s + one ping round {:.2}s): {:.2}x",
                total.as_secs_f64(),
                floor.as_secs_f64(),
                self.slowest_start.unwrap_or_default().as_secs_f64(),
                self.ping_round.unwrap_or_default().as_secs_f64(),
                total.as_secs_f64() / floor.as_secs_f64().max(0.001)
            )),
            None => lines.push(format!("verify: all of it {:.2}s", total.as_secs_f64())),
        }
        lines
    }
}

impl Report {
    pub fn add(&mut self, check: Check) {
        if !self.json {
            crate::outln!("{}", check.line());
        }
        self.checks.push(check);
    }
}

/// Classic Swarm: the swarm manager's own count of healthy nodes.
pub async fn classic_nodes(runner: &Runner, lab: &Lab) -> Check {
    let master = &lab.master().name;
    let info = words(&["info", "--format", "{{json .SystemStatus}}"]);
    let result = on(runner, &Engine::classic_swarm(lab), &info).await;
    let expected = lab.machines.len() - 1;
    match result.map(|text| crate::tools::swarm::parse_classic_status(&text)) {
        Ok(Some((nodes, healthy))) if nodes == expected && healthy == expected => Check::pass(
            "swarm nodes",
            format!("{healthy} of {expected} healthy (classic Swarm on {master})"),
        ),
        Ok(Some((nodes, healthy))) => Check::fail(
            "swarm nodes",
            format!("{nodes} nodes, {healthy} healthy; expected {expected}"),
        ),
        Ok(None) => Check::fail("swarm nodes", "the swarm manager reported no node list"),
        Err(e) => Check::fail("swarm nodes", format!("{e:#}")),
    }
}

/// What the probes started, to be removed afterwards.
#[derive(Default)]
struct Started {
    probes: Mutex<Vec<(Engine, String)>>,
    /// verify made the overlay network (classic mode, where none was).
    network: std::sync::atomic::AtomicBool,
}

/// Probe containers on two machines, pinging each other over the overlay
/// network; whatever was started is removed afterwards.
pub async fn probes(runner: &Runner, lab: &Lab, seen: &Observed, report: &mut Report) {
    let (a, b) = verify::probe_machines(lab);
    let master = crate::reconcile::observe::engine_of(lab, seen, &lab.master().name);
    let pair = [
        (
            a.clone(),
            crate::reconcile::observe::engine_of(lab, seen, &a),
        ),
        (
            b.clone(),
            crate::reconcile::observe::engine_of(lab, seen, &b),
        ),
    ];
    let started = Started::default();
    let image_file = lab.state_dir().join("probe-image.tar");

    probe_steps(runner, lab, &master, &pair, &image_file, &started, report).await;

    let clean = Instant::now();
    let probes = started.probes.lock().map(|p| p.clone()).unwrap_or_default();
    let removals = probes.iter().map(|(engine, name)| async move {
        on(runner, engine, &containers::remove_args(name))
            .await
            .err()
            .map(|e| format!("{name} on {}: {e:#}", engine.machine()))
    });
    let mut leftovers: Vec<String> = futures_util::future::join_all(removals)
        .await
        .into_iter()
        .flatten()
        .collect();
    if started.network.load(std::sync::atomic::Ordering::Relaxed) {
        if let Err(e) = on(runner, &master, &swarm::network_rm_args(&lab.network)).await {
            leftovers.push(format!("network {}: {e:#}", lab.network));
        }
    }
    let _ = std::fs::remove_file(&image_file);
    report.timings.step("probes removed", clean.elapsed());
    if !leftovers.is_empty() {
        report.add(Check::fail("clean up", leftovers.join("\n")));
    }
}

#[allow(clippy::too_many_arguments)]
/// Starts `machine`'s probe on the overlay network: its check, name and
/// address, or the failed check.
async fn start_probe(
    runner: &Runner,
    lab: &Lab,
    machine: &str,
    engine: &Engine,
    started: &Started,
) -> Result<(Check, String, String), Check> {
    let name = verify::probe_name(lab, machine);
    let tries = match run_probe(runner, engine, lab, machine, &name).await {
        Ok(retried) => crate::tools::swarm::tries_note(&retried),
        Err(e) => return Err(Check::fail(format!("probe on {machine}"), format!("{e:#}"))),
    };
    if let Ok(mut probes) = started.probes.lock() {
        probes.push((engine.clone(), name.clone()));
    }
    let inspect = containers::networks_args(&name);
    let ip = on(runner, engine, &inspect)
        .await
        .ok()
        .and_then(|j| verify::parse_probe_ip(&j, &lab.network));
    let Some(ip) = ip else {
        return Err(Check::fail(
            format!("probe on {machine}"),
            format!("{name} has no address on {}", lab.network),
        ));
    };
    let iface = interface_line(runner, engine, &name, &ip).await;
    let started_after = tries.map(|t| format!(", started {t}")).unwrap_or_default();
    let check = Check::pass(
        format!("probe on {machine}"),
        format!("{name} at {ip} ({iface}){started_after}"),
    );
    Ok((check, name, ip))
}

/// `docker run` of the probe, tried again while the swarm's answer is a
/// passing one (an overlay attach past its deadline). A failed start
/// leaves the container made, so each try removes it first: a plain
/// retry would meet its name. Why each earlier try failed, on success.
async fn run_probe(
    runner: &Runner,
    engine: &Engine,
    lab: &Lab,
    machine: &str,
    name: &str,
) -> anyhow::Result<Vec<&'static str>> {
    let retry = runner.retry();
    let mut wait = retry.backoff;
    let mut retried = Vec::new();
    loop {
        let _ = on(runner, engine, &containers::remove_args(name)).await;
        let run = engine
            .docker(runner, &verify::probe_run_args(lab, machine))
            .await?;
        match runner.quiet(&run).await {
            Ok(_) => return Ok(retried),
            Err(e) => match crate::tools::swarm::transient(e.stderr()) {
                Some(why) if (retried.len() as u32) + 1 < retry.attempts => {
                    retried.push(why);
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                }
                _ => return Err(e.into()),
            },
        }
    }
}

async fn probe_steps(
    runner: &Runner,
    lab: &Lab,
    master: &Engine,
    pair: &[(String, Engine); 2],
    image_file: &std::path::Path,
    started: &Started,
    report: &mut Report,
) {
    if lab.mode == Mode::Classic {
        // The seed's compose file made the overlay network; verify makes a
        // short-lived one when the lab has none.
        let listed = on(runner, master, &crate::tools::swarm::network_ls_args()).await;
        if listed.is_ok_and(|t| crate::tools::swarm::network_driver(&t, &lab.network).is_none()) {
            let args = swarm::overlay_create_args(&lab.network);
            match on(runner, master, &args).await {
                Ok(_) => started
                    .network
                    .store(true, std::sync::atomic::Ordering::Relaxed),
                Err(e) => return report.add(Check::fail("overlay network", format!("{e:#}"))),
            }
        }
    }
    // Both probes start at once, each on its own engine, straight away: an
    // engine that lacks the image says so, is given it from this host's
    // `docker save` (kept there while the lab lives), and starts it then.
    let starts = Instant::now();
    let results = futures_util::future::join_all(pair.iter().map(|(machine, engine)| async move {
        let begun = Instant::now();
        let mut image = Check::pass(
            format!("image on {machine}"),
            format!("{} is there", lab.probe_image),
        );
        let mut result = start_probe(runner, lab, machine, engine, started).await;
        if result
            .as_ref()
            .is_err_and(|c| c.detail.contains("No such image"))
        {
            image = crate::checks::images::ensure_on(
                runner,
                machine,
                engine,
                &lab.probe_image,
                image_file,
            )
            .await;
            if image.passed {
                result = start_probe(runner, lab, machine, engine, started).await;
            }
        }
        (image, result, begun.elapsed())
    }))
    .await;
    let (images, results): (Vec<Check>, Vec<_>) = results
        .into_iter()
        .map(|(image, result, took)| (image, (result, took)))
        .unzip();
    let all_there = images.iter().all(|c| c.passed);
    for image in images {
        report.add(image);
    }
    if !all_there {
        return;
    }
    let mut ips = Vec::new();
    for ((machine, _), (result, took)) in pair.iter().zip(results) {
        report
            .timings
            .step(format!("probe on {machine} started"), took);
        report.timings.slowest_start = report.timings.slowest_start.max(Some(took));
        match result {
            Ok((check, name, ip)) => {
                report.add(check);
                ips.push((name, ip));
            }
            Err(check) => return report.add(check),
        }
    }
    report.timings.step(
        "both probes started (and given the image)",
        starts.elapsed(),
    );
    // The four pings at once: each way, by address and by name.
    let pings = Instant::now();
    let mut wanted = Vec::new();
    for (from, to) in [(0, 1), (1, 0)] {
        for (how, target) in [("by IP", ips[to].1.clone()), ("by name", ips[to].0.clone())] {
            wanted.push((from, to, how, target));
        }
    }
    let results = futures_util::future::join_all(wanted.iter().map(|(from, _, _, target)| {
        let (engine, from_name) = (&pair[*from].1, &ips[*from].0);
        async move {
            let begun = Instant::now();
            let result = ping(runner, engine, from_name, target).await;
            (result, begun.elapsed())
        }
    }))
    .await;
    for ((from, to, how, target), (result, took)) in wanted.iter().zip(results) {
        let check_name = format!("ping {how}");
        let detail = format!("{} -> {} ({target})", pair[*from].0, pair[*to].0);
        if let Ok(tries) = &result {
            if *tries == 1 {
                report.timings.ping_round =
                    Some(report.timings.ping_round.map_or(took, |r| r.min(took)));
            }
        }
        report.add(match result {
            Ok(_) => Check::pass(check_name, detail),
            Err(e) => Check::fail(check_name, format!("{detail}: {e:#}")),
        });
    }
    report.timings.step("four pings", pings.elapsed());
}

/// `eth0 mtu 1450`, the overlay interface as the probe sees it.
async fn interface_line(runner: &Runner, engine: &Engine, probe: &str, ip: &str) -> String {
    let addrs = on(
        runner,
        engine,
        &words(&["exec", probe, "ip", "-o", "addr", "show"]),
    )
    .await;
    let Some(iface) = addrs.ok().and_then(|t| verify::interface_of(&t, ip)) else {
        return "interface unknown".into();
    };
    let mtu_file = format!("/sys/class/net/{iface}/mtu");
    match on(runner, engine, &words(&["exec", probe, "cat", &mtu_file])).await {
        Ok(mtu) => format!("{iface} mtu {}", mtu.trim()),
        Err(_) => iface,
    }
}

/// An overlay network takes a moment to reach a new container's peers.
/// The number of tries it took.
async fn ping(runner: &Runner, engine: &Engine, from: &str, target: &str) -> anyhow::Result<u32> {
    const TRIES: u32 = 10;
    let args = words(&["exec", from, "ping", "-c", "1", "-W", "2", target]);
    let mut last = None;
    for attempt in 1..=TRIES {
        match on(runner, engine, &args).await {
            Ok(_) => return Ok(attempt),
            Err(e) => last = Some(e),
        }
        if attempt < TRIES {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    Err(last.expect("at least one try"))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn timings_name_each_step_and_the_floor() {
        let mut t = Timings::default();
        t.step("the lab read", Duration::from_millis(300));
        t.slowest_start = Some(Duration::from_millis(1500));
        t.ping_round = Some(Duration::from_millis(500));
        let lines = t.lines(Duration::from_secs(3));
        assert_eq!(lines[0], "verify: the lab read: 0.30s");
        assert_eq!(
            lines[1],
            "verify: all of it 3.00s; its floor 2.00s (slowest probe start 1.50s + one ping round 0.50s): 1.50x"
        );
        assert_eq!(
            Timings::default().lines(Duration::from_secs(1)),
            ["verify: all of it 1.00s"]
        );
    }
    use crate::model::Retry;
    use crate::process::tool::{Tool, Tools};

    /// What the libvirt lab under emulation did in CI: the first `docker
    /// run` of a probe failed at the overlay attach's deadline after it had
    /// made the container, so a plain retry met the name ("Conflict").
    /// This "docker" does the same: a first run that leaves its container
    /// and fails, a run that meets a leftover, `rm -f` that removes it.
    #[tokio::test]
    async fn a_probe_whose_first_start_failed_is_removed_and_started_again() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        let script = dir.path().join("docker");
        std::fs::write(
            &script,
            format!(
                r#"#!/bin/sh
for a in "$@"; do case "$a" in
  rm) rm -f {d}/container; exit 0 ;;
  run)
    if [ -f {d}/container ]; then echo 'docker: Error response from daemon: Conflict. The container name "/p" is already in use' >&2; exit 125; fi
    touch {d}/container
    if [ ! -f {d}/tried ]; then touch {d}/tried; echo 'docker: Error response from daemon: attaching to network failed, make sure your network options are correct and check manager logs: context deadline exceeded.' >&2; exit 125; fi
    echo started; exit 0 ;;
esac; done
exit 1
"#
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let runner = Runner::new(Tools::at(vec![(Tool::Docker, script)])).with_retry(Retry {
            attempts: 3,
            backoff: Duration::from_millis(10),
        });
        let lab = crate::model::parse(
            std::path::Path::new("lab.toml"),
            "box = \"x/y\"\nengine = \"native\"\nmode = \"swarm\"\n",
        )
        .unwrap();
        let engine = crate::reconcile::driver::of(&lab).engine(&lab, "swarm-node01", "10.0.0.3");
        let retried = run_probe(
            &runner,
            &engine,
            &lab,
            "swarm-node01",
            "lab-probe-swarm-node01",
        )
        .await
        .unwrap();
        assert_eq!(
            retried,
            ["the manager did not attach the container to the overlay network in time"]
        );
    }
}
