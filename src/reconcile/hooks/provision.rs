//! `engine = "native"`: lab makes each machine's Docker engine reachable over
//! TLS itself, the steps docker-machine's generic driver runs over SSH
//! (see the contract's create-ok-debug.txt), without docker-machine.

use std::path::PathBuf;

use crate::host::tls;
use crate::model::{Lab, Machine};
use crate::reconcile::observed::Observed;
use crate::reconcile::plan::{Action, Stage, Step};
use crate::tools::ssh::{remote_command, ssh};

use crate::reconcile::observe::{ip_of, ssh_of};

use super::Hook;

pub struct Provision;

/// Where the engine's certificates live on the machine, as docker-machine has them.
const REMOTE_DIR: &str = "/etc/docker";
const DROP_IN: &str = "/etc/systemd/system/docker.service.d/10-lab.conf";

/// Installs Docker only when the machine has none, so boxes with Docker
/// inside need no network. `$1` is the install URL; empty means never.
const INSTALL: &str = r#"command -v dockerd >/dev/null 2>&1 && exit 0; [ -n "$1" ] || { echo "Docker is missing here and [docker] install_url is empty" >&2; exit 3; }; curl -fsSL "$1" | sh"#;

/// Writes stdin to `$2` in directory `$1` with mode `$3`; a key is never
/// readable by others, not even for a moment.
const WRITE: &str = r#"umask 077 && mkdir -p "$1" && cat > "$2" && chmod "$3" "$2""#;

const RESTART: &str = "systemctl daemon-reload && systemctl enable docker.service && systemctl restart docker.service";

/// The systemd drop-in that puts dockerd on TCP with TLS beside its socket.
/// `/usr/bin/env` finds dockerd in /usr/sbin (Debian) or /usr/bin (docker-ce).
pub fn drop_in(lab: &Lab, machine: &str) -> String {
    let mut args = vec![
        "/usr/bin/env".to_string(),
        "dockerd".into(),
        "-H".into(),
        "unix:///var/run/docker.sock".into(),
        "-H".into(),
        format!("tcp://0.0.0.0:{}", lab.docker_port),
        "--tlsverify".into(),
        "--tlscacert".into(),
        format!("{REMOTE_DIR}/{}", tls::CA),
        "--tlscert".into(),
        format!("{REMOTE_DIR}/{}", tls::SERVER),
        "--tlskey".into(),
        format!("{REMOTE_DIR}/{}", tls::SERVER_KEY),
        "--label".into(),
        format!("lab={}", lab.name),
        "--label".into(),
        format!("lab.machine={machine}"),
    ];
    args.extend(lab.engine_opts.iter().map(|o| format!("--{o}")));
    let words: Vec<String> = args.iter().map(|a| systemd_word(a)).collect();
    format!(
        "# Written by lab for {}; `lab destroy` removes the machine with it.\n[Service]\nExecStart=\nExecStart={}\n",
        lab.name,
        words.join(" ")
    )
}

/// One ExecStart word: bare when plain, else double-quoted with escapes.
fn systemd_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-./:=,@+".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_string()
    } else {
        let escaped = word
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('%', "%%")
            .replace('$', "$$");
        format!("\"{escaped}\"")
    }
}

fn sudo_sh(script: &str, params: &[&str]) -> String {
    let mut words = vec!["sudo", "sh", "-c", script, "sh"];
    words.extend_from_slice(params);
    remote_command(&words)
}

impl Hook for Provision {
    fn name(&self) -> &'static str {
        "native-engine"
    }

    fn applies(&self, lab: &Lab) -> bool {
        crate::reconcile::driver::of(lab).hook() == self.name()
    }

    fn on_create(&self, lab: &Lab, machine: &Machine, seen: &Observed) -> Vec<Step> {
        let mut steps = Vec::new();
        // Planned once, with the master, for all machines.
        if machine.name == lab.master().name && !seen.ca_ready {
            steps.push(self.step(
                Stage::Ca,
                None,
                "no CA for this lab yet",
                Action::EnsureCa {
                    dir: lab.certs_dir(),
                    lab: lab.name.clone(),
                },
            ));
        }
        let reason = match seen.engines.get(&machine.name) {
            Some(Ok(_)) => return steps,
            Some(Err(e)) => format!("its engine does not answer over TLS: {}", first_line(e)),
            None => "its engine is not set up yet".to_string(),
        };
        steps.extend(
            engine_setup(lab, seen, &machine.name, &reason)
                .into_iter()
                .map(|(why, action)| self.step(Stage::Engines, Some(&machine.name), why, action)),
        );
        steps
    }
    // The engine goes with its machine, the certificates with `.lab`.
}

/// Docker on `name` over SSH, where it is missing, from `[docker] install_url`.
pub fn install_docker(lab: &Lab, seen: &Observed, name: &str) -> Action {
    Action::Run {
        command: ssh(
            &ssh_of(lab, seen, name),
            &sudo_sh(INSTALL, &[&lab.install_url]),
        ),
    }
}

