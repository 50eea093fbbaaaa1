//! What is there now: Vagrant's machines, their SSH settings and addresses,
//! docker-machine's entries and the Consul container. Planning reads only this.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use anyhow::Context as _;
use tokio::task::JoinSet;

use crate::error::Foreign;
use crate::host::record::Record;
use crate::model::CONSUL_CONTAINER as CONTAINER;
use crate::model::{Lab, Mode};
use crate::process::runner::Runner;
use crate::reconcile::driver;
use crate::reconcile::observed::{Found, Observed};
use crate::tools::containers::{self, ContainerState};
use crate::tools::docker_machine::{self, DmMachine};
use crate::tools::engine::Engine;
use crate::tools::ssh as discover;
use crate::tools::swarm::{self, SwarmInfo, SwarmNode};
use crate::tools::vagrant::{self, SshConfig, VmStatus};

/// Every machine of the lab as not created yet.
pub fn none_created(lab: &Lab) -> Vec<VmStatus> {
    lab.machines
        .iter()
        .map(|m| VmStatus {
            name: m.name.clone(),
            provider: lab.provider.to_string(),
            state: crate::tools::vagrant::VmState::NotCreated,
        })
        .collect()
}

/// Vagrant cannot be asked without the Vagrantfile (which `up` and
/// `destroy` write again before they ask): the machines it has ids for were
/// made, in a state unknown until then; a dry run plans with that.
fn made_without_vagrantfile(lab: &Lab) -> Vec<VmStatus> {
    let made = crate::host::record::vagrant_ids(lab);
    let mut vms = none_created(lab);
    for vm in vms.iter_mut().filter(|v| made.contains_key(&v.name)) {
        vm.state = crate::tools::vagrant::VmState::Other("unknown".into());
    }
    vms
}

/// The machines' state as `vagrant status` gives it: "nothing created" when
/// Vagrant keeps nothing for the lab (no Vagrantfile yet, or no folder for
/// any of its machines in Vagrant's data, `.vagrant/machines/NAME`, made by
/// the first Vagrant command that loads the machine, before any create);
/// else read as the provider reads it ([`super::direct`]); else Vagrant is
/// asked.
pub async fn vms(runner: &Runner, lab: &Lab) -> anyhow::Result<Vec<VmStatus>> {
    vms_seen(runner, lab, None).await
}

/// Whether Vagrant keeps anything of the lab: its folder for a machine
/// and the Vagrantfile.
fn vagrant_has_machines(lab: &Lab) -> bool {
    let data = lab.state_dir().join(".vagrant").join("machines");
    lab.machines.iter().any(|m| data.join(&m.name).exists())
        && lab.state_dir().join("Vagrantfile").exists()
}

/// [`vms`], from `known` where the caller has already read the provider.
async fn vms_seen(
    runner: &Runner,
    lab: &Lab,
    known: Option<&super::direct::Direct>,
) -> anyhow::Result<Vec<VmStatus>> {
    let data = lab.state_dir().join(".vagrant").join("machines");
    if !lab.machines.iter().any(|m| data.join(&m.name).exists()) {
        return Ok(none_created(lab));
    }
    if !lab.state_dir().join("Vagrantfile").exists() {
        return Ok(made_without_vagrantfile(lab));
    }
    let read;
    let direct = match known {
        Some(direct) => Some(direct),
        None => {
            read = super::direct::read(runner, lab, &[]).await;
            read.as_ref()
        }
    };
    if let Some(direct) = direct {
        return Ok(lab
            .machines
            .iter()
            .map(|m| VmStatus {
                name: m.name.clone(),
                provider: lab.provider.to_string(),
                state: direct.states.get(&m.name).cloned().unwrap_or_default(),
            })
            .collect());
    }
    let out = runner
        .query(&vagrant::status(lab))
        .await
        .context("asking Vagrant for the machines' state")?;
    Ok(vagrant::parse_status(&out.stdout))
}

