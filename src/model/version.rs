//! Versions and architectures as the programs lab drives print and name
//! them: plain data for every layer (`lab doctor` judges them in
//! checks/compat.rs).

/// A version as `major.minor.patch`.
pub type Version = (u32, u32, u32);

/// The first `N.N.N` in a version line: `Vagrant 2.3.4`, `6.1.38r153438`.
pub fn parse_version(text: &str) -> Option<(u32, u32, u32)> {
    static VERSION: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(\d+)\.(\d+)\.(\d+)").expect("valid regex")
    });
    let re = &*VERSION;
    let caps = re.captures(text)?;
    Some((
        caps[1].parse().ok()?,
        caps[2].parse().ok()?,
        caps[3].parse().ok()?,
    ))
}

/// The host's architecture as boxes name theirs.
pub fn host_arch() -> &'static str {
    arch_name(std::env::consts::ARCH)
}

/// Rust's name for an architecture (`x86_64`, `aarch64`) as Vagrant boxes
/// and Docker name it (`amd64`, `arm64`).
pub fn arch_name(rust: &str) -> &'static str {
    match rust {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "arm" => "arm",
        _ => "other",
    }
}
