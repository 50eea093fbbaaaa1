//! Renders the lab's Vagrantfile from `templates/Vagrantfile.tera`.

use std::collections::HashMap;

use anyhow::Context as _;
use serde::Serialize;
use tera::{Tera, Value};

use crate::model::Lab;

const TEMPLATE: &str = include_str!("../../templates/Vagrantfile.tera");

#[derive(Serialize)]
struct MachineView<'a> {
    name: &'a str,
    host_name: String,
    /// The docker provider's fixed address on the private network.
    ip: Option<String>,
}

/// The docker provider's machines get fixed addresses, from .2 on in the
/// lab's subnet (.1 is the gateway): Docker would hand out its pool again
/// in whatever order the containers start, and a machine must come back
/// from `lab halt` at its address, as a VirtualBox VM does with its DHCP
/// lease. `None` where the subnet is too small for all of them.
fn fixed_addresses(lab: &Lab) -> Vec<Option<String>> {
    let hosts = 1u64 << (32 - u32::from(lab.subnet.prefix));
    let fits =
        lab.provider == crate::model::Provider::Docker && (lab.machines.len() as u64) + 3 <= hosts;
    (0..lab.machines.len())
        .map(|i| {
            fits.then(|| {
                let offset = u32::try_from(i).unwrap_or(0) + 2;
                std::net::Ipv4Addr::from(u32::from(lab.subnet.network) + offset).to_string()
            })
        })
        .collect()
}

/// A libvirt lab's two networks, from its one subnet: the private network
/// in the lower half, vagrant-libvirt's management network in the upper,
/// so that no two labs share either (the host's registry keeps the labs'
/// subnets apart).
pub fn libvirt_halves(
    subnet: &crate::model::Subnet,
) -> (crate::model::Subnet, crate::model::Subnet) {
    let prefix = subnet.prefix + 1;
    let half = 1u32 << (32 - u32::from(prefix));
    let lower = crate::model::Subnet {
        network: subnet.network,
        prefix,
    };
    let upper = crate::model::Subnet {
        network: std::net::Ipv4Addr::from(u32::from(subnet.network) + half),
        prefix,
    };
    (lower, upper)
}

/// A Ruby single-quoted literal: nothing in lab.toml can reach Ruby as code.
fn ruby_string(value: &Value, _: &HashMap<String, Value>) -> tera::Result<Value> {
    let text = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let escaped = text.replace('\\', "\\\\").replace('\'', "\\'");
    Ok(Value::String(format!("'{escaped}'")))
}