/// SSH settings of these machines, all running: from Vagrant's record
/// and the provider (docker, libvirt), else one `vagrant ssh-config` for all of them.
pub async fn ssh_configs_of(
    runner: &Runner,
    lab: &Lab,
    names: &[String],
) -> anyhow::Result<BTreeMap<String, SshConfig>> {
    let wanted: Vec<&str> = names.iter().map(String::as_str).collect();
    if let Some(direct) = super::direct::read(runner, lab, &wanted).await {
        if let Some(found) = direct.ssh_configs(lab, &wanted) {
            return Ok(found);
        }
    }
    let out = runner
        .query(&vagrant::ssh_config_of(lab, names))
        .await
        .with_context(|| format!("reading the SSH settings of {}", names.join(", ")))?;
    Ok(vagrant::parse_ssh_config(&out.stdout)
        .into_iter()
        .map(|block| (block.host.clone(), block))
        .collect())
}

/// A machine's address on the private interface: as its provider gave it
/// (Docker's network, libvirt's DHCP lease), else read over SSH.
pub async fn address(
    runner: &Runner,
    lab: &Lab,
    name: &str,
    ssh: &SshConfig,
) -> anyhow::Result<Ipv4Addr> {
    if let Some(direct) = super::direct::read(runner, lab, &[name]).await {
        if let Some(Ok(ip)) = direct
            .addresses(lab, &[name])
            .and_then(|mut found| found.remove(name))
        {
            return Ok(ip);
        }
    }
    discover::address(runner, name, ssh, &lab.interface).await
}

/// SSH settings of the running machines, with one `vagrant ssh-config` in
/// the usual case. Vagrant stops at the first machine that is not running,
/// so running machines after it are asked for one by one.
pub async fn ssh_configs(
    runner: &Runner,
    lab: &Lab,
    vms: &[VmStatus],
) -> anyhow::Result<BTreeMap<String, SshConfig>> {
    ssh_configs_seen(runner, lab, vms, None).await
}

async fn ssh_configs_seen(
    runner: &Runner,
    lab: &Lab,
    vms: &[VmStatus],
    known: Option<&super::direct::Direct>,
) -> anyhow::Result<BTreeMap<String, SshConfig>> {
    let running: Vec<&str> = vms
        .iter()
        .filter(|v| v.is_running())
        .map(|v| v.name.as_str())
        .collect();
    let mut found = BTreeMap::new();
    if running.is_empty() {
        return Ok(found);
    }
    if let Some(found) = known.and_then(|direct| direct.ssh_configs(lab, &running)) {
        return Ok(found);
    }
    if let Some(direct) = super::direct::read(runner, lab, &running).await {
        if let Some(found) = direct.ssh_configs(lab, &running) {
            return Ok(found);
        }
    }
    let out = runner
        .output(&vagrant::ssh_config(lab, None).query(), &|_| {})
        .await
        .context("reading the machines' SSH settings")?;
    for block in vagrant::parse_ssh_config(&out.stdout) {
        found.insert(block.host.clone(), block);
    }
    for name in running {
        if found.contains_key(name) {
            continue;
        }
        let out = runner
            .query(&vagrant::ssh_config(lab, Some(name)))
            .await
            .with_context(|| format!("reading {name}'s SSH settings"))?;
        for block in vagrant::parse_ssh_config(&out.stdout) {
            found.insert(block.host.clone(), block);
        }
    }
    Ok(found)
}

/// The running machines' addresses on the private interface, as their
/// provider gave them ([`super::direct`]), else read over SSH.
pub async fn addresses(
    runner: &Runner,
    lab: &Lab,
    ssh: &BTreeMap<String, SshConfig>,
) -> BTreeMap<String, Result<Ipv4Addr, String>> {
    addresses_seen(runner, lab, ssh, None).await
}

async fn addresses_seen(
    runner: &Runner,
    lab: &Lab,
    ssh: &BTreeMap<String, SshConfig>,
    known: Option<&super::direct::Direct>,
) -> BTreeMap<String, Result<Ipv4Addr, String>> {
    let names: Vec<&str> = ssh.keys().map(String::as_str).collect();
    if let Some(found) = known.and_then(|direct| direct.addresses(lab, &names)) {
        return found;
    }
    if let Some(direct) = super::direct::read(runner, lab, &names).await {
        if let Some(found) = direct.addresses(lab, &names) {
            return found;
        }
    }
    addresses_each(runner, lab, ssh).await
}