/// What makes `name`'s engine serve TLS, each action with why: its server
/// certificate, the systemd drop-in, Docker where it is missing, the files
/// copied over, the restart, and the wait until it answers.
fn engine_setup(lab: &Lab, seen: &Observed, name: &str, reason: &str) -> Vec<(String, Action)> {
    let certs = lab.certs_dir();
    let ip = ip_of(lab, seen, name);
    let target = ssh_of(lab, seen, name);
    let server = tls::server_dir(&certs, name);
    let drop_in_file = server.join("docker.conf");
    let upload = |from: PathBuf, to: &str, mode: &str| Action::Upload {
        command: ssh(&target, &sudo_sh(WRITE, &[parent_dir(to), to, mode])),
        from,
    };
    let remote = |file: &str| format!("{REMOTE_DIR}/{file}");
    let because = |action: Action| (reason.to_string(), action);
    vec![
        because(Action::IssueCert {
            dir: certs.clone(),
            lab: lab.name.clone(),
            machine: name.to_string(),
            names: vec![
                ip.clone(),
                name.to_string(),
                "localhost".into(),
                "127.0.0.1".into(),
            ],
        }),
        because(Action::WriteFile {
            path: drop_in_file.clone(),
            text: drop_in(lab, name),
        }),
        (
            "`lab env` reads the engine's address from here".into(),
            Action::WriteFile {
                path: crate::host::tls::url_file(lab, name),
                text: format!("tcp://{ip}:{}\n", lab.docker_port),
            },
        ),
        (
            "Docker is installed only where it is missing".into(),
            install_docker(lab, seen, name),
        ),
        because(upload(certs.join(tls::CA), &remote(tls::CA), "0644")),
        because(upload(
            server.join(tls::SERVER),
            &remote(tls::SERVER),
            "0644",
        )),
        because(upload(
            server.join(tls::SERVER_KEY),
            &remote(tls::SERVER_KEY),
            "0600",
        )),
        because(upload(drop_in_file.clone(), DROP_IN, "0644")),
        because(Action::Run {
            command: ssh(&target, &sudo_sh(RESTART, &[])),
        }),
        because(Action::WaitEngine {
            engine: crate::reconcile::observe::engine_of(lab, seen, name),
        }),
    ]
}

fn parent_dir(path: &str) -> &str {
    path.rsplit_once('/').map_or("/", |(dir, _)| dir)
}

fn first_line(text: &str) -> &str {
    text.lines().find(|l| !l.trim().is_empty()).unwrap_or(text)
}

// Unix only: they run the install script with sh.
#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn lab() -> Lab {
        crate::model::parse(
            std::path::Path::new("/class/lab.toml"),
            "box = \"x/y\"\nengine = \"native\"\nmode = \"swarm\"\n[swarm]\nnodes = 1\nengine_opts = [\"log-opt=tag=a b\"]\n",
        )
        .unwrap()
    }

    /// The install script, run for real by `sh` (without sudo).
    fn install(path: &std::path::Path, url: &str) -> std::process::Output {
        std::process::Command::new("/bin/sh")
            .args(["-c", INSTALL, "sh", url])
            .env("PATH", path)
            .output()
            .unwrap()
    }

    #[test]
    fn docker_is_installed_only_where_it_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let out = install(dir.path(), "");
        assert_eq!(out.status.code(), Some(3));
        assert!(String::from_utf8_lossy(&out.stderr).contains("install_url is empty"));

        // With dockerd present nothing is fetched, whatever the URL.
        let dockerd = dir.path().join("dockerd");
        std::fs::write(&dockerd, "#!/bin/sh\n").unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&dockerd, std::fs::Permissions::from_mode(0o755)).unwrap();
        let out = install(dir.path(), "http://127.0.0.1:9/never");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[test]
    fn drop_in_serves_tls_beside_the_socket() {
        let text = drop_in(&lab(), "swarm-master");
        let exec = text.lines().last().unwrap();
        assert!(exec.starts_with("ExecStart=/usr/bin/env dockerd -H unix:///var/run/docker.sock -H tcp://0.0.0.0:2376 --tlsverify --tlscacert /etc/docker/ca.pem --tlscert /etc/docker/server.pem --tlskey /etc/docker/server-key.pem"), "{exec}");
        assert!(exec.ends_with(" \"--log-opt=tag=a b\""), "{exec}");
        assert!(
            text.contains("ExecStart=\n"),
            "clears the packaged ExecStart first"
        );
    }

    #[test]
    fn a_ready_engine_needs_nothing_and_a_new_one_everything() {
        let lab = lab();
        let mut seen = Observed {
            ca_ready: true,
            ..Observed::default()
        };
        let master = lab.master().clone();
        let steps = Provision.on_create(&lab, &master, &seen);
        assert_eq!(steps.len(), 10, "{steps:#?}");
        assert!(steps.iter().all(|s| s.stage == Stage::Engines));
        let shown: Vec<String> = steps.iter().map(|s| s.action.to_string()).collect();
        assert!(
            shown[4].contains("/etc/docker/ca.pem")
                && shown[4].ends_with("/class/.lab/certs/ca.pem"),
            "{}",
            shown[4]
        );
        assert!(
            shown[6].contains("0600"),
            "the key is uploaded private: {}",
            shown[6]
        );
        assert!(
            shown[9].contains("--tlsverify -H 'tcp://<swarm-master eth1 address>:2376'"),
            "{}",
            shown[9]
        );

        seen.engines
            .insert(master.name.clone(), Ok(Default::default()));
        assert!(Provision.on_create(&lab, &master, &seen).is_empty());

        seen.ca_ready = false;
        let steps = Provision.on_create(&lab, &master, &seen);
        assert_eq!(steps.len(), 1);
        assert_eq!(steps[0].stage, Stage::Ca);
    }
}
