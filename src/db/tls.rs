//! TLS for the server drivers, with rustls and its ring provider: the client configuration a
//! URL's TLS settings ask for (`config/tls.rs`), and a driver's TLS failure as a [`TlsProblem`].
//!
//! libpq's rules: `prefer` and `require` encrypt without checking the server's certificate,
//! unless a root certificate is given, which makes them check its chain; `verify-ca` checks the
//! chain, `verify-full` the chain and the host name.

use std::path::Path;

use rustls::CertificateError;

use crate::config::tls::{RootCert, TlsSettings};
use crate::error::{Error, Result, TlsProblem};

#[cfg(feature = "postgres")]
pub(crate) use client::client_config;

/// The client configuration, for the driver that takes one (`postgres`).
#[cfg(feature = "postgres")]
mod client {
    use std::path::Path;
    use std::sync::Arc;

    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::client::WebPkiServerVerifier;
    use rustls::crypto::WebPkiSupportedAlgorithms;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
    use rustls::{
        CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
    };

    use super::{read_file, unusable};
    use crate::config::tls::{RootCert, TlsSettings, Verify};
    use crate::error::{Error, Result};

    /// The rustls client configuration for `settings`; `url` is the URL as messages show it.
    pub(crate) fn client_config(settings: &TlsSettings, url: &str) -> Result<ClientConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::TlsSettingInvalid {
                url: url.to_string(),
                problem: format!("no TLS protocol version to offer: {e}"),
            })?;
        let verify = settings.verify();
        let roots = match (&settings.root_cert, verify) {
            (_, Verify::Nothing) => None,
            (Some(root), _) => Some(Arc::new(root_store(settings, root, url)?)),
            (None, _) => {
                let names = settings.names();
                return Err(Error::TlsRootCertMissing {
                    url: url.to_string(),
                    mode_param: names.mode,
                    mode: settings.mode_name(),
                    root_param: names.root_cert,
                });
            }
        };
        let builder = match (roots, verify) {
            (Some(roots), Verify::ChainAndHost) => builder.with_root_certificates(roots),
            (roots, _) => {
                let chain = match roots {
                    Some(roots) => Some(
                        WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                            .build()
                            .map_err(|e| Error::TlsSettingInvalid {
                                url: url.to_string(),
                                problem: format!(
                                    "cannot verify against the root certificates: {e}"
                                ),
                            })?,
                    ),
                    None => None,
                };
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(WeakVerifier {
                        chain,
                        algorithms: provider.signature_verification_algorithms,
                    }))
            }
        };
        match (&settings.cert, &settings.key) {
            (Some(cert), Some(key)) => {
                let names = settings.names();
                let chain = read_certificates(cert, names.cert, url)?;
                let key_pem = read_file(key, names.key, url)?;
                let private = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
                    unusable(
                        url,
                        names.key,
                        key,
                        format!("no PEM private key in it ({e})"),
                    )
                })?;
                builder
                    .with_client_auth_cert(chain, private)
                    .map_err(|e| unusable(url, names.key, key, format!("{e}")))
            }
            _ => Ok(builder.with_no_client_auth()),
        }
    }

    fn root_store(settings: &TlsSettings, root: &RootCert, url: &str) -> Result<RootCertStore> {
        let mut store = RootCertStore::empty();
        match root {
            RootCert::System => store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            RootCert::File(path) => {
                let param = settings.names().root_cert;
                for cert in read_certificates(path, param, url)? {
                    store.add(cert).map_err(|e| {
                        unusable(url, param, path, format!("not a CA certificate: {e}"))
                    })?;
                }
            }
        }
        Ok(store)
    }

    fn read_certificates(
        path: &Path,
        param: &'static str,
        url: &str,
    ) -> Result<Vec<CertificateDer<'static>>> {
        let pem = read_file(path, param, url)?;
        let certs = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| {
                unusable(
                    url,
                    param,
                    path,
                    format!("not a PEM certificate file ({e})"),
                )
            })?;
        if certs.is_empty() {
            return Err(unusable(
                url,
                param,
                path,
                "no PEM certificate in it".into(),
            ));
        }
        Ok(certs)
    }

    /// The verifier of `prefer`/`require` (nothing, or with a root certificate the chain) and of
    /// `verify-ca` (the chain, not the name). The handshake's signatures are always checked: the
    /// server must hold the key of the certificate it shows.
    #[derive(Debug)]
    struct WeakVerifier {
        chain: Option<Arc<WebPkiServerVerifier>>,
        algorithms: WebPkiSupportedAlgorithms,
    }

    impl ServerCertVerifier for WeakVerifier {
        fn verify_server_cert(
            &self,
            end_entity: &CertificateDer<'_>,
            intermediates: &[CertificateDer<'_>],
            server_name: &ServerName<'_>,
            ocsp: &[u8],
            now: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            let Some(chain) = &self.chain else {
                return Ok(ServerCertVerified::assertion());
            };
            match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
                Err(rustls::Error::InvalidCertificate(
                    CertificateError::NotValidForName
                    | CertificateError::NotValidForNameContext { .. },
                )) => Ok(ServerCertVerified::assertion()),
                other => other,
            }
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.algorithms.supported_schemes()
        }
    }
}