/// Every machine's address on the private interface, or why it could not
/// be read; all machines are asked at once.
async fn addresses_each(
    runner: &Runner,
    lab: &Lab,
    ssh: &BTreeMap<String, SshConfig>,
) -> BTreeMap<String, Result<Ipv4Addr, String>> {
    let mut tasks = JoinSet::new();
    for (name, config) in ssh.clone() {
        let runner = runner.clone();
        let interface = lab.interface.clone();
        tasks.spawn(async move {
            let result = discover::address(&runner, &name, &config, &interface).await;
            (name, result.map_err(|e| format!("{e:#}")))
        });
    }
    gather(tasks).await
}

/// Each machine's answer from a set of per-machine tasks.
async fn gather<T: 'static>(mut tasks: JoinSet<(String, T)>) -> BTreeMap<String, T> {
    let mut found = BTreeMap::new();
    while let Some(joined) = tasks.join_next().await {
        if let Ok((name, result)) = joined {
            found.insert(name, result);
        }
    }
    found
}

/// docker-machine's entries under this lab's machines' names: those the
/// lab made (by its record: name and driver), and the others.
pub async fn docker_machines(
    runner: &Runner,
    lab: &Lab,
    record: &Record,
) -> anyhow::Result<Found<BTreeMap<String, DmMachine>>> {
    let entries = dm_entries(runner, lab, |name, driver| {
        record.may_own_entry(name, driver)
    })
    .await?;
    Ok(sort_entries(lab, record, entries))
}

/// docker-machine's entries under the lab's names, each with the address
/// it points at: from the list's URL, or, for one `wanted` says may be the
/// lab's whose machine is down (the list shows no URL then), from
/// `docker-machine ip`, which reads the entry's own configuration.
pub async fn dm_entries(
    runner: &Runner,
    lab: &Lab,
    wanted: impl Fn(&str, &str) -> bool,
) -> anyhow::Result<Vec<(DmMachine, Option<Ipv4Addr>)>> {
    let out = runner
        .query(&docker_machine::ls())
        .await
        .context("listing docker-machine's machines")?;
    let mut entries = Vec::new();
    for entry in docker_machine::parse_ls(&out.stdout) {
        if lab.machine_of_dm_name(&entry.name).is_none() {
            continue;
        }
        let mut ip = entry.ip();
        if ip.is_none() && wanted(&entry.name, &entry.driver) {
            let asked = runner
                .query(&docker_machine::ip(&entry.name))
                .await
                .with_context(|| format!("asking docker-machine where `{}` points", entry.name))?;
            ip = asked.stdout.trim().parse().ok();
        }
        entries.push((entry, ip));
    }
    Ok(entries)
}

pub fn sort_entries(
    lab: &Lab,
    record: &Record,
    entries: Vec<(DmMachine, Option<Ipv4Addr>)>,
) -> Found<BTreeMap<String, DmMachine>> {
    let mut found = Found::<BTreeMap<String, DmMachine>>::default();
    for (entry, ip) in entries {
        let Some(machine) = lab.machine_of_dm_name(&entry.name) else {
            continue;
        };
        if record.owns_entry(&entry.name, &entry.driver, ip) {
            found.ours.insert(machine.name.clone(), entry);
        } else {
            let at = match (entry.url.is_empty(), ip) {
                (false, _) => format!(", {}", entry.url),
                (true, Some(ip)) => format!(", at {ip}"),
                (true, None) => String::new(),
            };
            found.foreign.push(Foreign {
                what: format!(
                    "docker-machine entry `{}` (driver {}{at})",
                    entry.name, entry.driver
                ),
                remove_with: Some(format!("docker-machine rm {}", entry.name)),
            });
        }
    }
    found
}

/// The Consul container's state, once consul's engine can be asked.
pub async fn consul_container(
    runner: &Runner,
    lab: &Lab,
    seen: &Observed,
) -> anyhow::Result<ContainerState> {
    let Some(consul) = lab.consul_machine() else {
        return Ok(ContainerState::Unknown);
    };
    if !driver::of(lab).engine_ready(seen, &consul.name) {
        return Ok(ContainerState::Unknown);
    }
    let cmd = engine_of(lab, seen, &consul.name)
        .docker(runner, &containers::list_args())
        .await?;
    let out = runner
        .query(&cmd)
        .await
        .with_context(|| format!("listing the containers on {}", consul.name))?;
    Ok(containers::parse_state(&out.stdout, CONTAINER))
}

