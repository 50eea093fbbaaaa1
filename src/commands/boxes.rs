//! `lab box add [PROFILE]`: a box from its local copy, without the internet.

use crate::session::Session;

use crate::model::boxes;
use crate::model::{Lab, Provider};
use crate::process::runner::Tool;

pub async fn add(lab: &Lab, profile: Option<&str>, session: &Session) -> anyhow::Result<()> {
    let profile = match profile {
        None => lab.profile.clone(),
        Some(name) => boxes::resolve(&lab.root, name, lab.provider).map_err(anyhow::Error::msg)?,
    };
    let what = match lab.provider {
        Provider::Virtualbox | Provider::Libvirt => profile.vagrant_box.clone().unwrap_or_default(),
        Provider::Docker => profile.image.clone().unwrap_or_default(),
    };
    let Some(add) = crate::tools::vagrant::local_add(&profile, &lab.root, lab.provider) else {
        let keys = match lab.provider {
            Provider::Virtualbox | Provider::Libvirt => "box_file (a .box file, relative to lab.toml) or box_url (a class server's metadata JSON)",
            Provider::Docker => "image_file (a `docker save` archive, relative to lab.toml)",
        };
        anyhow::bail!(
            "box profile `{}` has no local copy of {what} (or its file is missing)\nhint: set {keys} in boxes/{}.toml next to lab.toml",
            profile.name,
            profile.name
        );
    };
    let tool = match lab.provider {
        Provider::Virtualbox | Provider::Libvirt => Tool::Vagrant,
        Provider::Docker => Tool::Docker,
    };
    let runner = session.reader(&[tool])?;
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
    }
    crate::errln!("{add}");
    runner.run(&add, &|line| crate::errln!("  {line}")).await?;
    crate::outln!("added {what}");
    Ok(())
}