/// A certificate or key file, checked before the driver sees it (the `mysql` driver would
/// report a missing file as a bare I/O error).
pub(crate) fn read_file(path: &Path, param: &'static str, url: &str) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| unusable(url, param, path, e.to_string()))
}

fn unusable(url: &str, param: &'static str, path: &Path, problem: String) -> Error {
    Error::TlsFileUnusable {
        url: url.to_string(),
        param,
        path: path.to_path_buf(),
        problem,
    }
}

/// Makes ring the process's rustls provider, for a driver that builds its own configuration
/// (`mysql`); a no-op when the application installed one already.
#[cfg(feature = "mysql")]
pub(crate) fn install_provider() {
    let _ =
        rustls::crypto::CryptoProvider::install_default(rustls::crypto::ring::default_provider());
}

/// The TLS failure in a driver's error chain, if it is one; `server_refused` is the driver's
/// text for a server that answers the request for TLS with "no", where it has no type for it.
pub(crate) fn problem(
    error: &(dyn std::error::Error + 'static),
    settings: &TlsSettings,
    server_refused: Option<&str>,
) -> Option<TlsProblem> {
    let mut next = Some(error);
    while let Some(e) = next {
        let rustls_error = e.downcast_ref::<rustls::Error>().or_else(|| {
            // `io::Error::source` skips the error it wraps: look inside.
            e.downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        });
        if let Some(found) = rustls_error {
            return Some(from_rustls(found, settings));
        }
        if server_refused.is_some_and(|text| e.to_string().contains(text)) {
            return Some(TlsProblem::ServerRefused);
        }
        next = e.source();
    }
    None
}

fn from_rustls(error: &rustls::Error, settings: &TlsSettings) -> TlsProblem {
    match error {
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
            TlsProblem::UnknownIssuer {
                roots: match &settings.root_cert {
                    Some(RootCert::File(path)) => {
                        format!("`{}` file `{}`", settings.names().root_cert, path.display())
                    }
                    Some(RootCert::System) => {
                        "the public authorities of `sslrootcert=system`".into()
                    }
                    None => "the built-in public authorities".into(),
                },
            }
        }
        rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext {
            expected,
            presented,
        }) => TlsProblem::NameMismatch {
            host: expected.to_str().into_owned(),
            names: presented
                .iter()
                .map(|name| format!("`{}`", presented_name(name)))
                .collect::<Vec<_>>()
                .join(", "),
        },
        other => TlsProblem::Other(other.to_string()),
    }
}

/// A name as rustls presents it (`DnsName("db.example")`, `IpAddress(10.0.0.1)`), bare.
fn presented_name(name: &str) -> &str {
    match name.split_once('(') {
        Some((_, inner)) => inner.trim_end_matches(')').trim_matches('"'),
        None => name,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn presented_names_lose_their_wrapping() {
        assert_eq!(
            super::presented_name("DnsName(\"db.example\")"),
            "db.example"
        );
        assert_eq!(super::presented_name("IpAddress(10.0.0.1)"), "10.0.0.1");
        assert_eq!(super::presented_name("plain"), "plain");
    }
}