/// Asks every engine that could answer for its swarm state, all at once.
/// An engine that does not answer is recorded with the reason, not an
/// error: the plan provisions it.
pub async fn engines(
    runner: &Runner,
    lab: &Lab,
    seen: &Observed,
) -> BTreeMap<String, Result<SwarmInfo, String>> {
    let mut tasks = JoinSet::new();
    for m in &lab.machines {
        if !driver::of(lab).reachable(seen, &m.name) {
            continue;
        }
        let engine = engine_of(lab, seen, &m.name);
        let runner = runner.clone();
        let name = m.name.clone();
        tasks.spawn(async move {
            let result = swarm::info(&runner, &engine)
                .await
                .map_err(|e| format!("{e:#}"));
            (name, result)
        });
    }
    gather(tasks).await
}

/// The master's view of its swarm: its nodes and the lab's network.
pub async fn swarm_view(
    runner: &Runner,
    lab: &Lab,
    seen: &Observed,
) -> anyhow::Result<(Option<Vec<SwarmNode>>, Option<String>)> {
    let master = &lab.master().name;
    if !seen
        .swarm_info(master)
        .is_some_and(|i| i.is_active() && i.manager)
    {
        return Ok((None, None));
    }
    let engine = engine_of(lab, seen, master);
    // Both questions at once: under software emulation each is a second.
    let (node_ls, network_ls) = (
        engine.docker(runner, &swarm::node_ls_args()).await?,
        engine.docker(runner, &swarm::network_ls_args()).await?,
    );
    let (nodes, networks) = tokio::join!(runner.query(&node_ls), runner.query(&network_ls));
    let out = nodes.with_context(|| format!("listing the swarm's nodes on {master}"))?;
    let nodes = swarm::parse_node_ls(&out.stdout).map_err(anyhow::Error::msg)?;
    let out = networks.with_context(|| format!("listing the networks on {master}"))?;
    Ok((
        Some(nodes),
        swarm::network_driver(&out.stdout, &lab.network),
    ))
}

/// What `vagrant up` will need that may come from a local copy: the
/// installed boxes, or whether the image is there.
pub async fn box_or_image(runner: &Runner, lab: &Lab, seen: &mut Observed) -> anyhow::Result<()> {
    if let Some(manifest) = crate::host::pack::load(&lab.root)? {
        for packed in manifest.images {
            let inspect = crate::tools::images::inspect_on_host(&packed.image);
            if runner.query(&inspect).await.is_err() {
                seen.pack_images
                    .push((packed.image, lab.root.join(&packed.file)));
            }
        }
    }
    match lab.provider {
        crate::model::Provider::Virtualbox | crate::model::Provider::Libvirt => {
            let out = runner
                .query(&crate::tools::vagrant::box_list())
                .await
                .context("listing Vagrant's boxes")?;
            let boxes = crate::tools::vagrant::parse_box_list(&out.stdout);
            if !crate::tools::vagrant::box_installed(&lab.profile, lab.provider, &boxes) {
                // Only a box to add needs to know what `box add` takes.
                seen.vagrant_version = runner
                    .query(&crate::tools::vagrant::version())
                    .await
                    .ok()
                    .and_then(|o| crate::model::version::parse_version(&o.stdout));
            }
            seen.boxes = Some(boxes);
        }
        crate::model::Provider::Docker => {
            let image = lab.profile.image.clone().unwrap_or_default();
            let inspect = crate::tools::images::inspect_on_host(&image);
            seen.image_present = Some(runner.query(&inspect).await.is_ok());
        }
    }
    Ok(())
}

/// Docker provider: containers on the host that bear this lab's machine
/// names, whether Vagrant knows them or not (an interrupted create leaves one
/// it does not), sorted into the lab's (its label, or Vagrant's id for one
/// of its machines) and the others.
pub async fn host_containers(
    runner: &Runner,
    lab: &Lab,
    record: &Record,
) -> anyhow::Result<Found<Vec<String>>> {
    if lab.provider != crate::model::Provider::Docker {
        return Ok(Found::default());
    }
    let ps = containers::named_like(&format!("{}-", lab.name), crate::host::record::LABEL);
    let out = runner
        .query(&ps)
        .await
        .context("listing the host's containers")?;
    // Vagrant's own ids count too: a lab made before lab kept a record.
    let mut record = record.clone();
    for (machine, id) in crate::host::record::vagrant_ids(lab) {
        record
            .machines
            .entry(machine)
            .or_default()
            .vagrant_id
            .get_or_insert(id);
    }
    Ok(sort_containers(lab, &record, &out.stdout))
}

