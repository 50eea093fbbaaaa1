//! Real machines with real engines, end to end: Vagrant's docker provider
//! boots systemd machines with sshd and docker.io, `engine = "native"` puts
//! each engine on TLS with lab's own certificates, `mode = "swarm"` forms
//! the swarm, and the real `docker` client and `lab verify` use it. No
//! stand-in anywhere.
// Unix hosts only: real machines on Vagrant's docker provider need a Unix host.
#![cfg(unix)]

mod support;

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Command;

use support::lab_dir::LabDir;
use support::{repo, run_lab, text};

/// The sample stack's real images, built from Debian's packages by
/// examples/redmine/images/build.sh (.ci/run builds them).
const REDMINE_IMAGE: &str = "lab/redmine:5.0-bookworm";
const POSTGRES_IMAGE: &str = "lab/postgres:15-bookworm";

/// examples/redmine with real Redmine and PostgreSQL: each service on its
/// named node, each image copied only there, and Redmine's page showing
/// what was written into PostgreSQL on the other node (Redmine reaches it
/// by its service name, `db`); `--rm` takes it away.
fn deploy_the_sample_stack(lab: &LabDir) {
    let example = repo().join("examples/redmine").display().to_string();
    let env = [
        ("REDMINE_IMAGE", REDMINE_IMAGE.to_string()),
        ("POSTGRES_IMAGE", POSTGRES_IMAGE.to_string()),
    ];
    let started = std::time::Instant::now();
    let out = run_lab(lab.path(), &env, &["deploy", &example]);
    let table = support::succeeded(&out, &["deploy"]);
    eprintln!(
        "STACK: lab deploy took {:.1}s",
        started.elapsed().as_secs_f64()
    );
    let row = |service: &str| -> Vec<String> {
        table
            .lines()
            .find(|l| l.starts_with(&format!("{service} ")))
            .unwrap_or_else(|| panic!("{service} missing:\n{table}"))
            .split_whitespace()
            .map(String::from)
            .collect()
    };
    assert_eq!(row("redmine_redmine")[1], "swarm-node01", "{table}");
    assert_eq!(row("redmine_db")[1], "swarm-node02", "{table}");
    let url = row("redmine_redmine").last().unwrap().clone();
    assert!(
        url.starts_with("http://") && url.ends_with(":3000/"),
        "{table}"
    );

    // Each image is where its service may run, and nowhere else.
    for (machine, has, lacks) in [
        ("swarm-node01", vec![REDMINE_IMAGE], vec![POSTGRES_IMAGE]),
        ("swarm-node02", vec![POSTGRES_IMAGE], vec![REDMINE_IMAGE]),
        ("swarm-master", vec![], vec![REDMINE_IMAGE, POSTGRES_IMAGE]),
    ] {
        for image in has {
            assert!(lab.has_image(machine, image), "{image} not on {machine}");
        }
        for image in lacks {
            assert!(
                !lab.has_image(machine, image),
                "{image} copied to {machine}"
            );
        }
    }

    // A project written into PostgreSQL by a client on the stack's network
    // (these engines cannot `docker exec` into a nested container) ...
    let marker = format!("Lab project {}", std::process::id());
    let sql = format!(
        "INSERT INTO projects (name, identifier, is_public, status, lft, rgt, created_on, updated_on) \
         VALUES ('{marker}', 'lab-{}', true, 1, 1, 2, now(), now())",
        std::process::id()
    );
    // ... once Redmine has made its tables there ...
    let projects = format!("{url}projects");
    wait_for_page(
        &projects,
        "Projects - Redmine",
        started,
        "Redmine's project list",
    );
    lab.docker_ok(
        "swarm-node02",
        &format!(
            "run --rm --network redmine_app -e PGPASSWORD=redmine {POSTGRES_IMAGE} \
             psql -v ON_ERROR_STOP=1 -h db -U redmine -d redmine -c {}",
            shell_words::quote(&sql)
        ),
    );
    // ... is on the page Redmine serves on swarm-node01.
    wait_for_page(&projects, &marker, started, "the project from PostgreSQL");

    check_the_exercise(lab);

    halt_and_resume(lab, &marker);

    let out = run_lab(lab.path(), &[], &["deploy", "--rm", &example]);
    support::succeeded(&out, &["deploy", "--rm"]);
    let stacks = lab.docker_ok("swarm-master", "stack ls --format '{{.Name}}'");
    assert!(!stacks.contains("redmine"), "{stacks}");

    grade_three_submissions(lab);
}

