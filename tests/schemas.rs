//! Every JSON document lab writes names its schema and version, and each
//! version has one shape: its keys and their types, kept in
//! tests/fixtures/schemas/. A change to a document's shape fails here until
//! the schema's version goes up (src/model/schema.rs) and the new shape is
//! kept: `LAB_BLESS_SCHEMAS=1 cargo test --test schemas` writes it.

mod support;

use std::path::PathBuf;

use lab::model::schema;
use serde_json::{json, Value};
use support::{repo, run_lab, text};

fn fixture(name: &str) -> PathBuf {
    repo()
        .join("tests/fixtures/schemas")
        .join(format!("{}.json", name.replace('/', "-")))
}

/// `document` says `name` and has the shape kept for that version.
fn holds(name: &str, document: &Value) {
    assert_eq!(document["schema"], json!(name), "{document:#}");
    let shape = schema::shape(document);
    let path = fixture(name);
    if std::env::var_os("LAB_BLESS_SCHEMAS").is_some() && !path.exists() {
        std::fs::write(&path, serde_json::to_string_pretty(&shape).unwrap() + "\n").unwrap();
    }
    let kept: Value = match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).unwrap(),
        Err(_) => panic!(
            "no shape is kept for {name} ({}): a new schema or version; this is its shape:\n{}",
            path.display(),
            serde_json::to_string_pretty(&shape).unwrap()
        ),
    };
    assert_eq!(
        shape, kept,
        "the shape of {name} changed: raise its version in src/model/schema.rs (and docs/json.md), then keep the new shape"
    );
}

fn sample_lab(dir: &std::path::Path) -> lab::model::Lab {
    let file = dir.join("lab.toml");
    std::fs::write(&file, "box = \"x/y\"\n[swarm]\nnodes = 1\n").unwrap();
    lab::model::load(&file).unwrap()
}

#[test]
fn every_schema_is_kept_and_every_kept_shape_is_a_schema() {
    let mut kept: Vec<String> = std::fs::read_dir(repo().join("tests/fixtures/schemas"))
        .unwrap()
        .map(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .trim_end_matches(".json")
                .to_string()
        })
        .collect();
    kept.sort();
    let mut named: Vec<String> = schema::ALL.iter().map(|s| s.replace('/', "-")).collect();
    named.sort();
    assert_eq!(kept, named);
}

#[test]
fn check_reports() {
    let checks = [
        lab::checks::report::Check::pass("a", "b"),
        lab::checks::report::Check::warn("c", "d"),
    ];
    for name in [schema::DOCTOR, schema::VERIFY] {
        let text = lab::checks::report::report(name, "lab", &checks);
        holds(name, &serde_json::from_str(&text).unwrap());
    }
}

#[test]
fn status_reports() {
    let dir = tempfile::tempdir().unwrap();
    let lab = sample_lab(dir.path());
    let row = lab::commands::status::Row {
        machine: "consul".into(),
        role: "consul",
        vagrant: "running".into(),
        ip: Some("192.168.61.2".parse().unwrap()),
        engine: "Running".into(),
        url: "tcp://192.168.61.2:2376".into(),
        swarm: Some("Ready".into()),
        problem: Some("p".into()),
    };
    holds(
        schema::STATUS,
        &lab::commands::status::report(&lab, &[row], Some("p")),
    );
    let row = lab::commands::status::LabRow {
        name: "lab".into(),
        file: "/l/lab.toml".into(),
        subnet: "192.168.61.0/24".into(),
        running: 1,
        machines: 2,
        problem: Some("p".into()),
    };
    holds(
        schema::STATUS_ALL,
        &lab::commands::status::report_all(std::path::Path::new("/r/labs.json"), &[row]),
    );
}

#[test]
fn check_reports_of_an_exercise() {
    let dir = tempfile::tempdir().unwrap();
    let lab = sample_lab(dir.path());
    let exercise =
        lab::model::exercise::load(&repo().join("examples/redmine/exercise.toml")).unwrap();
    let outcome = |passed: bool| lab::checks::exercise::Outcome {
        name: "n".into(),
        passed,
        points: u32::from(passed),
        max_points: 1,
        detail: "d".into(),
        hint: Some("h".into()),
    };
    let document = lab::commands::check::report(
        &lab,
        &exercise,
        "student",
        std::time::SystemTime::now(),
        &[outcome(false), outcome(true)],
    );
    holds(schema::CHECK, &document);
}