/// VirtualBox's VMs under the lab's names: the lab's where their UUID is
/// the one Vagrant recorded for the machine; any other stands in `up`'s
/// way (VirtualBox refuses a second VM of a name). A VM that Vagrant's
/// index says this lab's directory made is one whose `.lab` was removed
/// by hand (`git clean -fdx`): it is said so, with the way to remove it.
pub async fn host_vms(
    vbox: &Runner,
    lab: &Lab,
    record: &Record,
) -> anyhow::Result<Found<Vec<String>>> {
    if lab.provider != crate::model::Provider::Virtualbox {
        return Ok(Found::default());
    }
    let out = vbox
        .query(&crate::tools::vbox::list_vms())
        .await
        .context("listing VirtualBox's VMs")?;
    let index = std::fs::read_to_string(
        vagrant::home()
            .join("data")
            .join("machine-index")
            .join("index"),
    )
    .unwrap_or_default();
    Ok(sort_vms(
        lab,
        record,
        &crate::tools::vbox::parse_vms(&out.stdout),
        &index,
    ))
}

pub fn sort_vms(
    lab: &Lab,
    record: &Record,
    vms: &[(String, String)],
    index: &str,
) -> Found<Vec<String>> {
    let mut ids = crate::host::record::vagrant_ids(lab);
    for (machine, made) in &record.machines {
        if let Some(id) = &made.vagrant_id {
            ids.entry(machine.clone()).or_insert_with(|| id.clone());
        }
    }
    let state = crate::process::files::absolute(&lab.state_dir());
    let mut found = Found::<Vec<String>>::default();
    for m in &lab.machines {
        let name = lab.host_name(&m.name);
        let Some((_, uuid)) = vms.iter().find(|(n, _)| *n == name) else {
            continue;
        };
        if ids.get(&m.name) == Some(uuid) {
            found.ours.push(name);
            continue;
        }
        let made_here = vagrant::indexed_in(index, &m.name, "virtualbox")
            .iter()
            .any(|p| crate::process::files::absolute(p) == state);
        found.foreign.push(Foreign {
            what: if made_here {
                format!(
                    "VirtualBox VM `{name}` {{{uuid}}}, which this lab made before its state directory {} was removed: lab no longer knows it as its own",
                    state.display()
                )
            } else {
                format!("VirtualBox VM `{name}` {{{uuid}}}")
            },
            remove_with: Some(format!(
                "VBoxManage controlvm {uuid} poweroff; VBoxManage unregistervm {uuid} --delete"
            )),
        });
    }
    found
}

pub fn sort_containers(lab: &Lab, record: &Record, ps: &str) -> Found<Vec<String>> {
    let names: Vec<String> = lab
        .machines
        .iter()
        .map(|m| lab.host_name(&m.name))
        .collect();
    let mut found = Found::<Vec<String>>::default();
    for (id, name, label) in containers::parse_named(ps) {
        if !names.iter().any(|n| n == name) {
            continue;
        }
        if record.owns_container(label, id) {
            found.ours.push(name.to_string());
        } else {
            found.foreign.push(Foreign {
                what: format!(
                    "container `{name}` ({})",
                    if label.is_empty() {
                        "made by something else than this lab".to_string()
                    } else {
                        format!("labelled as lab {label}'s")
                    }
                ),
                remove_with: Some(format!("docker rm -f {name}")),
            });
        }
    }
    found
}

/// What `status` and `verify` see, changing nothing: every machine's
/// state as `lab up` sees it, but a machine whose address cannot be read
/// is reported, not fatal, and a failure on the engine side comes back as
/// a problem for the lab.
pub async fn read_only(
    runner: &Runner,
    lab: &Lab,
) -> anyhow::Result<(
    Observed,
    BTreeMap<String, Result<Ipv4Addr, String>>,
    Option<String>,
)> {
    // One read of the provider answers all three where it can; where it
    // cannot (a VM without its lease yet), each asks again its own way.
    let direct = if vagrant_has_machines(lab) {
        let all: Vec<&str> = lab.machines.iter().map(|m| m.name.as_str()).collect();
        super::direct::read(runner, lab, &all).await
    } else {
        None
    };
    let vms = vms_seen(runner, lab, direct.as_ref()).await?;
    let ssh = ssh_configs_seen(runner, lab, &vms, direct.as_ref()).await?;
    let ips = addresses_seen(runner, lab, &ssh, direct.as_ref()).await;
    let mut seen = Observed {
        vms,
        ssh,
        ips: ips
            .iter()
            .filter_map(|(m, r)| r.as_ref().ok().map(|ip| (m.clone(), *ip)))
            .collect(),
        ca_ready: driver::of(lab).ca_ready(lab),
        ..Observed::default()
    };
    if driver::of(lab).keeps_entries() {
        let dm = docker_machines(runner, lab, &crate::host::record::of(lab)).await?;
        seen.dm = dm.ours;
        seen.foreign.extend(dm.foreign);
    }
    let problem = engines_and_services(runner, lab, &mut seen)
        .await
        .err()
        .map(|e| format!("{e:#}"));
    Ok((seen, ips, problem))
}

