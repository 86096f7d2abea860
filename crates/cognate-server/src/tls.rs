//! Serving over TLS (rustls): the certificate and key from PEM files, and a
//! listener that completes each TLS handshake in its own task, so a slow or
//! silent client never holds up the others.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
pub use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::server::TlsStream;

/// How long a client may take to finish its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshaken connections waiting for the server to take them.
const QUEUE: usize = 128;

/// A TLS configuration from a PEM certificate chain and a PEM private key
/// (PKCS#8, PKCS#1 or SEC1), speaking HTTP/1.1.
pub fn server_config(cert_path: &str, key_path: &str) -> Result<Arc<ServerConfig>, String> {
    let certs = CertificateDer::pem_file_iter(cert_path)
        .and_then(|i| i.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("TLS certificate {cert_path}: {e}"))?;
    if certs.is_empty() {
        return Err(format!("TLS certificate {cert_path}: no certificate in the file"));
    }
    let key = PrivateKeyDer::from_pem_file(key_path).map_err(|e| format!("TLS key {key_path}: {e}"))?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("TLS certificate and key: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Accepts TCP connections and hands on those whose handshake completed.
#[derive(Debug)]
pub struct TlsListener {
    addr: SocketAddr,
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    accepting: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    pub fn new(listener: TcpListener, config: Arc<ServerConfig>) -> io::Result<TlsListener> {
        let addr = listener.local_addr()?;
        let acceptor = TlsAcceptor::from(config);
        let (tx, ready) = mpsc::channel(QUEUE);
        let accepting = tokio::spawn(async move {
            loop {
                let (tcp, peer) = match listener.accept().await {
                    Ok(c) => c,
                    Err(e) => {
                        // Out of file descriptors and the like: wait, go on.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(tls)) => {
                            let _ = tx.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(error = %e, %peer, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(TlsListener { addr, ready, accepting })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(c) => c,
            // The accepting task never ends on its own; if it is gone, so
            // is the server: wait forever, as a closed listener does.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.addr)
    }
}

/// The peer of a TLS connection, as axum's connect info.
#[derive(Debug, Clone, Copy)]
pub struct TlsPeer(pub SocketAddr);

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, TlsListener>> for TlsPeer {
    fn connect_info(stream: axum::serve::IncomingStream<'_, TlsListener>) -> TlsPeer {
        TlsPeer(*stream.remote_addr())
    }
}

/// The regions a development certificate names prefix domains in
/// (`*.auth.{region}.{base}`): AWS's public regions.
const REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-7",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-south-1",
    "eu-south-2",
    "eu-north-1",
    "il-central-1",
    "me-south-1",
    "me-central-1",
    "mx-central-1",
    "sa-east-1",
];

/// The files of a development certificate.
#[derive(Debug, Clone)]
pub struct DevCertificate {
    /// The CA's certificate, for clients to trust.
    pub ca: std::path::PathBuf,
    pub cert: std::path::PathBuf,
    pub key: std::path::PathBuf,
}

const CA_NAME: &str = "Cognate development CA";

/// The CA's subject and signing rules; rebuilt alike each time, so a CA
/// kept from an earlier start signs with the same issuer name.
fn dev_ca_params(base: &str) -> Result<rcgen::CertificateParams, rcgen::Error> {
    use rcgen::{BasicConstraints, DnType, GeneralSubtree, IsCa, KeyUsagePurpose, NameConstraints};
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new())?;
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name.push(DnType::CommonName, CA_NAME);
    p.distinguished_name.push(DnType::OrganizationName, "Cognate");
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    // Only names on this machine: a copied CA cannot vouch for anyone else.
    let mut permitted = vec![GeneralSubtree::DnsName("localhost".into())];
    if base != "localhost" {
        permitted.push(GeneralSubtree::DnsName(base.into()));
    }
    permitted.push(GeneralSubtree::IpAddress(rcgen::CidrSubnet::V4([127, 0, 0, 0], [255, 0, 0, 0])));
    let mut loopback6 = [0u8; 16];
    loopback6[15] = 1;
    permitted.push(GeneralSubtree::IpAddress(rcgen::CidrSubnet::V6(loopback6, [0xff; 16])));
    p.name_constraints = Some(NameConstraints { permitted_subtrees: permitted, excluded_subtrees: vec![] });
    Ok(p)
}

/// (year, month, day) of a day counted from 1970-01-01.
fn civil_date(days: i64) -> (i32, u8, u8) {
    // Eras of 400 years (146097 days), counted from 0000-03-01.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
    (year, month, day)
}

/// Today, in days from 1970-01-01.
fn today() -> i64 {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    i64::try_from(secs / 86_400).unwrap_or(0)
}

fn set_validity(p: &mut rcgen::CertificateParams, from: i64, to: i64) {
    let (y, m, d) = civil_date(from);
    p.not_before = rcgen::date_time_ymd(y, m, d);
    let (y, m, d) = civil_date(to);
    p.not_after = rcgen::date_time_ymd(y, m, d);
}

fn random_serial() -> rcgen::SerialNumber {
    // 16 random bytes (a UUID's 122 random bits), positive.
    let hex = cognate_crypto::ids::uuid_v4().replace('-', "");
    let mut bytes: Vec<u8> = (0..16).filter_map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()).collect();
    bytes[0] &= 0x7f;
    rcgen::SerialNumber::from_slice(&bytes)
}

/// Writes `text` to `path`, readable by the owner only when `private`.
fn write_file(path: &std::path::Path, text: &str, private: bool) -> Result<(), String> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut f = options.open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::PermissionsExt as _;
        f.set_permissions(std::fs::Permissions::from_mode(0o600)).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    f.write_all(text.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))
}

/// A development CA kept in `dir` (made on first use, its key readable by
/// the owner only, valid ten years, and constrained to names on this
/// machine), and a new certificate from it at every start for `localhost`,
/// `127.0.0.1`, `::1` and every region's `*.auth.{region}.{base}` (plus
/// `region`'s), valid from yesterday for 397 days. Custom domains need a
/// certificate of their own (`--tls-cert`).
pub fn dev_certificate(dir: &std::path::Path, base: &str, region: &str) -> Result<DevCertificate, String> {
    let fail = |e: rcgen::Error| format!("development certificate: {e}");
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let (ca_path, ca_key_path) = (dir.join("cognate-dev-ca.pem"), dir.join("cognate-dev-ca-key.pem"));
    let today = today();
    let ca_key = if ca_key_path.exists() && ca_path.exists() {
        let pem = std::fs::read_to_string(&ca_key_path).map_err(|e| format!("{}: {e}", ca_key_path.display()))?;
        rcgen::KeyPair::from_pem(&pem).map_err(|e| format!("{}: {e}", ca_key_path.display()))?
    } else {
        let key = rcgen::KeyPair::generate().map_err(fail)?;
        let mut params = dev_ca_params(base).map_err(fail)?;
        set_validity(&mut params, today - 1, today + 3650);
        params.serial_number = Some(random_serial());
        let ca = params.self_signed(&key).map_err(fail)?;
        write_file(&ca_key_path, &key.serialize_pem(), true)?;
        write_file(&ca_path, &ca.pem(), false)?;
        key
    };
    let issuer = rcgen::Issuer::new(dev_ca_params(base).map_err(fail)?, ca_key);

    let mut names = vec!["localhost".to_string()];
    let regions = REGIONS.iter().copied().chain((!REGIONS.contains(&region)).then_some(region));
    names.extend(regions.map(|r| format!("*.auth.{r}.{base}")));
    let mut params = rcgen::CertificateParams::new(names).map_err(fail)?;
    params.subject_alt_names.push(rcgen::SanType::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()));
    params.subject_alt_names.push(rcgen::SanType::IpAddress(std::net::Ipv6Addr::LOCALHOST.into()));
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(rcgen::DnType::CommonName, "Cognate development server");
    params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    params.serial_number = Some(random_serial());
    set_validity(&mut params, today - 1, today + 396);
    let key = rcgen::KeyPair::generate().map_err(fail)?;
    let cert = params.signed_by(&key, &issuer).map_err(fail)?;
    let (cert_path, key_path) = (dir.join("localhost.pem"), dir.join("localhost-key.pem"));
    write_file(&key_path, &key.serialize_pem(), true)?;
    write_file(&cert_path, &cert.pem(), false)?;
    Ok(DevCertificate { ca: ca_path, cert: cert_path, key: key_path })
}

#[cfg(test)]
mod dev_tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(civil_date(11_016), (2000, 2, 29));
        assert_eq!(civil_date(20_794), (2026, 12, 7));
        assert_eq!(civil_date(-1), (1969, 12, 31));
    }
}
