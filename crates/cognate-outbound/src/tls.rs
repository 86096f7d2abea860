//! TLS as a client, for every adapter.

use std::sync::Arc;

/// TLS as a client: rustls on ring, Mozilla's roots, and `ca_file`'s
/// certificates if given.
pub fn client_config(ca_file: Option<&str>) -> Result<Arc<tokio_rustls::rustls::ClientConfig>, String> {
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::{CertificateDer, pem::PemObject as _};
    let mut roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    if let Some(path) = ca_file {
        let certs = CertificateDer::pem_file_iter(path).map_err(|e| format!("ca_file {path}: {e}"))?;
        let mut added = 0;
        for cert in certs {
            roots.add(cert.map_err(|e| format!("ca_file {path}: {e}"))?).map_err(|e| format!("ca_file {path}: {e}"))?;
            added += 1;
        }
        if added == 0 {
            return Err(format!("ca_file {path}: no certificate in it"));
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