/// After steps that set engines up: their entries, the CA and the engines
/// asked again, so the next plan sees what this run made.
pub async fn engines_again(runner: &Runner, lab: &Lab, seen: &mut Observed) -> anyhow::Result<()> {
    if driver::of(lab).keeps_entries() {
        let record = crate::host::record::of(lab);
        seen.dm = docker_machines(runner, lab, &record).await?.ours;
    }
    seen.ca_ready = driver::of(lab).ca_ready(lab);
    engines_and_services(runner, lab, seen).await
}

/// Everything `lab destroy` plans from: Vagrant's machines, and the
/// lab's own docker-machine entries and containers (and what only bears
/// their names, which stays).
pub async fn for_destroy(runner: &Runner, lab: &Lab) -> anyhow::Result<Observed> {
    let record = crate::host::record::of(lab);
    let mut seen = Observed {
        vms: vms(runner, lab).await?,
        ..Observed::default()
    };
    if driver::of(lab).keeps_entries() {
        let found = docker_machines(runner, lab, &record).await?;
        seen.dm = found.ours;
        seen.foreign.extend(found.foreign);
    }
    let found = host_containers(runner, lab, &record).await?;
    seen.host_containers = found.ours;
    seen.foreign.extend(found.foreign);
    match listing(lab, &record) {
        Ok(listed) => seen.listed = listed,
        Err(e) => seen.warnings.push(format!("warning: {e}")),
    }
    Ok(seen)
}

/// The lab's entry in the list of labs, by its lab.toml or its record's id.
fn listing(lab: &Lab, record: &Record) -> Result<Option<crate::host::registry::Listing>, String> {
    crate::host::registry::path()
        .and_then(|list| crate::host::registry::listing(&list, lab, Some(&record.id)))
        .map_err(|e| {
            format!("the lab's entry in the list of labs cannot be looked at, and stays: {e:#}")
        })
}

/// The machines' SSH settings and addresses, as far as they can be read;
/// what cannot is a note.
async fn addresses_if_any(
    runner: &Runner,
    lab: &Lab,
    seen: &mut Observed,
    notes: &mut Vec<String>,
) {
    if let Ok(ssh) = ssh_configs(runner, lab, &seen.vms).await {
        for (name, result) in addresses(runner, lab, &ssh).await {
            match result {
                Ok(ip) => {
                    seen.ips.insert(name, ip);
                }
                Err(e) => notes.push(e),
            }
        }
        seen.ssh = ssh;
    }
}

