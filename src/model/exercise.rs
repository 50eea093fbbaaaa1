//! An exercise file: what an instructor expects of a student's lab, as
//! checks that are data (Kathará's lab checker is the model): the swarm's
//! nodes, a service's tasks, an HTTP answer, a command's output. Read like
//! lab.toml, one function per kind of check, every error at its
//! file:line:column. Machines are named as in lab.toml and services as
//! the stack file names them, so one exercise serves every lab.

use std::path::{Path, PathBuf};
use std::time::Duration;

use regex::Regex;
use serde::Deserialize;
use toml::Spanned;

use super::source::{with_suggestion, Source};
use crate::error::{ConfigError, Error};

/// How long a check may keep trying (`within`), at the most.
const MAX_WITHIN: u64 = 3600;
/// Points one check may give, at the most.
const MAX_POINTS: u32 = 1000;

#[derive(Debug, Clone)]
pub struct Exercise {
    pub file: PathBuf,
    pub title: String,
    /// What `lab grade` deploys from each submission: this path, relative
    /// to the submission's directory.
    pub stack: Option<PathBuf>,
    pub checks: Vec<Check>,
}

impl Exercise {
    pub fn max_points(&self) -> u32 {
        self.checks.iter().map(|c| c.points).sum()
    }
}

#[derive(Debug, Clone)]
pub struct Check {
    pub name: String,
    pub points: u32,
    /// Shown when the check fails.
    pub hint: Option<String>,
    /// Keep trying this long before the check fails (a service starting).
    pub within: Duration,
    pub kind: Kind,
}

#[derive(Debug, Clone)]
pub enum Kind {
    /// The swarm's members as its manager lists them.
    Nodes {
        ready: Option<u32>,
        managers: Option<u32>,
    },
    Service(ServiceCheck),
    Http(HttpCheck),
    Exec(ExecCheck),
}

/// A service of the stack, by the name the stack file gives it.
#[derive(Debug, Clone)]
pub struct ServiceCheck {
    pub service: String,
    /// Tasks running now.
    pub running: Option<u32>,
    /// Every running task is on one of these machines.
    pub nodes: Vec<String>,
    /// Running tasks are on at least this many distinct machines.
    pub spread: Option<u32>,
    /// The service's image matches.
    pub image: Option<Regex>,
    /// The service publishes this port.
    pub published: Option<u16>,
    /// As many tasks run as the service declares.
    pub replicas: bool,
}

/// A request from the host to a machine's port.
#[derive(Debug, Clone)]
pub struct HttpCheck {
    pub machine: Target,
    pub port: u16,
    pub path: String,
    pub status: Option<u16>,
    pub body: Option<Regex>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Machine(String),
    /// `"*"`: every machine answers, as the routing mesh promises.
    Every,
}

