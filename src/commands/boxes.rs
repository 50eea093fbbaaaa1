//! `lab box add [PROFILE]`: a box from its local copy, without the internet.

use crate::session::Session;

use crate::model::boxes;
use crate::model::{Lab, Provider};
use crate::process::tool::Tool;

pub async fn add(lab: &Lab, profile: Option<&str>, session: &Session) -> anyhow::Result<()> {
    let profile = match profile {
        None => lab.profile.clone(),
        Some(name) => boxes::resolve(&lab.root, name, lab.provider).map_err(anyhow::Error::msg)?,
    };
    let what = match lab.provider {
        Provider::Virtualbox | Provider::Libvirt => profile.vagrant_box.clone().unwrap_or_default(),
        Provider::Docker => profile.image.clone().unwrap_or_default(),
    };
    if crate::tools::vagrant::local_add(&profile, &lab.root, lab.provider, None).is_none() {
        let keys = match lab.provider {
            Provider::Virtualbox | Provider::Libvirt => "box_file (a .box file, relative to lab.toml) or box_url (a class server's metadata JSON)",
            Provider::Docker => "image_file (a `docker save` archive, relative to lab.toml)",
        };
        anyhow::bail!(
            "box profile `{}` has no local copy of {what} (or its file is missing)\nhint: set {keys} in boxes/{}.toml next to lab.toml",
            profile.name,
            profile.name
        );
    }
    let tool = match lab.provider {
        Provider::Virtualbox | Provider::Libvirt => Tool::Vagrant,
        Provider::Docker => Tool::Docker,
    };
    let runner = session.reader(&[tool])?;
    let mut arch = None;
    if lab.provider.uses_boxes() {
        let out = runner.query(&crate::tools::vagrant::box_list()).await?;
        if crate::tools::vagrant::box_installed(
            &profile,
            lab.provider,
            &crate::tools::vagrant::parse_box_list(&out.stdout),
        ) {
            crate::outln!("{what} is already installed");
            return Ok(());
        }
        let version = runner.query(&crate::tools::vagrant::version()).await?;
        arch =
            crate::tools::vagrant::box_arch(crate::model::version::parse_version(&version.stdout));
    }
    let add = crate::tools::vagrant::local_add(&profile, &lab.root, lab.provider, arch)
        .ok_or_else(|| {
            anyhow::anyhow!("the local copy of {what} went away while lab was adding it")
        })?;
    crate::errln!("{add}");
    runner.run(&add, &|line| crate::errln!("  {line}")).await?;
    crate::outln!("added {what}");
    Ok(())
}