/// What a dry run can see without changing anything, with the programs
/// that are there; what it cannot see (a missing program, machines not up
/// yet) is taken as not there, and why is in the notes.
pub async fn for_dry_run(
    runner: &Runner,
    lab: &Lab,
    tools: &crate::process::tool::Tools,
) -> (Observed, Vec<String>) {
    use crate::process::tool::Tool;
    let mut notes = Vec::new();
    let record = crate::host::record::of(lab);
    let mut seen = Observed {
        vms: none_created(lab),
        ..Observed::default()
    };
    if tools.has(Tool::Vagrant) {
        match vms(runner, lab).await {
            Ok(vms) => seen.vms = vms,
            Err(e) => notes.push(format!("{e:#}")),
        }
    }
    if tools.has(Tool::Vagrant)
        && tools.has(Tool::Ssh)
        && lab.machines.iter().all(|m| seen.is_running(&m.name))
    {
        addresses_if_any(runner, lab, &mut seen, &mut notes).await;
    }
    let vm_tool = match lab.provider {
        crate::model::Provider::Virtualbox | crate::model::Provider::Libvirt => Tool::Vagrant,
        crate::model::Provider::Docker => Tool::Docker,
    };
    if tools.has(vm_tool) && lab.machines.iter().any(|m| !seen.is_running(&m.name)) {
        if let Err(e) = box_or_image(runner, lab, &mut seen).await {
            notes.push(format!("{e:#}"));
        }
        if tools.has(Tool::Docker) {
            let found = host_containers(runner, lab, &record)
                .await
                .unwrap_or_default();
            seen.host_containers = found.ours;
            seen.foreign.extend(found.foreign);
        }
    }
    seen.ca_ready = driver::of(lab).ca_ready(lab);
    if driver::of(lab).keeps_entries() && tools.has(Tool::DockerMachine) {
        match docker_machines(runner, lab, &record).await {
            Ok(found) => {
                seen.dm = found.ours;
                seen.foreign.extend(found.foreign);
            }
            Err(e) => notes.push(format!("{e:#}")),
        }
    }
    if tools.has(Tool::Docker) {
        if let Err(e) = engines_and_services(runner, lab, &mut seen).await {
            notes.push(format!("{e:#}"));
        }
    }
    match listing(lab, &record) {
        Ok(listed) => seen.listed = listed,
        Err(e) => notes.push(e),
    }
    (seen, notes)
}

/// The engine side of [`everything`], from what is already observed.
pub async fn engines_and_services(
    runner: &Runner,
    lab: &Lab,
    seen: &mut Observed,
) -> anyhow::Result<()> {
    if lab.mode == Mode::Swarm || !driver::of(lab).keeps_entries() {
        seen.engines = engines(runner, lab, seen).await;
    }
    if lab.mode == Mode::Swarm {
        let (nodes, network) = swarm_view(runner, lab, seen).await?;
        seen.nodes = nodes;
        seen.network = network;
    }
    seen.consul_container = consul_container(runner, lab, seen).await?;
    Ok(())
}

/// The engine of `machine` as far as it is known: at its observed address.
pub fn engine_of(lab: &Lab, seen: &Observed, machine: &str) -> Engine {
    driver::of(lab).engine(lab, machine, &ip_of(lab, seen, machine))
}

/// A machine's private address, or a placeholder while it is unknown (dry run).
pub fn ip_of(lab: &Lab, seen: &Observed, machine: &str) -> String {
    seen.ips.get(machine).map_or_else(
        || format!("<{machine} {} address>", lab.interface),
        ToString::to_string,
    )
}

/// The SSH key Vagrant uses for a machine, or a placeholder while it is unknown.
pub fn key_of(seen: &Observed, machine: &str) -> String {
    seen.ssh.get(machine).and_then(|s| s.key()).map_or_else(
        || format!("<{machine} key from vagrant ssh-config>"),
        crate::tools::docker_machine::absolute_key,
    )
}