/// A command in a running task of a service, or on a machine over ssh.
#[derive(Debug, Clone)]
pub struct ExecCheck {
    pub on: ExecOn,
    pub command: Vec<String>,
    pub exit: i32,
    pub stdout: Option<Regex>,
    pub stderr: Option<Regex>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecOn {
    Service(String),
    Machine(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExercise {
    title: Option<Spanned<String>>,
    stack: Option<Spanned<String>>,
    #[serde(default, rename = "check")]
    checks: Vec<Spanned<RawCheck>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCheck {
    name: Option<Spanned<String>>,
    points: Option<Spanned<u32>>,
    hint: Option<Spanned<String>>,
    within: Option<Spanned<u64>>,
    ready: Option<Spanned<u32>>,
    managers: Option<Spanned<u32>>,
    service: Option<Spanned<String>>,
    running: Option<Spanned<u32>>,
    nodes: Option<Spanned<Vec<Spanned<String>>>>,
    spread: Option<Spanned<u32>>,
    image: Option<Spanned<String>>,
    published: Option<Spanned<u16>>,
    replicas: Option<Spanned<bool>>,
    http: Option<Spanned<RawHttp>>,
    status: Option<Spanned<u16>>,
    body: Option<Spanned<String>>,
    exec: Option<Spanned<RawExec>>,
    exit: Option<Spanned<i32>>,
    stdout: Option<Spanned<String>>,
    stderr: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    machine: Spanned<String>,
    port: Spanned<u16>,
    path: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExec {
    service: Option<Spanned<String>>,
    machine: Option<Spanned<String>>,
    command: Spanned<Vec<String>>,
}

pub fn load(file: &Path) -> anyhow::Result<Exercise> {
    let text = std::fs::read_to_string(file).map_err(|e| Error::Invalid(format!(
            "cannot read the exercise {}: {e}\nhint: give an exercise file's path, like examples/redmine/exercise.toml",
            file.display()
        )))?;
    Ok(parse(file, &text).map_err(Error::Config)?)
}

pub fn parse(file: &Path, text: &str) -> Result<Exercise, ConfigError> {
    let src = Source { file, text };
    let raw: RawExercise = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..1);
        src.error_span(span, with_suggestion(e.message().trim_end()))
    })?;
    let title = match &raw.title {
        Some(t) if t.get_ref().trim().is_empty() => {
            return Err(src.error(t, "title must say what the exercise is"))
        }
        Some(t) => t.get_ref().clone(),
        None => {
            return Err(src.error_at(
                0,
                "missing key `title`: say what the exercise is, e.g. title = \"Redmine and PostgreSQL on two nodes\"",
            ))
        }
    };
    let stack = match &raw.stack {
        Some(s) if s.get_ref().trim().is_empty() || !inside(Path::new(s.get_ref())) => {
            return Err(src.error(
                s,
                "stack is the stack file's path inside each submission, like \"stack.yml\"",
            ))
        }
        Some(s) => Some(PathBuf::from(s.get_ref())),
        None => None,
    };
    if raw.checks.is_empty() {
        return Err(src.error_at(
            0,
            "an exercise needs at least one [[check]]: what would it grade?",
        ));
    }
    let mut checks: Vec<Check> = Vec::new();
    for raw_check in &raw.checks {
        let check = check(&src, raw_check)?;
        if checks.iter().any(|c| c.name == check.name) {
            let at = raw_check.get_ref().name.as_ref().expect("a named check");
            return Err(src.error(
                at,
                format!(
                    "a second check named `{}`: each check's name is its column in the grades",
                    check.name
                ),
            ));
        }
        checks.push(check);
    }
    Ok(Exercise {
        file: file.to_path_buf(),
        title,
        stack,
        checks,
    })
}

/// Whether `path` stays inside the directory it is read from: relative
/// (on every platform: `/x` has a root on Windows too), no `..`.
fn inside(path: &Path) -> bool {
    !path.has_root()
        && !path.is_absolute()
        && path.components().all(|c| {
            matches!(
                c,
                std::path::Component::Normal(_) | std::path::Component::CurDir
            )
        })
}

/// Which kind a check is, by the key that names it; the keys of the
/// other kinds are refused where they stand.
fn check(src: &Source, spanned: &Spanned<RawCheck>) -> Result<Check, ConfigError> {
    let raw = spanned.get_ref();
    let name = match &raw.name {
        Some(n) if n.get_ref().trim().is_empty() || n.get_ref().contains(char::is_control) => {
            return Err(src.error(n, "a check's name is a line of text, not empty"))
        }
        Some(n) => n.get_ref().clone(),
        None => {
            return Err(src.error_span(
                spanned.span(),
                "this [[check]] has no `name`: it is the check's line in every report",
            ))
        }
    };
    let kinds: Vec<&str> = [
        raw.service.as_ref().map(|_| "service"),
        raw.http.as_ref().map(|_| "http"),
        raw.exec.as_ref().map(|_| "exec"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let kind = match kinds.as_slice() {
        [] if raw.ready.is_some() || raw.managers.is_some() => Kind::Nodes {
            ready: raw.ready.as_ref().map(|r| *r.get_ref()),
            managers: raw.managers.as_ref().map(|m| *m.get_ref()),
        },
        [] => {
            return Err(src.error_span(
                spanned.span(),
                format!("check `{name}` checks nothing: give it `service`, `http`, `exec`, or `ready`/`managers` for the swarm's nodes"),
            ))
        }
        ["service"] => Kind::Service(service(src, raw)?),
        ["http"] => Kind::Http(http(src, raw)?),
        ["exec"] => Kind::Exec(exec(src, raw)?),
        _ => {
            return Err(src.error_span(
                spanned.span(),
                format!("check `{name}` is of two kinds ({}): make each its own [[check]]", kinds.join(" and ")),
            ))
        }
    };
    not_for(src, &kind, raw)?;
    let points = match &raw.points {
        Some(p) if *p.get_ref() > MAX_POINTS => {
            return Err(src.error(p, format!("points must be at most {MAX_POINTS}")))
        }
        Some(p) => *p.get_ref(),
        None => 1,
    };
    let within = match &raw.within {
        Some(w) if *w.get_ref() > MAX_WITHIN => {
            return Err(src.error(
                w,
                format!("within is seconds of trying, at most {MAX_WITHIN}"),
            ))
        }
        Some(w) => Duration::from_secs(*w.get_ref()),
        None => Duration::ZERO,
    };
    Ok(Check {
        name,
        points,
        hint: raw.hint.as_ref().map(|h| h.get_ref().clone()),
        within,
        kind,
    })
}

/// Keys that belong to another kind of check than `kind`.
fn not_for(src: &Source, kind: &Kind, raw: &RawCheck) -> Result<(), ConfigError> {
    let owner = |key: &str| match key {
        "ready" | "managers" => "the swarm's nodes (no `service`, `http` or `exec`)",
        "running" | "nodes" | "spread" | "image" | "published" | "replicas" => "a `service` check",
        "status" | "body" => "an `http` check",
        _ => "an `exec` check",
    };
    let mine: &[&str] = match kind {
        Kind::Nodes { .. } => &["ready", "managers"],
        Kind::Service(_) => &[
            "running",
            "nodes",
            "spread",
            "image",
            "published",
            "replicas",
        ],
        Kind::Http(_) => &["status", "body"],
        Kind::Exec(_) => &["exit", "stdout", "stderr"],
    };
    let present: [(&str, Option<std::ops::Range<usize>>); 13] = [
        ("ready", raw.ready.as_ref().map(Spanned::span)),
        ("managers", raw.managers.as_ref().map(Spanned::span)),
        ("running", raw.running.as_ref().map(Spanned::span)),
        ("nodes", raw.nodes.as_ref().map(Spanned::span)),
        ("spread", raw.spread.as_ref().map(Spanned::span)),
        ("image", raw.image.as_ref().map(Spanned::span)),
        ("published", raw.published.as_ref().map(Spanned::span)),
        ("replicas", raw.replicas.as_ref().map(Spanned::span)),
        ("status", raw.status.as_ref().map(Spanned::span)),
        ("body", raw.body.as_ref().map(Spanned::span)),
        ("exit", raw.exit.as_ref().map(Spanned::span)),
        ("stdout", raw.stdout.as_ref().map(Spanned::span)),
        ("stderr", raw.stderr.as_ref().map(Spanned::span)),
    ];
    for (key, span) in present {
        if let Some(span) = span.filter(|_| !mine.contains(&key)) {
            return Err(src.error_span(
                span,
                format!("`{key}` belongs to {}, not to this one", owner(key)),
            ));
        }
    }
    Ok(())
}

fn service(src: &Source, raw: &RawCheck) -> Result<ServiceCheck, ConfigError> {
    let service = raw.service.as_ref().expect("a service check");
    let name = stack_name(src, service, "service")?;
    let mut nodes = Vec::new();
    for n in raw.nodes.iter().flat_map(|n| n.get_ref()) {
        nodes.push(machine(src, n, "nodes")?);
    }
    if let Some(n) = raw.nodes.as_ref().filter(|n| n.get_ref().is_empty()) {
        return Err(src.error(
            n,
            "nodes lists the machines the tasks may run on: at least one",
        ));
    }
    let spread = match &raw.spread {
        Some(s) if *s.get_ref() == 0 => {
            return Err(src.error(s, "spread counts distinct machines: at least 1"))
        }
        other => other.as_ref().map(|s| *s.get_ref()),
    };
    let published = match &raw.published {
        Some(p) if *p.get_ref() == 0 => {
            return Err(src.error(p, "published must be a port between 1 and 65535"))
        }
        other => other.as_ref().map(|p| *p.get_ref()),
    };
    let check = ServiceCheck {
        service: name,
        running: raw.running.as_ref().map(|r| *r.get_ref()),
        nodes,
        spread,
        image: regex(src, raw.image.as_ref(), "image")?,
        published,
        replicas: raw.replicas.as_ref().is_some_and(|r| *r.get_ref()),
    };
    if check.running.is_none()
        && check.nodes.is_empty()
        && check.spread.is_none()
        && check.image.is_none()
        && check.published.is_none()
        && !check.replicas
    {
        return Err(src.error(
            service,
            "this service check expects nothing: add `running`, `nodes`, `spread`, `image`, `published` or `replicas = true`",
        ));
    }
    Ok(check)
}

fn http(src: &Source, raw: &RawCheck) -> Result<HttpCheck, ConfigError> {
    let spec = raw.http.as_ref().expect("an http check").get_ref();
    let machine = if spec.machine.get_ref() == "*" {
        Target::Every
    } else {
        Target::Machine(machine(src, &spec.machine, "http.machine")?)
    };
    if *spec.port.get_ref() == 0 {
        return Err(src.error(&spec.port, "http.port must be between 1 and 65535"));
    }
    let path = match &spec.path {
        Some(p) if !p.get_ref().starts_with('/') || p.get_ref().contains(char::is_whitespace) => {
            return Err(src.error(
                p,
                "http.path is the path of a URL, like \"/\" or \"/login\"",
            ))
        }
        Some(p) => p.get_ref().clone(),
        None => "/".into(),
    };
    let status = match &raw.status {
        Some(s) if !(100..=599).contains(s.get_ref()) => {
            return Err(src.error(s, "status is an HTTP status code, 100 to 599"))
        }
        other => other.as_ref().map(|s| *s.get_ref()),
    };
    Ok(HttpCheck {
        machine,
        port: *spec.port.get_ref(),
        path,
        status,
        body: regex(src, raw.body.as_ref(), "body")?,
    })
}

fn exec(src: &Source, raw: &RawCheck) -> Result<ExecCheck, ConfigError> {
    let spanned = raw.exec.as_ref().expect("an exec check");
    let spec = spanned.get_ref();
    let on = match (&spec.service, &spec.machine) {
        (Some(s), None) => ExecOn::Service(stack_name(src, s, "exec.service")?),
        (None, Some(m)) => ExecOn::Machine(machine(src, m, "exec.machine")?),
        _ => {
            return Err(src.error(
                spanned,
                "exec runs in a task of one `service` or on one `machine`: name one of them",
            ))
        }
    };
    let command = spec.command.get_ref().clone();
    if command.is_empty() || command[0].trim().is_empty() {
        return Err(src.error(
            &spec.command,
            "exec.command is the program and its arguments, like [\"getent\", \"hosts\", \"db\"]",
        ));
    }
    Ok(ExecCheck {
        on,
        command,
        exit: raw.exit.as_ref().map_or(0, |e| *e.get_ref()),
        stdout: regex(src, raw.stdout.as_ref(), "stdout")?,
        stderr: regex(src, raw.stderr.as_ref(), "stderr")?,
    })
}

/// A machine as lab.toml names it (which lab's machines there are is the
/// lab's to say, when the check runs).
fn machine(src: &Source, value: &Spanned<String>, key: &str) -> Result<String, ConfigError> {
    let name = value.get_ref();
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if !valid {
        return Err(src.error(
            value,
            format!(
                "{key}: `{}` is not a machine's name as lab.toml gives it (like \"swarm-node01\")",
                name.escape_debug()
            ),
        ));
    }
    Ok(name.clone())
}

/// A service as the stack file names it.
fn stack_name(src: &Source, value: &Spanned<String>, key: &str) -> Result<String, ConfigError> {
    let name = value.get_ref();
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if !valid {
        return Err(src.error(
            value,
            format!(
                "{key}: `{}` is not a service's name as a stack file gives it (like \"db\")",
                name.escape_debug()
            ),
        ));
    }
    Ok(name.clone())
}

fn regex(
    src: &Source,
    value: Option<&Spanned<String>>,
    key: &str,
) -> Result<Option<Regex>, ConfigError> {
    let Some(value) = value else {
        return Ok(None);
    };
    Regex::new(value.get_ref()).map(Some).map_err(|e| {
        src.error(
            value,
            format!(
                "{key} is a regular expression, and this one does not compile: {}",
                e.to_string().lines().last().unwrap_or_default()
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<Exercise, ConfigError> {
        parse(Path::new("exercise.toml"), text)
    }

    #[test]
    fn the_shipped_exercise_reads() {
        let file = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/redmine/exercise.toml"
        );
        let exercise = load(Path::new(file)).unwrap();
        assert!(!exercise.checks.is_empty());
        assert_eq!(exercise.stack.as_deref(), Some(Path::new("stack.yml")));
    }

    #[test]
    fn every_kind_of_check() {
        let text = r#"
title = "Redmine and PostgreSQL on two nodes"
stack = "stack.yml"

[[check]]
name = "three nodes, one manager"
ready = 3
managers = 1

[[check]]
name = "PostgreSQL runs on swarm-node02"
service = "db"
running = 1
nodes = ["swarm-node02"]
points = 2
hint = "a placement constraint: node.hostname == swarm-node02"

[[check]]
name = "web everywhere"
service = "web"
spread = 2
image = '^nginx'
published = 8080
replicas = true

[[check]]
name = "Redmine answers"
http = { machine = "swarm-node01", port = 3000, path = "/login" }
status = 200
body = "Redmine"
within = 180

[[check]]
name = "the mesh answers everywhere"
http = { machine = "*", port = 8080 }

[[check]]
name = "db resolves on the overlay"
exec = { service = "redmine", command = ["getent", "hosts", "db"] }
stdout = '^10\.'

[[check]]
name = "the master's engine"
exec = { machine = "swarm-master", command = ["docker", "info"] }
exit = 0
stderr = '^$'
"#;
        let e = parse_str(text).unwrap();
        assert_eq!(e.title, "Redmine and PostgreSQL on two nodes");
        assert_eq!(e.checks.len(), 7);
        assert_eq!(e.max_points(), 8);
        assert!(matches!(
            e.checks[0].kind,
            Kind::Nodes {
                ready: Some(3),
                managers: Some(1)
            }
        ));
        let Kind::Service(db) = &e.checks[1].kind else {
            panic!()
        };
        assert_eq!(
            (db.service.as_str(), db.running, db.nodes.as_slice()),
            ("db", Some(1), &["swarm-node02".to_string()][..])
        );
        assert_eq!(
            e.checks[1].hint.as_deref(),
            Some("a placement constraint: node.hostname == swarm-node02")
        );
        let Kind::Service(web) = &e.checks[2].kind else {
            panic!()
        };
        assert!(web.replicas && web.spread == Some(2) && web.published == Some(8080));
        assert!(web.image.as_ref().unwrap().is_match("nginx:1.25"));
        let Kind::Http(h) = &e.checks[3].kind else {
            panic!()
        };
        assert_eq!(
            (&h.machine, h.port, h.path.as_str(), h.status),
            (
                &Target::Machine("swarm-node01".into()),
                3000,
                "/login",
                Some(200)
            )
        );
        assert_eq!(e.checks[3].within, Duration::from_secs(180));
        let Kind::Http(every) = &e.checks[4].kind else {
            panic!()
        };
        assert_eq!((&every.machine, every.path.as_str()), (&Target::Every, "/"));
        let Kind::Exec(x) = &e.checks[5].kind else {
            panic!()
        };
        assert_eq!(x.on, ExecOn::Service("redmine".into()));
        assert_eq!(x.exit, 0);
        assert!(x.stdout.as_ref().unwrap().is_match("10.0.1.5 db"));
        let Kind::Exec(m) = &e.checks[6].kind else {
            panic!()
        };
        assert_eq!(m.on, ExecOn::Machine("swarm-master".into()));
    }

    /// Each mistake is refused where it stands, with the reason.
    #[test]
    fn every_mistake_is_refused_at_its_line_and_column() {
        let head = "title = \"t\"\n";
        let cases: &[(&str, &str, usize, usize)] = &[
            ("[[check]]\nname = \"a\"\nservice = \"db\"\nrunning = 1\nstatus = 200\n", "`status` belongs to an `http` check", 6, 10),
            ("[[check]]\nname = \"a\"\nhttp = { machine = \"m\", port = 80 }\nrunning = 1\n", "`running` belongs to a `service` check", 5, 11),
            ("[[check]]\nname = \"a\"\nready = 2\nstdout = 'x'\n", "`stdout` belongs to an `exec` check", 5, 10),
            ("[[check]]\nname = \"a\"\nservice = \"db\"\nhttp = { machine = \"m\", port = 80 }\n", "of two kinds (service and http)", 2, 1),
            ("[[check]]\nname = \"a\"\npoints = 2\n", "checks nothing", 2, 1),
            ("[[check]]\nservice = \"db\"\nrunning = 1\n", "has no `name`", 2, 1),
            ("[[check]]\nname = \"a\"\nservice = \"db\"\n", "expects nothing", 4, 11),
            ("[[check]]\nname = \"a\"\nservice = \"db\"\nimage = '(nginx'\n", "does not compile", 5, 9),
            ("[[check]]\nname = \"a\"\nhttp = { machine = \"m\", port = 0 }\n", "http.port must be", 4, 32),
            ("[[check]]\nname = \"a\"\nhttp = { machine = \"m\", port = 80, path = \"x\" }\n", "http.path", 4, 43),
            ("[[check]]\nname = \"a\"\nhttp = { machine = \"m\", port = 80 }\nstatus = 42\n", "HTTP status code", 5, 10),
            ("[[check]]\nname = \"a\"\nexec = { command = [\"ls\"] }\n", "one `service` or on one `machine`", 4, 8),
            ("[[check]]\nname = \"a\"\nexec = { machine = \"m\", command = [] }\n", "exec.command", 4, 35),
            ("[[check]]\nname = \"a\"\nexec = { machine = \"-rf\", command = [\"ls\"] }\n", "not a machine's name", 4, 20),
            ("[[check]]\nname = \"a\"\nready = 1\nwithin = 99999\n", "at most 3600", 5, 10),
            ("[[check]]\nname = \"a\"\nready = 1\npoints = 5000\n", "at most 1000", 5, 10),
            ("[[check]]\nname = \"a\"\nready = 1\n[[check]]\nname = \"a\"\nready = 2\n", "a second check named `a`", 6, 8),
            ("[[check]]\nname = \"a\"\nredy = 1\n", "did you mean `ready`?", 4, 1),
            ("stack = \"/abs/stack.yml\"\n[[check]]\nname = \"a\"\nready = 1\n", "inside each submission", 2, 9),
            ("stack = \"../stack.yml\"\n[[check]]\nname = \"a\"\nready = 1\n", "inside each submission", 2, 9),
        ];
        for (text, why, line, column) in cases {
            let err = parse_str(&format!("{head}{text}")).expect_err(text);
            assert!(err.message.contains(why), "{text}: {err}");
            assert_eq!((err.line, err.column), (*line, *column), "{text}: {err}");
        }
        let err = parse_str("[[check]]\nname = \"a\"\nready = 1\n").unwrap_err();
        assert!(err.message.contains("missing key `title`"), "{err}");
        let err = parse_str(head).unwrap_err();
        assert!(err.message.contains("at least one [[check]]"), "{err}");
    }
}