pub fn vagrantfile(lab: &Lab) -> anyhow::Result<String> {
    let mut tera = Tera::default();
    tera.add_raw_template("Vagrantfile", TEMPLATE)
        .context("templates/Vagrantfile.tera is invalid")?;
    tera.register_filter("rb", ruby_string);

    let machines: Vec<_> = lab
        .machines
        .iter()
        .zip(fixed_addresses(lab))
        .map(|(m, ip)| MachineView {
            name: &m.name,
            host_name: lab.host_name(&m.name),
            ip,
        })
        .collect();
    let mut ctx = tera::Context::new();
    ctx.insert("version", env!("CARGO_PKG_VERSION"));
    // Into a Ruby comment: a newline would end it and start code.
    ctx.insert(
        "source",
        &lab.file.display().to_string().escape_default().to_string(),
    );
    ctx.insert("provider", lab.provider.as_str());
    ctx.insert("machines", &machines);
    ctx.insert("vagrant_box", &lab.profile.vagrant_box);
    ctx.insert("image", &lab.profile.image);
    ctx.insert("docker_args", &lab.profile.docker_args);
    ctx.insert("docker_cmd", &lab.profile.docker_cmd);
    ctx.insert("subnet", &lab.subnet.to_string());
    ctx.insert("first_host", &lab.subnet.first_host().to_string());
    ctx.insert("netmask", &lab.subnet.netmask().to_string());
    if lab.provider == crate::model::Provider::Libvirt {
        let (private, management) = libvirt_halves(&lab.subnet);
        let (private_net, management_net) = lab.libvirt_networks().expect("a libvirt lab");
        ctx.insert("libvirt_network", &private_net);
        ctx.insert("private_address", &private.network.to_string());
        ctx.insert("private_netmask", &private.netmask().to_string());
        ctx.insert("management_network", &management_net);
        ctx.insert("management_cidr", &management.to_string());
        ctx.insert("libvirt_driver", lab.libvirt_driver.as_str());
        ctx.insert("prefix", &format!("{}-", lab.name));
        ctx.insert("network_auto_config", &lab.profile.network_auto_config);
    }
    ctx.insert("memory", &lab.memory);
    ctx.insert("linked_clone", &lab.linked_clone);
    ctx.insert("box_version", &lab.profile.box_version);
    // A box from a registry is picked by architecture there (bento
    // #1663); one added from a file is added for this host's (`lab box add`).
    let from_registry = lab.profile.box_file.is_none() && lab.profile.box_url.is_none();
    ctx.insert(
        "box_architecture",
        &from_registry.then(crate::model::version::host_arch),
    );
    ctx.insert("cpus", &lab.cpus);
    // The lab's mark on its containers, once `lab up` has given it an id.
    ctx.insert(
        "lab_label",
        &crate::host::record::load(&lab.state_dir())
            .ok()
            .flatten()
            .map(|r| format!("{}={}", crate::host::record::LABEL, r.id)),
    );
    let mut text = tera
        .render("Vagrantfile", &ctx)
        .context("rendering the Vagrantfile")?;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn lab(text: &str) -> Lab {
        crate::model::parse(Path::new("lab.toml"), text).unwrap()
    }

    #[test]
    fn virtualbox_network_is_explicit() {
        let v = vagrantfile(&lab("box = \"takanabe/ubuntu1504\"\n")).unwrap();
        assert!(v.contains(
            "machine.vm.network \"private_network\", type: \"dhcp\", ip: '192.168.61.1', netmask: '255.255.255.0'"
        ), "{v}");
        assert!(v.contains("machine.vm.box = 'takanabe/ubuntu1504'"));
        assert_eq!(v.matches("config.vm.define").count(), 4);
        assert!(v.contains("vb.name = 'lab-swarm-node02'"));
    }

    #[test]
    fn a_registry_box_is_pinned_to_its_version_and_this_hosts_architecture() {
        let v = vagrantfile(&lab("box = \"bento-ubuntu-2404\"\n")).unwrap();
        assert_eq!(
            v.matches("machine.vm.box_version = '202510.26.0'").count(),
            4,
            "{v}"
        );
        let arch = format!(
            "machine.vm.box_architecture = '{}' if Gem::Version.new(Vagrant::VERSION) >= Gem::Version.new(\"2.4.0\")",
            crate::model::version::host_arch()
        );
        assert_eq!(v.matches(&arch).count(), 4, "{v}");
        assert_eq!(v.matches("vb.linked_clone = true").count(), 4, "{v}");
        let unpinned = vagrantfile(&lab("box = \"takanabe/ubuntu1504\"\n")).unwrap();
        assert!(!unpinned.contains("box_version"), "{unpinned}");
    }

    #[test]
    fn a_box_from_a_file_has_no_registry_architecture_and_clones_can_be_full() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("boxes")).unwrap();
        std::fs::write(
            dir.path().join("boxes/usb.toml"),
            "box = \"class/ubuntu\"\nbox_file = \"ubuntu.box\"\n",
        )
        .unwrap();
        let file = dir.path().join("lab.toml");
        let lab = crate::model::parse(&file, "box = \"usb\"\n[machines]\nlinked_clone = false\n")
            .unwrap();
        let v = vagrantfile(&lab).unwrap();
        assert!(!v.contains("box_architecture"), "{v}");
        assert_eq!(v.matches("vb.linked_clone = false").count(), 4, "{v}");
        let err = crate::model::parse(
            Path::new("lab.toml"),
            "box = \"x/y\"\n[machines]\nlinked_clone = \"yes\"\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("linked_clone"), "{err}");
    }

    #[test]
    fn docker_provider_gets_image_subnet_and_args() {
        let v = vagrantfile(&lab(
            "provider = \"docker\"\nbox = \"debian-docker\"\n[network]\nsubnet = \"10.9.8.0/24\"\n",
        ))
        .unwrap();
        assert!(v.contains("d.image = 'lab/debian-docker:bookworm'"));
        assert!(v.contains("subnet: '10.9.8.0/24'"));
        assert!(v.contains("d.create_args = ['--cap-add=SYS_ADMIN', "));
        assert!(!v.contains("virtualbox"));
    }

    #[test]
    fn libvirt_gets_two_isolated_networks_of_its_own_from_the_labs_subnet() {
        let text = "name = \"lv\"\nprovider = \"libvirt\"\nbox = \"debian-libvirt\"\n[network]\nsubnet = \"10.9.8.0/24\"\n[libvirt]\ndriver = \"qemu\"\n";
        let v = vagrantfile(&lab(text)).unwrap();
        assert!(v.contains("machine.vm.box = 'lab/debian-12'"), "{v}");
        assert!(v.contains("libvirt__network_name: 'lv', libvirt__network_address: '10.9.8.0', libvirt__netmask: '255.255.255.128', libvirt__forward_mode: \"none\""), "{v}");
        assert!(v.contains("lv.management_network_name = 'lv-mgmt'"), "{v}");
        assert!(
            v.contains("lv.management_network_address = '10.9.8.128/25'"),
            "{v}"
        );
        assert!(v.contains("lv.management_network_mode = \"none\""), "{v}");
        assert!(
            v.contains("lv.driver = 'qemu'") && v.contains("lv.cpu_model = \"qemu64\""),
            "{v}"
        );
        assert!(v.contains("lv.default_prefix = 'lv-'"), "{v}");
        assert!(
            v.contains("libvirt__forward_mode: \"none\", auto_config: false"),
            "{v}"
        );
        let kvm = vagrantfile(&lab(&text.replace("qemu", "kvm"))).unwrap();
        assert!(
            kvm.contains("lv.driver = 'kvm'") && !kvm.contains("cpu_model"),
            "{kvm}"
        );
        let small =
            crate::model::parse(Path::new("lab.toml"), &text.replace("/24", "/27")).unwrap_err();
        assert!(small.to_string().contains("/25 or larger"), "{small}");
    }

    #[test]
    fn values_cannot_escape_ruby_strings() {
        let v = vagrantfile(&lab(
            "provider = \"docker\"\nbox = \"x'; system('id'); '\"\n",
        ))
        .unwrap();
        assert!(v.contains(r"d.image = 'x\'; system(\'id\'); \''"), "{v}");
    }

    #[test]
    fn a_newline_in_the_path_stays_inside_the_comment() {
        let mut lab = lab("box = \"x/y\"\n");
        lab.file = "/x\nsystem(\"touch PWNED\")\n#/lab.toml".into();
        let v = vagrantfile(&lab).unwrap();
        let first = v.lines().next().unwrap();
        assert!(
            first.contains(r#"/x\nsystem(\"touch PWNED\")\n#/lab.toml"#),
            "{v}"
        );
        assert!(!v.lines().any(|l| l.starts_with("system(")), "{v}");
    }

    #[test]
    fn containers_carry_the_labs_id_once_it_has_one() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("lab.toml");
        let lab =
            crate::model::parse(&file, "provider = \"docker\"\nbox = \"debian-docker\"\n").unwrap();
        assert!(!vagrantfile(&lab).unwrap().contains("--label"));
        crate::host::state::ensure(&lab).unwrap();
        let record = crate::host::record::Record::new(&lab);
        record.save(&lab.state_dir()).unwrap();
        let v = vagrantfile(&lab).unwrap();
        assert!(
            v.contains(&format!("'--label', 'lab.id={}']", record.id)),
            "{v}"
        );
    }

    #[test]
    fn docker_machines_keep_their_addresses_across_a_halt() {
        let v = vagrantfile(&lab(
            "provider = \"docker\"\nbox = \"debian-docker\"\n[network]\nsubnet = \"10.9.8.0/24\"\n",
        ))
        .unwrap();
        assert!(
            v.contains(
                "machine.vm.network \"private_network\", ip: '10.9.8.2', subnet: '10.9.8.0/24'"
            ),
            "{v}"
        );
        assert!(v.contains("ip: '10.9.8.5', subnet"), "{v}");
        // More machines than fixed addresses (the record's machines beside
        // lab.toml's, after nodes was lowered): DHCP, as Docker hands out.
        let mut crowded = lab(
            "provider = \"docker\"\nbox = \"debian-docker\"\n[network]\nsubnet = \"10.9.8.0/29\"\n[swarm]\nnodes = 3\n",
        );
        for i in 4..=9 {
            crowded.machines.push(crate::model::Machine {
                name: format!("swarm-node{i:02}"),
                role: crate::model::Role::Node,
            });
        }
        let tiny = vagrantfile(&crowded).unwrap();
        assert!(
            tiny.contains("type: \"dhcp\", subnet: '10.9.8.0/29'"),
            "{tiny}"
        );
    }
}