/// `lab check` on the deployed stack: the checks of examples/redmine's
/// exercise that ask the swarm's manager and the machines' ports pass, with
/// their evidence. (`docker exec` into a task, the exercise's
/// `exec` check, is left out: a nested engine here was seen refusing it,
/// `OCI runtime exec failed ... setns`, after a while.)
fn check_the_exercise(lab: &LabDir) {
    let exercise = lab.path().join("exercise.toml");
    std::fs::write(&exercise, exercise_without_exec()).unwrap();
    let started = std::time::Instant::now();
    let out = run_lab(
        lab.path(),
        &[],
        &["check", "--json", "--student", "ada", "exercise.toml"],
    );
    eprintln!(
        "CHECK: lab check took {:.1}s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(&text(&out.stdout)).unwrap();
    assert_eq!(report["schema"], "lab.check/1");
    assert_eq!(report["student"], "ada");
    assert_eq!(report["points"], report["max_points"], "{report:#}");
    assert_eq!(report["max_points"], 9, "{report:#}");
    let detail = |name: &str| -> String {
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no check {name}: {report:#}"))["detail"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(detail("PostgreSQL runs on swarm-node02").contains("redmine_db.1 on swarm-node02"));
    assert!(detail("Redmine answers on swarm-node01").contains(":3000/: 200"));
}

/// The Redmine exercise without its `exec` check (see [`check_the_exercise`]).
fn exercise_without_exec() -> String {
    let shipped = std::fs::read_to_string(repo().join("examples/redmine/exercise.toml")).unwrap();
    let checks: Vec<&str> = shipped
        .split("\n[[check]]\n")
        .filter(|c| !c.contains("exec = "))
        .collect();
    checks.join("\n[[check]]\n")
}

/// `lab grade` on the lab: three submissions of the Redmine exercise (as
/// shipped; the database beside Redmine on node 1; a stack file that does
/// not parse) graded in one run, each removed before the next; the table
/// opened in headless Chromium. Then `lab check` on the wrong one, deployed
/// as a student would: exit 5 and the hint.
fn grade_three_submissions(lab: &LabDir) {
    let stack = std::fs::read_to_string(repo().join("examples/redmine/stack.yml")).unwrap();
    let wrong = stack.replace("${POSTGRES_NODE:-swarm-node02}", "swarm-node01");
    assert_ne!(wrong, stack);
    for (student, file) in [
        ("ada", stack.as_str()),
        ("bob", wrong.as_str()),
        ("carol", "services:\n  redmine: [\n"),
    ] {
        let dir = lab.path().join("class").join(student);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("stack.yml"), file).unwrap();
    }
    std::fs::write(lab.path().join("grade.toml"), exercise_without_exec()).unwrap();
    let env = [
        ("REDMINE_IMAGE", REDMINE_IMAGE.to_string()),
        ("POSTGRES_IMAGE", POSTGRES_IMAGE.to_string()),
    ];
    let started = std::time::Instant::now();
    let out = run_lab(
        lab.path(),
        &env,
        &[
            "grade",
            "grade.toml",
            "class/ada",
            "class/bob",
            "class/carol",
            "--timeout",
            "480",
        ],
    );
    eprintln!(
        "GRADE: lab grade of three submissions took {:.1}s",
        started.elapsed().as_secs_f64()
    );
    let said = support::succeeded(&out, &["grade"]);
    eprintln!("GRADE: its report:\n{said}");
    let progress = text(&out.stderr);
    assert!(progress.contains("bob (2 of 3)"), "{progress}");

    let csv = std::fs::read_to_string(lab.path().join("grades/grades.csv")).unwrap();
    // student, five checks, total, max, then the note (which may hold commas).
    let rows: Vec<Vec<&str>> = csv.lines().map(|l| l.splitn(9, ',').collect()).collect();
    assert_eq!(rows.len(), 4, "{csv}\n{said}");
    let total = |i: usize| rows[i][6];
    assert_eq!((rows[1][0], total(1)), ("ada", "9"), "{csv}");
    // bob loses the database's placement (2 points) and nothing else.
    assert_eq!((rows[2][0], total(2)), ("bob", "7"), "{csv}");
    assert_eq!(rows[2][2], "0", "{csv}");
    assert_eq!((rows[3][0], total(3)), ("carol", "0"), "{csv}");
    assert!(
        csv.lines().nth(3).unwrap().contains("did not deploy"),
        "{csv}"
    );

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(lab.path().join("grades/bob.json")).unwrap())
            .unwrap();
    assert_eq!(report["schema"], "lab.check/1");
    assert_eq!(report["student"], "bob");
    let db = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "PostgreSQL runs on swarm-node02")
        .unwrap();
    assert!(
        db["detail"]
            .as_str()
            .unwrap()
            .contains("grade-bob_db.1 on swarm-node01"),
        "{report:#}"
    );

    // Nothing of the grading is left: no stack, no volume, no record of one.
    let stacks = lab.docker_ok("swarm-master", "stack ls --format '{{.Name}}'");
    assert!(!stacks.contains("grade-"), "{stacks}");
    for node in ["swarm-node01", "swarm-node02"] {
        let volumes = lab.docker_ok(node, "volume ls -q");
        assert!(!volumes.contains("grade-"), "{node}: {volumes}");
    }
    let state = lab.path().join(format!(".lab-{}", lab.name));
    let record = std::fs::read_to_string(state.join("record.json")).unwrap();
    assert!(!record.contains("\"grading\""), "{record}");

    if let Some(chromium) = support::browser::chromium() {
        let page = lab.path().join("grades/grades.html");
        let dom = support::browser::dom(&chromium, &page);
        let students = support::browser::student_rows(&dom);
        assert_eq!(students.len(), 3, "{dom}");
        assert!(students[0].starts_with("ada 1 2 2 1 3 9"), "{students:?}");
        assert!(students[1].starts_with("bob 1 0"), "{students:?}");
        assert!(students[2].starts_with("carol 0"), "{students:?}");
        assert!(dom.contains("2 of 3 passed"), "{dom}");
        support::browser::screenshot(&chromium, &page, "grades-e2e.png");
    }

    // bob's stack as bob deploys it: `lab check` fails with exit 5 and the
    // hint. Without `within`, each check is one look.
    let out = run_lab(lab.path(), &env, &["deploy", "class/bob"]);
    support::succeeded(&out, &["deploy", "class/bob"]);
    std::fs::write(
        lab.path().join("grade.toml"),
        exercise_without_exec().replace("within = 120\n", ""),
    )
    .unwrap();
    let out = run_lab(lab.path(), &[], &["check", "grade.toml"]);
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let said = text(&out.stdout);
    assert!(
        said.contains("FAIL  PostgreSQL runs on swarm-node02  (0/2)"),
        "{said}"
    );
    assert!(said.contains("bob_db.1 on swarm-node01"), "{said}");
    assert!(
        said.contains("hint: a placement constraint: node.hostname == swarm-node02"),
        "{said}"
    );
    let out = run_lab(lab.path(), &[], &["deploy", "--rm", "class/bob"]);
    support::succeeded(&out, &["deploy", "--rm"]);
}

