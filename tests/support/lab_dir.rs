//! The one fixture for a lab directory: a temporary directory with a
//! lab.toml, the environment lab runs with there, and where it runs (the
//! directory, or a pack made from it). A lab that makes real machines
//! (see [`LabDir::makes`]) is taken down when the fixture goes, whatever
//! the test did: `lab destroy`, then anything of its name and subnet still
//! on the host. Each test file adds the methods only it needs in an `impl
//! LabDir` of its own.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::{docker_after_env, lab_command, remove_leftovers, run_lab, succeeded, text};

pub struct LabDir {
    pub dir: tempfile::TempDir,
    /// Where lab runs: the directory, or a pack made from it.
    pub root: PathBuf,
    pub env: Vec<(&'static str, String)>,
    /// The lab's name and subnet, when it makes real machines.
    pub name: String,
    pub subnet: String,
    /// Taken down already (or never to be): nothing to do at the end.
    down: bool,
}

impl LabDir {
    /// An empty lab directory whose name starts with `prefix` (a name
    /// with a space, quotes and `$(...)` tests that lab hands its paths on
    /// as they are, never through a shell).
    pub fn new(prefix: &str) -> LabDir {
        let dir = tempfile::Builder::new().prefix(prefix).tempdir().unwrap();
        LabDir {
            root: dir.path().to_path_buf(),
            dir,
            env: Vec::new(),
            name: String::new(),
            subnet: String::new(),
            down: true,
        }
    }

    /// The lab is `name` on `subnet` and makes real machines: it is taken
    /// down at the end.
    pub fn makes(mut self, name: String, subnet: String) -> LabDir {
        self.name = name;
        self.subnet = subnet;
        self.down = false;
        self
    }

    pub fn with_env(mut self, env: Vec<(&'static str, String)>) -> LabDir {
        self.env = env;
        self
    }

    /// Writes `name` (lab.toml, a transcript) in the directory.
    pub fn write(&self, name: &str, text: &str) {
        std::fs::write(self.dir.path().join(name), text).unwrap();
    }

    /// Where lab runs.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// lab with these arguments, to run or to start.
    pub fn command(&self, args: &[&str]) -> Command {
        lab_command(self.path(), &self.env, args)
    }

    pub fn lab(&self, args: &[&str]) -> Output {
        run_lab(self.path(), &self.env, args)
    }

    /// `lab ARGS` with one more variable.
    pub fn lab_with(&self, extra: (&'static str, &str), args: &[&str]) -> Output {
        let mut env = self.env.clone();
        env.push((extra.0, extra.1.to_string()));
        run_lab(self.path(), &env, args)
    }

    /// `lab ARGS`, which must succeed: its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        succeeded(&self.lab(args), args)
    }

    /// `docker ARGS` with the real client, in a bash that ran
    /// `eval "$(lab env MACHINE)"` as a student would.
    pub fn docker_on(&self, machine: &str, args: &str) -> Output {
        docker_after_env(self.path(), &self.env, machine, args)
    }

    /// The same, which must succeed: its stdout.
    pub fn docker_ok(&self, machine: &str, args: &str) -> String {
        let out = self.docker_on(machine, args);
        assert!(
            out.status.success(),
            "docker {args} on {machine}: {}\n{}{}",
            out.status,
            text(&out.stdout),
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    /// Takes the lab down now: `lab destroy`, then what is left of its
    /// name and subnet. Once only; the end of the test does it otherwise.
    pub fn take_down(&mut self) {
        if !std::mem::replace(&mut self.down, true) {
            let _ = self.lab(&["destroy", "-q"]);
            remove_leftovers(&self.name, &self.subnet);
        }
    }
}

impl Drop for LabDir {
    fn drop(&mut self) {
        self.take_down();
    }
}
