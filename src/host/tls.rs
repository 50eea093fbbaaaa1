//! The lab's own certificate authority for `engine = "native"`: what
//! docker-machine keeps in `~/.docker/machine/certs`, kept in `.lab/certs`.
//!
//! The CA's key stays on the host; each machine gets a server certificate for
//! its private address and name, the host a client certificate for `docker`.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

pub const CA: &str = "ca.pem";
const CA_KEY: &str = "ca-key.pem";
pub const CLIENT: &str = "cert.pem";
pub const CLIENT_KEY: &str = "key.pem";
pub const SERVER: &str = "server.pem";
pub const SERVER_KEY: &str = "server-key.pem";

/// The CA's parameters. They are the same every time, so a CA written by
/// an earlier run signs again from its saved key alone.
fn ca_params(lab: &str) -> anyhow::Result<CertificateParams> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, format!("lab {lab} CA"));
    params
        .distinguished_name
        .push(DnType::OrganizationName, "lab");
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    Ok(params)
}

/// Writes a certificate (readable by all) or a key (`private`: its owner's).
fn write(path: &Path, text: &str, private: bool) -> anyhow::Result<()> {
    crate::process::files::write_whole(path, text.as_bytes(), private)
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// Makes the CA and the client certificate in `dir` unless they are there.
/// The CA's key lives beside the client certificates' directory, not in
/// it: that directory is `DOCKER_CERT_PATH`, which a handout gives away.
pub fn ca_key_path(dir: &Path) -> PathBuf {
    dir.parent().unwrap_or(dir).join("ca").join(CA_KEY)
}

pub fn ensure_ca(dir: &Path, lab: &str) -> anyhow::Result<()> {
    crate::process::files::private_dir(dir)?;
    let (ca, ca_key) = (dir.join(CA), ca_key_path(dir));
    if let Some(key_dir) = ca_key.parent() {
        crate::process::files::private_dir(key_dir)?;
    }
    // Where an earlier lab kept it.
    let old = dir.join(CA_KEY);
    if old.exists() && !ca_key.exists() {
        std::fs::rename(&old, &ca_key)
            .with_context(|| format!("moving the CA key out of {}", dir.display()))?;
    }
    match (ca.exists(), ca_key.exists()) {
        (true, true) => {}
        (false, false) => {
            let key = KeyPair::generate().context("generating the CA key")?;
            let cert = ca_params(lab)?.self_signed(&key)?;
            write(&ca_key, &key.serialize_pem(), true)?;
            write(&ca, &cert.pem(), false)?;
        }
        _ => anyhow::bail!(
            "{} holds only half of the lab's CA (ca.pem and ca-key.pem go together)\nhint: run `lab destroy` and `lab up` to start with new certificates",
            dir.display()
        ),
    }
    if !dir.join(CLIENT).exists() || !dir.join(CLIENT_KEY).exists() {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params
            .distinguished_name
            .push(DnType::CommonName, format!("lab {lab} client"));
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let cert = params.signed_by(&key, &issuer(dir, lab)?)?;
        write(&dir.join(CLIENT_KEY), &key.serialize_pem(), true)?;
        write(&dir.join(CLIENT), &cert.pem(), false)?;
    }
    Ok(())
}

fn issuer(dir: &Path, lab: &str) -> anyhow::Result<Issuer<'static, KeyPair>> {
    let key = KeyPair::from_pem(&read(&ca_key_path(dir))?).context("the CA key is unreadable")?;
    Ok(Issuer::new(ca_params(lab)?, key))
}

/// Where a machine's server certificate and key are kept.
pub fn server_dir(dir: &Path, machine: &str) -> PathBuf {
    dir.join(machine)
}

