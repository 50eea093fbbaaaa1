//! `lab doctor`, and the same checks before `lab up`: can this host build
//! this lab? Each check says what it found and, when something is wrong,
//! what to do.

use crate::session::Session;

use crate::checks::host;
use crate::checks::report::Check;
use crate::cli::DoctorArgs;
use crate::model::Lab;
use crate::process::tool::{Tool, Tools};
use crate::ui::Ui;

/// Every check, and the programs that are missing.
async fn checks(lab: &Lab, session: &Session) -> (Vec<Check>, Vec<Tool>) {
    let (tools, missing) = Tools::available(&host::wanted(lab));
    let runner = session.runner_with(tools);
    (host::all(lab, &runner, &missing).await, missing)
}

pub async fn run(lab: &Lab, args: &DoctorArgs, session: &Session) -> anyhow::Result<()> {
    let (checks, _) = checks(lab, session).await;
    let failed = checks.iter().filter(|c| !c.passed).count();
    if args.json {
        crate::outln!(
            "{}",
            crate::checks::report::report(crate::model::schema::DOCTOR, &lab.name, &checks)
        );
    } else {
        for check in &checks {
            crate::outln!("{}", check.line());
        }
    }
    if failed > 0 {
        return Err(crate::error::Error::DoctorFailed { failed }.into());
    }
    Ok(())
}

/// Before `lab up`: only what needs attention is shown. A lab whose
/// machines all exist, whose checks passed today with the same programs,
/// the same Vagrant plugins and boxes and the same lab.toml, is not checked
/// again (three Ruby start-ups of Vagrant, seconds on every `up`): the
/// warnings of that run are shown again instead.
pub async fn preflight(lab: &Lab, ui: &Ui, session: &Session) -> anyhow::Result<()> {
    let cache = lab.state_dir().join("doctor-passed.json");
    let key = fingerprint(lab);
    if let Some(warnings) = key.as_deref().and_then(|k| cached(&cache, k)) {
        for line in warnings {
            ui.warn(&line);
        }
        return Ok(());
    }
    let (checks, missing) = checks(lab, session).await;
    if !missing.is_empty() {
        // The same error (and exit code 4) as any command that lacks a program.
        return Err(crate::tools::catalogue::missing(&missing).into());
    }
    let warnings: Vec<String> = checks
        .iter()
        .filter(|c| !c.passed || c.warning)
        .map(|c| format!("doctor: {}", c.line()))
        .collect();
    for line in &warnings {
        ui.warn(line);
    }
    let failed = checks.iter().filter(|c| !c.passed).count();
    if failed > 0 {
        let _ = std::fs::remove_file(&cache);
        return Err(crate::error::Error::DoctorFailed { failed }.into());
    }
    if let (Some(key), true) = (key, lab.state_dir().is_dir()) {
        let text = serde_json::json!({"fingerprint": key, "warnings": warnings}).to_string();
        let _ = crate::process::files::write_atomically(&cache, text.as_bytes());
    }
    Ok(())
}

/// The warnings of a passed run with this fingerprint.
fn cached(cache: &std::path::Path, key: &str) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(cache).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    (value.get("fingerprint")?.as_str()? == key).then(|| {
        value
            .get("warnings")
            .and_then(|w| w.as_array())
            .map(|w| {
                w.iter()
                    .filter_map(|l| l.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    })
}

/// What doctor's answers depend on: today (dates are checked), the lab,
/// each program's file, Vagrant's plugins and boxes. None while a machine
/// of the lab is yet to be made (then the checks always run).
fn fingerprint(lab: &Lab) -> Option<String> {
    if crate::host::record::vagrant_ids(lab).len() < lab.machines.len() {
        return None;
    }
    let stamp = |path: &std::path::Path| {
        std::fs::metadata(path)
            .ok()
            .map(|m| format!("{}:{}:{:?}", path.display(), m.len(), m.modified().ok()))
            .unwrap_or_else(|| format!("{}:-", path.display()))
    };
    let mut parts = vec![
        crate::checks::compat::today().to_string(),
        format!("{lab:?}"),
    ];
    for tool in host::wanted(lab) {
        parts.push(match which::which(tool.program()) {
            Ok(path) => stamp(&path),
            Err(_) => format!("{}: missing", tool.program()),
        });
    }
    let home = crate::tools::vagrant::home();
    parts.push(stamp(&home.join("plugins.json")));
    parts.push(stamp(&home.join("boxes")));
    let digest = ring::digest::digest(&ring::digest::SHA256, parts.join("\n").as_bytes());
    Some(digest.as_ref().iter().map(|b| format!("{b:02x}")).collect())
}