#[test]
fn plans() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("lab.toml"),
        std::fs::read_to_string(repo().join("lab.toml")).unwrap(),
    )
    .unwrap();
    let bin = dir.path().join("empty-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let path = vec![("PATH", bin.display().to_string())];
    for verb in ["up", "destroy"] {
        let out = run_lab(dir.path(), &path, &[verb, "--dry-run", "--json"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let plan: Value = serde_json::from_str(&text(&out.stdout)).unwrap();
        if verb == "up" {
            holds(schema::PLAN, &plan);
        } else {
            assert_eq!(plan["schema"], json!(schema::PLAN));
        }
    }
}

#[test]
fn the_list_of_labs_and_a_labs_record() {
    let dir = tempfile::tempdir().unwrap();
    let lab = sample_lab(dir.path());
    let list = dir.path().join("labs.json");
    let lab = lab::host::registry::claim(&list, lab, &[]).unwrap();
    lab::host::registry::note_id(&list, &lab, "an-id").unwrap();
    holds(
        schema::LABS,
        &serde_json::from_str(&std::fs::read_to_string(&list).unwrap()).unwrap(),
    );

    lab::host::state::ensure(&lab).unwrap();
    let mut record = lab::host::record::Record::new(&lab);
    record.claim(&lab);
    record.made_entry("consul", "consul", "192.168.61.2");
    record.machines.get_mut("consul").unwrap().vagrant_id = Some("uuid".into());
    record.save(&lab.state_dir()).unwrap();
    let text = std::fs::read_to_string(lab.state_dir().join("record.json")).unwrap();
    holds(schema::RECORD, &serde_json::from_str(&text).unwrap());
}

#[test]
fn the_fault_drills_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let lab = sample_lab(dir.path());
    lab::host::state::ensure(&lab).unwrap();
    let mut record = lab::host::record::Record::new(&lab);
    record.faults.push(lab::host::record::Fault {
        machine: "swarm-node01".into(),
        kind: "cut".into(),
        detail: "cut off from swarm-master".into(),
        since: "2026-12-03T10:00:00Z".into(),
    });
    record.save(&lab.state_dir()).unwrap();
    let out = run_lab(dir.path(), &[], &["fault", "list", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let document: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(document["faults"][0]["detail"], "cut off from swarm-master");
    holds(schema::FAULTS, &document);
    let out = run_lab(dir.path(), &[], &["fault", "list"]);
    let shown = text(&out.stdout);
    assert!(
        shown.starts_with("MACHINE") && shown.contains("swarm-node01  cut"),
        "{shown}"
    );
}

#[test]
fn the_labs_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lab.toml");
    std::fs::write(
        &file,
        "provider = \"libvirt\"\nbox = \"x/y\"\n[swarm]\nnodes = 1\n",
    )
    .unwrap();
    let lab = lab::model::load(&file).unwrap();
    lab::host::state::ensure(&lab).unwrap();
    let mut record = lab::host::record::Record::new(&lab);
    record.snapshots.push(lab::host::record::Snapshot {
        name: "after-up".into(),
        taken: "2026-12-03T10:00:00Z".into(),
        machines: vec!["swarm-master".into()],
        seconds: 42,
        faults: Vec::new(),
    });
    record.save(&lab.state_dir()).unwrap();
    // Without Vagrant's data there is nothing else to list.
    let out = run_lab(dir.path(), &[], &["snapshot", "list", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let document: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(document["snapshots"][0]["name"], "after-up");
    let mut shaped = document.clone();
    shaped["not_labs"] = json!([{"machine": "swarm-node01", "name": "by-hand"}]);
    holds(schema::SNAPSHOTS, &shaped);
}

/// A list or record from a newer lab is refused, not misread.
#[test]
fn a_newer_schema_is_refused_with_its_file_named() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("labs.json");
    std::fs::write(&list, r#"{"schema": "lab.labs/2", "labs": []}"#).unwrap();
    let err = format!("{:#}", lab::host::registry::load(&list).unwrap_err());
    assert!(
        err.contains("labs.json") && err.contains("lab.labs/2"),
        "{err}"
    );
    // A list from before lists carried a schema still reads.
    std::fs::write(&list, "[]").unwrap();
    assert!(lab::host::registry::load(&list).unwrap().is_empty());

    let state = dir.path().join(".lab");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(
        state.join("record.json"),
        r#"{"schema": "lab.record/9", "id": "x", "file": "/l", "name": "lab", "subnet": "192.168.61.0/24"}"#,
    )
    .unwrap();
    let err = format!("{:#}", lab::host::record::load(&state).unwrap_err());
    assert!(
        err.contains("record.json") && err.contains("lab.record/9"),
        "{err}"
    );
}

#[test]
fn pack_manifest() {
    let manifest = lab::host::pack::Manifest {
        schema: schema::PACK.into(),
        lab: "lab".into(),
        made_by: "lab 0.1.0 (commit 0123456789ab)".into(),
        files: vec![lab::host::pack::Packed {
            path: "lab.toml".into(),
            sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad".into(),
            bytes: 3,
        }],
        images: vec![lab::host::pack::PackedImage {
            image: "lab/probe:busybox".into(),
            file: "images/lab_probe_busybox.tar".into(),
        }],
    };
    holds(schema::PACK, &serde_json::to_value(&manifest).unwrap());
}

#[test]
fn graph_pictures() {
    use lab::view::{MachineView, Picture, TaskView};
    let task = TaskView::new("web.1", "Running 2 minutes ago");
    let picture = Picture {
        schema: schema::GRAPH,
        lab: "lab".into(),
        drawn_at: "2026-12-03T10:00:00Z".into(),
        subnet: "10.0.0.0/24".into(),
        overlays: vec!["lab-overlay".into()],
        machines: vec![MachineView {
            name: "swarm-master".into(),
            role: "master".into(),
            address: Some("10.0.0.3".into()),
            vagrant: "running".into(),
            engine: "Running".into(),
            node: Some("Ready leader".into()),
            faults: vec!["stop: powered off".into()],
            tasks: vec![task.clone()],
        }],
        unplaced: vec![task],
        problem: Some("p".into()),
    };
    holds(schema::GRAPH, &serde_json::to_value(&picture).unwrap());
}
