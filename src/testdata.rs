//! The real `vagrant` 2.3.4 and `docker-machine` 0.16.2 transcripts, copied
//! byte for byte from the shared contract into tests/fixtures.

use std::path::PathBuf;

fn fixture(dir: &str, name: &str, stream: &str) -> String {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests",
        "fixtures",
        dir,
        &format!("{name}.{stream}"),
    ]
    .iter()
    .collect();
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

pub fn vagrant_stdout(name: &str) -> String {
    fixture("vagrant", name, "stdout")
}

pub fn vagrant_stderr(name: &str) -> String {
    fixture("vagrant", name, "stderr")
}

pub fn dm_stdout(name: &str) -> String {
    fixture("docker-machine", name, "stdout")
}