/// Polls `look` every 2 s until it holds, up to `limit` seconds; the time
/// it took.
fn within(limit: u64, what: &str, look: impl Fn() -> bool) -> f64 {
    support::wait_for(
        what,
        std::time::Duration::from_secs(limit),
        std::time::Duration::from_secs(2),
        look,
    )
    .as_secs_f64()
}

fn node_status(lab: &LabDir, node: &str) -> String {
    lab.nodes()
        .into_iter()
        .find(|(h, _)| h == node)
        .map(|(_, s)| s)
        .unwrap_or_default()
}

/// Fault drills on real engines: a node running one of two replicas is
/// stopped as by a crash and its task moves; `clear` brings it back Ready.
/// A cut makes a node Down; `clear` removes exactly lab's rules (a chain of
/// the user's stays) and the node is Ready again. `net` needs netem, which
/// this host's kernel (shared by the container machines) may lack: then it
/// says so and changes nothing.
fn fault_drills(lab: &LabDir) {
    let example = repo().join("examples/failover");
    let out = run_lab(lab.path(), &[], &["deploy", &example.display().to_string()]);
    support::succeeded(&out, &["deploy", "examples/failover"]);
    let placed = || {
        lab.docker_ok(
            "swarm-master",
            "service ps failover_web --filter desired-state=running --format '{{.Node}} {{.CurrentState}}'",
        )
    };
    // The swarm spreads the two over the two workers.
    within(60, "a task on each worker", || {
        let tasks = placed();
        ["swarm-node01 Running", "swarm-node02 Running"]
            .iter()
            .all(|n| tasks.lines().any(|l| l.starts_with(n)))
    });
    graph_follows_the_swarm(lab);
    lab.ok(&["fault", "stop", "swarm-node02"]);
    let picture: serde_json::Value =
        serde_json::from_str(&lab.ok(&["graph", "--format", "json"])).unwrap();
    let node02 = &picture["machines"][2];
    assert_eq!(node02["name"], "swarm-node02", "{picture:#}");
    assert!(
        node02["faults"][0]
            .as_str()
            .is_some_and(|f| f.starts_with("stop: powered off")),
        "{picture:#}"
    );
    let listed = lab.ok(&["fault", "list"]);
    assert!(listed.contains("swarm-node02  stop"), "{listed}");
    let status = lab.ok(&["status"]);
    assert!(
        status.contains("fault: swarm-node02: powered off"),
        "{status}"
    );
    // The drill's exercise passes once the task has moved.
    let started = std::time::Instant::now();
    let exercise = example.join("exercise.toml").display().to_string();
    let out = run_lab(lab.path(), &[], &["check", &exercise]);
    let said = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{said}{}", text(&out.stderr));
    assert!(
        said.contains("PASS  both tasks run again, on swarm-node01"),
        "{said}"
    );
    assert_eq!(
        placed()
            .lines()
            .filter(|l| l.starts_with("swarm-node01 Running"))
            .count(),
        2
    );
    eprintln!(
        "FAULT: the failover exercise passed {:.1}s after `lab fault stop`",
        started.elapsed().as_secs_f64()
    );
    let started = std::time::Instant::now();
    lab.ok(&["fault", "clear", "swarm-node02"]);
    within(120, "swarm-node02 Ready again", || {
        node_status(lab, "swarm-node02") == "Ready"
    });
    eprintln!(
        "FAULT: swarm-node02 Ready {:.1}s after `lab fault clear` began",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(lab.ok(&["fault", "list"]).trim(), "no fault in place");

    let mine = lab.lab(&["ssh", "swarm-node02", "--", "sudo iptables -w -N MINE"]);
    assert!(mine.status.success(), "{}", text(&mine.stderr));
    lab.ok(&["fault", "cut", "swarm-node02"]);
    let down = within(90, "swarm-node02 Down", || {
        node_status(lab, "swarm-node02") == "Down"
    });
    eprintln!("FAULT: swarm-node02 Down {down:.1}s after `lab fault cut`");
    lab.ok(&["fault", "clear"]);
    let ready = within(90, "swarm-node02 Ready after the cut", || {
        node_status(lab, "swarm-node02") == "Ready"
    });
    eprintln!("FAULT: swarm-node02 Ready {ready:.1}s after `lab fault clear`");
    let rules = lab.lab(&["ssh", "swarm-node02", "--", "sudo iptables -w -S"]);
    let rules = text(&rules.stdout);
    assert!(rules.contains("-N MINE"), "{rules}");
    assert!(!rules.contains("LAB-FAULT"), "{rules}");

    let out = lab.lab(&["fault", "net", "swarm-node01", "--delay", "200"]);
    let qdisc = || {
        text(
            &lab.lab(&["ssh", "swarm-node01", "--", "tc qdisc show dev eth1"])
                .stdout,
        )
    };
    if out.status.success() {
        eprintln!("FAULT: net: this kernel has netem; the qdisc was set and cleared");
        assert!(qdisc().contains("netem 1a1:"), "{}", qdisc());
        lab.ok(&["fault", "clear", "swarm-node01"]);
    } else {
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.contains("has no netem") && err.contains("nothing was changed"),
            "{err}"
        );
        assert!(lab.ok(&["fault", "list"]).contains("no fault in place"));
        eprintln!("FAULT: net: this kernel has no netem, and lab fault net said so");
    }
    assert!(!qdisc().contains("netem"), "{}", qdisc());
    let out = run_lab(
        lab.path(),
        &[],
        &["deploy", "--rm", &example.display().to_string()],
    );
    support::succeeded(&out, &["deploy", "--rm", "examples/failover"]);
}