/// Vagrant's SSH settings for a machine, or placeholders while they are unknown.
pub fn ssh_of(lab: &Lab, seen: &Observed, machine: &str) -> crate::tools::vagrant::SshConfig {
    seen.ssh
        .get(machine)
        .cloned()
        .unwrap_or_else(|| crate::tools::vagrant::SshConfig {
            host: machine.to_string(),
            hostname: format!("<{machine} ssh address>"),
            user: lab.profile.user.clone(),
            port: lab.profile.ssh_port,
            identity_files: vec![format!("<{machine} key from vagrant ssh-config>").into()],
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab(text: &str) -> Lab {
        crate::model::parse(std::path::Path::new("/nonexistent/lab.toml"), text).unwrap()
    }

    #[test]
    fn a_same_named_docker_machine_entry_is_the_labs_only_by_its_record() {
        let lab = lab("box = \"x/y\"\n");
        let entry = |name: &str, driver: &str, ip: &str| {
            (
                DmMachine {
                    name: name.into(),
                    driver: driver.into(),
                    url: format!("tcp://{ip}:2376"),
                    ..DmMachine::default()
                },
                ip.parse().ok(),
            )
        };
        let entries = vec![
            entry("consul", "virtualbox", "192.168.61.2"),
            entry("swarm-master", "generic", "192.168.61.3"),
            entry("swarm-node01", "generic", "203.0.113.7"),
            entry("web", "generic", "192.168.61.9"),
        ];
        let never_built = sort_entries(&lab, &Record::default(), entries.clone());
        assert!(never_built.ours.is_empty());
        assert_eq!(
            never_built.foreign,
            [
                "docker-machine entry `consul` (driver virtualbox, tcp://192.168.61.2:2376)",
                "docker-machine entry `swarm-master` (driver generic, tcp://192.168.61.3:2376)",
                "docker-machine entry `swarm-node01` (driver generic, tcp://203.0.113.7:2376)"
            ]
        );
        let mut record = Record::new(&lab);
        record.claim(&lab);
        for (name, ip) in [
            ("consul", "192.168.61.2"),
            ("swarm-master", "192.168.61.3"),
            ("swarm-node01", "192.168.61.4"),
        ] {
            record.made_entry(name, name, ip);
        }
        let built = sort_entries(&lab, &record, entries);
        assert_eq!(built.ours.keys().collect::<Vec<_>>(), ["swarm-master"]);
        assert_eq!(
            built.foreign,
            [
                "docker-machine entry `consul` (driver virtualbox, tcp://192.168.61.2:2376)",
                "docker-machine entry `swarm-node01` (driver generic, tcp://203.0.113.7:2376)"
            ],
            "the driver and the address must match too"
        );
    }

    /// Issue 20: `.lab` removed by hand (`git clean -fdx`) orphaned the
    /// VirtualBox VMs, and the next `up` failed on VirtualBox's duplicate
    /// name.
    #[test]
    fn a_vm_under_the_labs_name_is_its_own_only_by_vagrants_id() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("lab.toml");
        std::fs::write(&file, "box = \"x/y\"\n[swarm]\nnodes = 1\n").unwrap();
        let lab = crate::model::load(&file).unwrap();
        let mut record = Record::new(&lab);
        record.claim(&lab);
        record.machines.get_mut("consul").unwrap().vagrant_id = Some("uuid-1".into());
        let vms = [
            ("lab-consul".to_string(), "uuid-1".to_string()),
            ("lab-swarm-master".to_string(), "uuid-2".to_string()),
            ("lab-swarm-node01".to_string(), "uuid-3".to_string()),
            ("other".to_string(), "uuid-4".to_string()),
        ];
        let state = crate::process::files::absolute(&dir.path().join(".lab"));
        let index = serde_json::json!({"version": 1, "machines": {
            "a1": {"name": "swarm-master", "provider": "virtualbox", "vagrantfile_path": state},
            "a2": {"name": "swarm-node01", "provider": "virtualbox", "vagrantfile_path": "/elsewhere/.lab"},
        }})
        .to_string();
        let found = sort_vms(&lab, &record, &vms, &index);
        assert_eq!(found.ours, ["lab-consul"]);
        assert_eq!(found.foreign.len(), 2, "{:?}", found.foreign);
        assert!(
            found.foreign[0].what.contains(
                "`lab-swarm-master` {uuid-2}, which this lab made before its state directory"
            ),
            "{}",
            found.foreign[0]
        );
        assert_eq!(
            found.foreign[1].what,
            "VirtualBox VM `lab-swarm-node01` {uuid-3}"
        );
        assert_eq!(
            found.foreign[1].remove_with.as_deref(),
            Some("VBoxManage controlvm uuid-3 poweroff; VBoxManage unregistervm uuid-3 --delete")
        );
    }

    #[test]
    fn another_labs_container_is_never_this_labs() {
        let lab = lab("provider = \"docker\"\nbox = \"debian-docker\"\n");
        let mut record = Record::new(&lab);
        record.claim(&lab);
        let ps = format!(
            "aaa\tlab-consul\t{}\nbbb\tlab-swarm-master\tsome-other-lab\nccc\tlab-swarm-node01\t\nddd\tlab-swarm-node01-x\t\n",
            record.id
        );
        let found = sort_containers(&lab, &record, &ps);
        assert_eq!(found.ours, ["lab-consul"]);
        assert_eq!(found.foreign.len(), 2, "{:?}", found.foreign);
        let err = crate::error::NotOurs {
            things: found.foreign,
            file: "lab.toml".into(),
        }
        .to_string();
        assert!(
            err.contains("docker rm -f lab-swarm-master; docker rm -f lab-swarm-node01"),
            "{err}"
        );
    }
}