/// Issues `machine`'s server certificate for `names` (addresses and host
/// names), replacing an older one.
pub fn issue_server(dir: &Path, lab: &str, machine: &str, names: &[String]) -> anyhow::Result<()> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(names.to_vec())
        .with_context(|| format!("{names:?} are not valid certificate names"))?;
    params
        .distinguished_name
        .push(DnType::CommonName, machine.to_string());
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params.signed_by(&key, &issuer(dir, lab)?)?;
    let out = server_dir(dir, machine);
    std::fs::create_dir_all(&out)?;
    write(&out.join(SERVER_KEY), &key.serialize_pem(), true)?;
    write(&out.join(SERVER), &cert.pem(), false)?;
    Ok(())
}

/// Where `lab up` notes a native engine's address for `lab env`, which so
/// needs neither Vagrant nor ssh.
pub fn url_file(lab: &crate::model::Lab, machine: &str) -> PathBuf {
    server_dir(&lab.certs_dir(), machine).join("url")
}

/// A native engine as the last `lab up` left it.
pub fn native_from_state(
    lab: &crate::model::Lab,
    machine: &str,
) -> anyhow::Result<crate::tools::engine::Engine> {
    let path = url_file(lab, machine);
    let host = std::fs::read_to_string(&path)
        .map(|t| t.trim().to_string())
        .ok()
        .filter(|h| h.starts_with("tcp://"))
        .ok_or_else(|| {
            anyhow::anyhow!(
                "{machine} has no engine set up by lab yet ({} is missing)\nhint: run `lab up` (it redoes what is missing), then `lab status`",
                path.display()
            )
        })?;
    Ok(crate::tools::engine::Engine::tls_at(lab, machine, host))
}

// Unix only: they check Unix file modes.
#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn keys_are_private_and_the_ca_is_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let certs = tmp.path().join("certs");
        ensure_ca(&certs, "t").unwrap();
        let ca = read(&certs.join(CA)).unwrap();
        assert_eq!(mode(&ca_key_path(&certs)), 0o600);
        assert_eq!(mode(&certs.join(CLIENT_KEY)), 0o600);
        assert_eq!(mode(&certs), 0o700);
        ensure_ca(&certs, "t").unwrap();
        assert_eq!(
            read(&certs.join(CA)).unwrap(),
            ca,
            "a second run keeps the CA"
        );
        let handed_out: Vec<String> = std::fs::read_dir(&certs)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            !handed_out.iter().any(|f| f.contains("ca-key")),
            "the CA key is not in DOCKER_CERT_PATH: {handed_out:?}"
        );

        issue_server(&certs, "t", "node1", &["10.0.0.5".into(), "node1".into()]).unwrap();
        let server = server_dir(&certs, "node1");
        assert_eq!(mode(&server.join(SERVER_KEY)), 0o600);
        assert!(read(&server.join(SERVER))
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----"));
    }

    #[test]
    fn half_a_ca_is_an_error_not_a_silent_new_one() {
        let tmp = tempfile::tempdir().unwrap();
        let certs = tmp.path().join("certs");
        ensure_ca(&certs, "t").unwrap();
        std::fs::remove_file(ca_key_path(&certs)).unwrap();
        let err = ensure_ca(&certs, "t").unwrap_err().to_string();
        assert!(err.contains("half of the lab's CA"), "{err}");
    }

    #[test]
    fn a_ca_key_an_earlier_lab_left_among_the_client_files_is_moved_out() {
        let tmp = tempfile::tempdir().unwrap();
        let certs = tmp.path().join("certs");
        ensure_ca(&certs, "t").unwrap();
        let key = read(&ca_key_path(&certs)).unwrap();
        std::fs::rename(ca_key_path(&certs), certs.join(CA_KEY)).unwrap();
        ensure_ca(&certs, "t").unwrap();
        assert!(!certs.join(CA_KEY).exists());
        assert_eq!(read(&ca_key_path(&certs)).unwrap(), key);
    }
}

/// Whether the lab's CA and client certificate are on disk.
pub fn ca_ready(lab: &crate::model::Lab) -> bool {
    let dir = lab.certs_dir();
    [CA, CLIENT, CLIENT_KEY]
        .iter()
        .all(|f| dir.join(f).exists())
}