/// `lab graph` of the failover stack, as Chromium shows it: every machine
/// and both tasks on their nodes; then `--watch` redraws the page after
/// `docker service scale` (the third task appears) and ends on Ctrl-C,
/// leaving the page whole. The stack is scaled back to two.
fn graph_follows_the_swarm(lab: &LabDir) {
    let Some(chromium) = support::browser::chromium() else {
        return;
    };
    let started = std::time::Instant::now();
    let page = std::path::PathBuf::from(lab.ok(&["graph"]).trim());
    assert_eq!(
        page,
        lab.path().join(format!(".lab-{}/graph.html", lab.name))
    );
    let dom = support::browser::dom(&chromium, &page);
    for m in ["swarm-master", "swarm-node01", "swarm-node02"] {
        assert!(
            dom.contains(&format!("<g class=\"machine\" data-machine=\"{m}\"")),
            "{m}:\n{dom}"
        );
    }
    for t in ["failover_web.1", "failover_web.2"] {
        assert!(
            dom.contains(&format!("<tr data-task=\"{t}\"><td>failover_web</td>")),
            "{t}:\n{dom}"
        );
        assert!(dom.contains(&format!(
            "data-task=\"{t}\" data-service=\"failover_web\" data-state=\"Running\""
        )));
    }
    let shot = support::browser::screenshot(&chromium, &page, "graph-failover.png");
    eprintln!(
        "GRAPH: lab graph and Chromium's DOM took {:.1}s; screenshot {}",
        started.elapsed().as_secs_f64(),
        shot.display()
    );

    let watched = lab.path().join("watched.html");
    let shown = watched.display().to_string();
    let watch = support::lab_command(
        lab.path(),
        &[],
        &["graph", "--watch", "--interval", "1", "-o", &shown],
    )
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    let has = |needle: &str| std::fs::read_to_string(&watched).is_ok_and(|p| p.contains(needle));
    within(60, "the watched page", || {
        has("data-task=\"failover_web.2\"")
    });
    assert!(has("<meta http-equiv=\"refresh\" content=\"1\">"));
    lab.docker_ok("swarm-master", "service scale --detach failover_web=3");
    let scaled = within(120, "the third task on the watched page", || {
        has("data-task=\"failover_web.3\" data-service=\"failover_web\" data-state=\"Running\"")
    });
    let dom = support::browser::dom(&chromium, &watched);
    assert!(dom.contains("<tr data-task=\"failover_web.3\">"), "{dom}");
    let ctrl_c = Command::new("kill")
        .args(["-INT", &watch.id().to_string()])
        .status()
        .unwrap();
    assert!(ctrl_c.success());
    let out = watch.wait_with_output().unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("stopped watching"), "{err}");
    assert_eq!(text(&out.stdout).trim(), shown);
    assert!(has("</html>"));
    let left: Vec<_> = std::fs::read_dir(lab.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with("watched.html.tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    eprintln!("GRAPH: the watched page showed the third task {scaled:.1}s after the scale");

    lab.docker_ok("swarm-master", "service scale --detach failover_web=2");
    within(90, "two tasks again", || {
        lab.docker_ok(
            "swarm-master",
            "service ps failover_web --filter desired-state=running --format '{{.Node}}'",
        )
        .lines()
        .count()
            == 2
    });
}

/// Waits (up to 240 s from `since`) until `url` serves a page with `needle`.
fn wait_for_page(url: &str, needle: &str, since: std::time::Instant, what: &str) -> String {
    let mut page = String::new();
    support::wait_for(
        &format!("{url} to show {needle:?}"),
        std::time::Duration::from_secs(240),
        std::time::Duration::from_secs(2),
        || {
            page = http_get(url);
            page.contains(needle)
        },
    );
    eprintln!(
        "STACK: {what} at {url}, {:.1}s after it began",
        since.elapsed().as_secs_f64()
    );
    page
}

/// A laptop closes: `lab halt` stops every machine and keeps the rest;
/// `lab up` brings the same lab back (addresses read again, engines and
/// the swarm made whole at them), `verify` passes and the stack serves
/// the same data again.
fn halt_and_resume(lab: &LabDir, marker: &str) {
    let before = machine_ips(lab);
    let out = lab.ok(&["halt"]);
    assert!(out.is_empty() || !out.contains("error"), "{out}");
    let status: serde_json::Value = serde_json::from_str(&lab.ok(&["status", "--json"])).unwrap();
    for m in status["machines"].as_array().unwrap() {
        assert_ne!(m["vagrant"], "running", "{m}");
    }
    let started = std::time::Instant::now();
    lab.ok(&["up"]);
    eprintln!(
        "RESUME: lab up after lab halt took {:.1}s",
        started.elapsed().as_secs_f64()
    );
    let after = machine_ips(lab);
    eprintln!("RESUME: addresses before {before:?}, after {after:?}");
    // The overlay network between the nodes takes a while after every
    // engine restarted: verify passes once it has.
    support::wait_for(
        "verify to pass after the resume",
        std::time::Duration::from_secs(300),
        std::time::Duration::from_secs(5),
        || lab.lab(&["verify"]).status.success(),
    );
    eprintln!(
        "RESUME: verify passed {:.1}s after `lab up` began",
        started.elapsed().as_secs_f64()
    );
    let nodes = lab.nodes();
    assert_eq!(nodes.len(), 3, "the same nodes, no stale entry: {nodes:?}");
    assert!(all_ready(&nodes), "{nodes:?}");
    // The stack's tasks come back by themselves; Redmine serves the
    // database's data again on its node's (perhaps new) address.
    let url = format!("http://{}:3000/projects", after["swarm-node01"]);
    wait_for_page(&url, marker, started, "RESUME: the stack's data");
}

fn machine_ips(lab: &LabDir) -> std::collections::BTreeMap<String, String> {
    let status: serde_json::Value = serde_json::from_str(&lab.ok(&["status", "--json"])).unwrap();
    status["machines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["machine"].as_str().unwrap().to_string(),
                m["ip"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// A second lab in the same directory (`-f lab2.toml`), with its own name and
/// no subnet: it gets its own subnet, state directory and machines, and
/// `status --all` and the `env --all` handout see both.
fn a_second_lab_beside_it(first: &LabDir) {
    let second = format!("{}b", first.name);
    // It comes from a pack (`lab pack`), as in a class without internet:
    // its machine image is a tag of its own, which leaves this host's
    // engine once packed, so that `lab up` must load it from the pack.
    let image = support::ImageTag::of(
        support::native::MACHINE_IMAGE,
        format!("lab-pack-e2e/machine-{}:t", std::process::id()),
    );
    std::fs::create_dir_all(first.path().join("boxes")).unwrap();
    std::fs::write(
        first.path().join("boxes/packed-systemd.toml"),
        std::fs::read_to_string(support::repo().join("boxes/debian-systemd.toml"))
            .unwrap()
            .replace(support::native::MACHINE_IMAGE, &image.0),
    )
    .unwrap();
    std::fs::write(
        first.path().join("lab2.toml"),
        format!(
            "name = \"{second}\"\nprovider = \"docker\"\nbox = \"packed-systemd\"\nengine = \"native\"\nmode = \"swarm\"\n[consul]\nenabled = false\n[swarm]\nnodes = 1\n[verify]\nimage = \"{}\"\n",
            support::native::PROBE_IMAGE
        ),
    )
    .unwrap();
    let bin = support::lab_binary().display().to_string();
    let packed = std::time::Instant::now();
    support::succeeded(
        &run_lab(
            first.path(),
            &[],
            &["-f", "lab2.toml", "pack", "usb", "--bin", &bin],
        ),
        &["-f", "lab2.toml", "pack"],
    );
    eprintln!(
        "PACK: lab pack of a docker-provider lab took {:.1}s",
        packed.elapsed().as_secs_f64()
    );
    image.remove();
    let usb = first.path().join("usb");
    // The labs of this test share one list, wherever each one lives.
    let registry = [(
        "LAB_REGISTRY",
        first.path().join(".labs.json").display().to_string(),
    )];
    let other = |args: &[&str]| run_lab(&usb, &registry, args);
    let cleanup = Cleanup(second.clone());
    let plan = support::succeeded(&other(&["up", "--dry-run"]), &["up", "--dry-run"]);
    assert!(
        plan.contains("docker load -i") && plan.contains("lab-pack-e2e_machine"),
        "{plan}"
    );
    support::succeeded(&other(&["up"]), &["up"]);
    assert!(
        image.on_host(),
        "the pack's machine image is not on the host after up"
    );
    support::assert_swarm_verified(&support::succeeded(&other(&["verify"]), &["verify"]));

    let all: serde_json::Value =
        serde_json::from_str(&first.ok(&["status", "--all", "--json"])).unwrap();
    let labs = all["labs"].as_array().unwrap();
    assert_eq!(labs.len(), 2, "{all}");
    let subnets: BTreeSet<&str> = labs.iter().map(|l| l["subnet"].as_str().unwrap()).collect();
    assert_eq!(subnets.len(), 2, "each lab its own subnet: {all}");
    for lab in labs {
        assert_eq!(lab["running"], lab["machines"], "{lab}");
    }
    assert!(usb.join(format!(".lab-{second}")).is_dir());

    // The handout: sourced, it points docker at the second lab's master;
    // `lab_use` switches to its node.
    let handout = support::succeeded(
        &other(&["env", "--all", "--shell", "bash"]),
        &["env", "--all"],
    );
    let file = first.path().join("env.sh");
    std::fs::write(&file, handout).unwrap();
    let script = format!(
        "set -e; source {}; docker node ls --format '{{{{.Hostname}}}}' | sort | tr '\\n' ' '; lab_use swarm-node01; docker info --format '{{{{.Name}}}}'",
        shell_words::quote(&file.display().to_string())
    );
    let out = Command::new("bash").args(["-c", &script]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout).trim(),
        "swarm-master swarm-node01 swarm-node01"
    );

    support::succeeded(&other(&["destroy"]), &["destroy"]);
    assert!(support::containers_named(&second).is_empty());
    drop(cleanup);
}

/// Removes the second lab's machines if its test part fails half-way.
struct Cleanup(String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for container in support::containers_named(&self.0) {
            let _ = Command::new("docker")
                .args(["rm", "-f", "-v", &container])
                .output();
        }
    }
}

/// A plain HTTP GET to one of the lab's own machines: the body, or
/// nothing while it does not answer.
fn http_get(url: &str) -> String {
    use std::io::{Read as _, Write as _};
    let rest = url.trim_start_matches("http://");
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let Ok(mut stream) = std::net::TcpStream::connect(host) else {
        return String::new();
    };
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(10)));
    if write!(stream, "GET /{path} HTTP/1.0\r\nHost: {host}\r\n\r\n").is_err() {
        return String::new();
    }
    let mut body = String::new();
    let _ = stream.read_to_string(&mut body);
    body.split_once("\r\n\r\n")
        .map_or(String::new(), |(_, b)| b.to_string())
}

