//! `lab grade --reports`: students' own `lab check --json` reports merged
//! into grades.csv and grades.html, the page opened in a real headless
//! Chromium as an instructor would open it. Needs no lab.

mod support;

use std::path::Path;

use support::{browser, repo, run_lab, text};

fn report(student: &str, failed: &[(&str, &str)]) -> serde_json::Value {
    let exercise = std::fs::read_to_string(repo().join("examples/redmine/exercise.toml")).unwrap();
    let parsed: toml::Value = toml::from_str(&exercise).unwrap();
    let checks: Vec<serde_json::Value> = parsed["check"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let name = c["name"].as_str().unwrap();
            let max = c
                .get("points")
                .and_then(toml::Value::as_integer)
                .unwrap_or(1);
            let failure = failed.iter().find(|(n, _)| *n == name);
            serde_json::json!({
                "name": name,
                "passed": failure.is_none(),
                // A student's report may claim anything: the exercise's
                // points count, not these.
                "points": if failure.is_none() { 100 } else { 0 },
                "max_points": max,
                "detail": failure.map_or("seen", |(_, d)| d),
            })
        })
        .collect();
    serde_json::json!({
        "schema": "lab.check/1",
        "lab": "lab",
        "exercise": "exercise.toml",
        "title": parsed["title"].as_str().unwrap(),
        "student": student,
        "host": "pc-1",
        "started": "2026-12-03T10:00:00Z",
        "points": 0,
        "max_points": 10,
        "checks": checks,
    })
}

fn shipped_exercise() -> String {
    repo()
        .join("examples/redmine/exercise.toml")
        .display()
        .to_string()
}

fn write(dir: &Path, name: &str, value: &serde_json::Value) -> String {
    std::fs::write(dir.join(name), serde_json::to_string_pretty(value).unwrap()).unwrap();
    name.to_string()
}

#[test]
fn students_reports_become_one_table_that_a_browser_shows() {
    let dir = tempfile::tempdir().unwrap();
    let exercise = shipped_exercise();
    let ada = write(dir.path(), "ada.json", &report("ada", &[]));
    let bob = write(
        dir.path(),
        "bob.json",
        &report(
            "bob",
            &[(
                "PostgreSQL runs on swarm-node02",
                "<script>document.title='owned'</script>running: stack_db.1 on swarm-node01",
            )],
        ),
    );
    let out = run_lab(
        dir.path(),
        &[],
        &[
            "grade",
            &exercise,
            "--reports",
            &ada,
            &bob,
            "--out",
            "class",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(said.contains("ada      10/10"), "{said}");
    assert!(said.contains("bob      8/10"), "{said}");
    assert!(
        said.contains("1 of 2 passed: PostgreSQL runs on swarm-node02"),
        "{said}"
    );

    let csv = std::fs::read_to_string(dir.path().join("class/grades.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(
        lines[0].starts_with("student,the swarm has three Ready nodes,"),
        "{csv}"
    );
    assert!(lines[0].ends_with(",total,max,note"), "{csv}");
    assert_eq!(lines[1], "ada,1,2,2,1,1,3,10,10,");
    assert_eq!(lines[2], "bob,1,0,2,1,1,3,8,10,");

    let Some(chromium) = browser::chromium() else {
        return;
    };
    let page = dir.path().join("class/grades.html");
    let dom = browser::dom(&chromium, &page);
    let rows = browser::student_rows(&dom);
    assert_eq!(rows.len(), 2, "{dom}");
    assert!(rows[0].starts_with("ada 1 2 2 1 1 3 10"), "{rows:?}");
    assert!(rows[1].starts_with("bob 1 0"), "{rows:?}");
    // The evidence is text in the page (the DOM holds it escaped), and the
    // student's script never ran: it would have changed the title.
    assert!(
        rows[1].contains("&lt;script&gt;document.title='owned'&lt;/script&gt;running"),
        "{rows:?}"
    );
    assert!(!dom.contains("<script"), "{dom}");
    assert!(
        dom.contains("<title>Grades: Redmine and PostgreSQL on two nodes</title>"),
        "{dom}"
    );
    assert!(dom.contains("1 of 2 passed"), "{dom}");
    assert!(dom.contains("the students' own"), "{dom}");
    let shot = browser::screenshot(&chromium, &page, "grades-reports.png");
    assert!(
        std::fs::metadata(&shot).unwrap().len() > 10_000,
        "{}",
        shot.display()
    );
}

#[test]
fn a_report_that_is_not_this_exercises_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let exercise = shipped_exercise();
    let mut other = report("ada", &[]);
    other["title"] = "Another exercise".into();
    let other = write(dir.path(), "ada.json", &other);
    let verify = write(
        dir.path(),
        "bob.json",
        &serde_json::json!({"schema": "lab.verify/1", "checks": []}),
    );
    let twice = write(dir.path(), "ada2.json", &report("ada", &[]));
    let first = write(dir.path(), "ada1.json", &report("ada", &[]));
    let out = run_lab(
        dir.path(),
        &[],
        &[
            "grade",
            &exercise,
            "--reports",
            &other,
            &verify,
            &first,
            &twice,
            "missing.json",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    for expected in [
        "4 of 5 reports cannot be merged",
        "ada.json: a report of `Another exercise`",
        "bob.json: schema `lab.verify/1`",
        "ada2.json: a second report of student `ada`",
        "missing.json:",
    ] {
        assert!(err.contains(expected), "{expected}: {err}");
    }
    assert!(!dir.path().join("grades").exists());
}

#[test]
fn grade_wants_submissions_or_reports_and_a_built_lab() {
    let dir = tempfile::tempdir().unwrap();
    let exercise = shipped_exercise();
    let out = run_lab(dir.path(), &[], &["grade", &exercise]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    std::fs::write(
        dir.path().join("lab.toml"),
        "box = \"x/y\"\nengine = \"native\"\nmode = \"swarm\"\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("ada")).unwrap();
    let out = run_lab(dir.path(), &[], &["grade", &exercise, "ada"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("is not built"),
        "{}",
        text(&out.stderr)
    );
    let out = run_lab(dir.path(), &[], &["grade", &exercise, "ada", "carol"]);
    assert!(
        text(&out.stderr).contains("carol is not a directory"),
        "{}",
        text(&out.stderr)
    );
    // Nothing was made for a lab that was never built.
    assert!(!dir.path().join(".lab").exists());
}