/// The anonymous volumes of lab `name`'s containers.
fn container_volumes(name: &str) -> Vec<String> {
    support::containers_named(name)
        .iter()
        .flat_map(|c| {
            let out = Command::new("docker")
                .args([
                    "inspect",
                    "--format",
                    "{{range .Mounts}}{{if eq .Type \"volume\"}}{{.Name}} {{end}}{{end}}",
                    c,
                ])
                .output()
                .unwrap();
            text(&out.stdout)
                .split_whitespace()
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .collect()
}

fn volumes() -> BTreeSet<String> {
    let out = Command::new("docker")
        .args(["volume", "ls", "-q"])
        .output()
        .unwrap();
    text(&out.stdout).lines().map(String::from).collect()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn all_ready(nodes: &[(String, String)]) -> bool {
    let mut names: Vec<&str> = nodes.iter().map(|(h, _)| h.as_str()).collect();
    names.sort();
    names == ["swarm-master", "swarm-node01", "swarm-node02"]
        && nodes.iter().all(|(_, s)| s == "Ready")
}

#[test]
fn native_engines_form_a_swarm_that_docker_and_verify_use() {
    if !support::native::prerequisites()
        || !support::prerequisite("docker", &["image", "inspect", REDMINE_IMAGE])
        || !support::prerequisite("docker", &["image", "inspect", POSTGRES_IMAGE])
    {
        return;
    }
    let lab = support::native::lab("e2n", 232, 2);

    lab.ok(&["up"]);
    let nodes = lab.nodes();
    assert!(all_ready(&nodes), "{nodes:?}");

    // The engines speak TLS with lab's CA only: without the client
    // certificate the master refuses.
    let env = lab.ok(&["env", "--shell", "bash", "swarm-master"]);
    let host = env
        .lines()
        .find_map(|l| l.strip_prefix("export DOCKER_HOST=\""))
        .unwrap()
        .trim_end_matches('"')
        .to_string();
    let bare = Command::new("docker")
        .args(["-H", &host, "--tls", "info"])
        .env_remove("DOCKER_CERT_PATH")
        .env_remove("DOCKER_TLS_VERIFY")
        .output()
        .unwrap();
    assert!(
        !bare.status.success(),
        "an engine answered without a client certificate"
    );
    let state = lab.path().join(format!(".lab-{}", lab.name));
    let certs = state.join("certs");
    // The CA's key is not among what DOCKER_CERT_PATH hands out.
    assert!(!certs.join("ca-key.pem").exists());
    assert_eq!(mode(&state.join("ca/ca-key.pem")), 0o600);
    assert_eq!(mode(&certs.join("key.pem")), 0o600);
    assert_eq!(mode(&state), 0o700);
    assert_eq!(mode(&state.join("lab.log")), 0o600);
    assert_eq!(mode(&certs.join("swarm-node01/server-key.pem")), 0o600);
    // fish gets the same three variables in its own syntax.
    let fish = lab.ok(&["env", "--shell", "fish", "swarm-node01"]);
    assert!(fish.contains("set -gx DOCKER_TLS_VERIFY \"1\";"), "{fish}");
    assert!(fish.contains("set -gx DOCKER_CERT_PATH"), "{fish}");

    // A second `lab up` finds everything in place.
    let dry = lab.ok(&["up", "--dry-run"]);
    assert!(dry.starts_with("nothing to do"), "{dry}");

    // A node that left is joined again, and its old entry is removed.
    // The join token goes to the node on ssh's stdin: in no log, no -v
    // line, no host argv.
    lab.docker_ok("swarm-node02", "swarm leave");
    let rejoin = lab.lab(&["-v", "up"]);
    let shown = format!("{}{}", text(&rejoin.stdout), text(&rejoin.stderr));
    assert!(rejoin.status.success(), "{shown}");
    let nodes = lab.nodes();
    assert!(all_ready(&nodes), "{nodes:?}");
    let token = lab.docker_ok("swarm-master", "swarm join-token -q worker");
    let token = token.trim();
    assert!(token.starts_with("SWMTKN-"), "{token}");
    assert!(shown.contains("swarm join-token -q worker"), "{shown}");
    assert!(
        !shown.contains(token),
        "the join token in -v output:\n{shown}"
    );
    let log = std::fs::read_to_string(state.join("lab.log")).unwrap();
    assert!(log.contains("read -r token"), "the join is in the log");
    assert!(!log.contains(token), "the join token is in lab.log");

    // verify: every check passes, and it leaves no probe behind.
    let out = lab.lab(&["verify"]);
    let report = text(&out.stdout);
    assert!(out.status.success(), "{report}{}", text(&out.stderr));
    support::assert_swarm_verified(&report);
    for node in ["swarm-node01", "swarm-node02"] {
        let left = lab.docker_ok(node, "ps -a --format '{{.Names}}'");
        assert!(left.trim().is_empty(), "probes left on {node}: {left}");
    }

    // A missing overlay network fails verify with exit 5; `lab up` makes it again.
    lab.docker_ok("swarm-master", "network rm lab-overlay");
    let out = lab.lab(&["verify", "--json"]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["passed"], false);
    assert_eq!(support::failed_checks(&json), ["overlay network", "probes"]);
    lab.ok(&["up"]);
    lab.ok(&["verify"]);

    deploy_the_sample_stack(&lab);
    fault_drills(&lab);
    a_second_lab_beside_it(&lab);

    // lab ssh runs a command line there and hands on its exit code.
    let out = lab.lab(&["ssh", "swarm-node01", "--", "hostname; exit 3"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "swarm-node01");

    // Nothing ever ran the `$(touch pwned)` in the lab's directory name.
    assert!(!lab.path().join("pwned").exists() && !Path::new("pwned").exists());

    // Every container carries the lab's id, the mark destroy and up trust
    // rather than a name another lab could share.
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(state.join("record.json")).unwrap()).unwrap();
    let id = record["id"].as_str().unwrap();
    for container in support::containers_named(&lab.name) {
        let out = Command::new("docker")
            .args([
                "inspect",
                "--format",
                "{{index .Config.Labels \"lab.id\"}}",
                &container,
            ])
            .output()
            .unwrap();
        assert_eq!(text(&out.stdout).trim(), id, "{container}");
    }

    // lab.toml changed since `up`: fewer nodes, another name. destroy takes
    // down what the lab made, from its record.
    let toml = std::fs::read_to_string(lab.path().join("lab.toml")).unwrap();
    let changed = toml.replace("nodes = 2", "nodes = 1").replace(
        &format!("name = \"{}\"", lab.name),
        &format!("name = \"{}x\"", lab.name),
    );
    assert_ne!(changed, toml);
    std::fs::write(lab.path().join("lab.toml"), &changed).unwrap();

    // destroy: no container, network, volume, certificate or state left.
    // The volumes are the lab's containers' own (other tests may make
    // volumes of theirs meanwhile).
    let lab_volumes = container_volumes(&lab.name);
    assert!(
        !lab_volumes.is_empty(),
        "the machines have their /var/lib/docker volumes"
    );
    lab.ok(&["destroy"]);
    std::fs::write(lab.path().join("lab.toml"), &toml).unwrap();
    assert!(support::containers_named(&lab.name).is_empty());
    assert!(!support::network_exists(&lab.subnet));
    assert!(!state.exists());
    let left: Vec<&String> = lab_volumes
        .iter()
        .filter(|v| volumes().contains(*v))
        .collect();
    assert!(left.is_empty(), "volumes left: {left:?}");
}
