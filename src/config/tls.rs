//! TLS settings of a server URL, in the names each engine's own client uses: libpq's `sslmode`,
//! `sslrootcert`, `sslcert`, `sslkey` for PostgreSQL, the `mysql` client's `ssl-mode`, `ssl-ca`,
//! `ssl-cert`, `ssl-key` for MySQL/MariaDB. The drivers (`db/tls.rs`) and the dump tools
//! (`backup/server.rs`) read the same settings, so a backup travels as safely as the run.

use std::path::PathBuf;

use crate::config::url::percent_decode;
use crate::config::Dialect;
use crate::error::{Error, Result};

/// How much TLS a connection asks for, weakest first (libpq's order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum TlsMode {
    /// Plain text only.
    Disable,
    /// Plain text; TLS only if the server refuses plain text.
    Allow,
    /// TLS if the server offers it, else plain text.
    Prefer,
    /// TLS or fail; the certificate is not checked (unless a root certificate is given).
    Require,
    /// TLS, and the server's certificate chains to the root certificate.
    VerifyCa,
    /// As `VerifyCa`, and the certificate is issued for the host connected to.
    VerifyFull,
}

/// What of the server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verify {
    Nothing,
    Chain,
    ChainAndHost,
}

/// Where the trusted root certificates come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RootCert {
    /// A PEM file of one or more CA certificates.
    File(PathBuf),
    /// The well-known public CAs (`sslrootcert=system`, as libpq 16 spells it).
    System,
}

/// The TLS parameters of one URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TlsSettings {
    pub(crate) dialect: Dialect,
    pub(crate) mode: TlsMode,
    pub(crate) root_cert: Option<RootCert>,
    /// Client certificate and its key, for servers that authenticate clients by certificate.
    pub(crate) cert: Option<PathBuf>,
    pub(crate) key: Option<PathBuf>,
}

/// The URL parameter names of one engine.
pub(crate) struct ParamNames {
    pub(crate) mode: &'static str,
    pub(crate) root_cert: &'static str,
    pub(crate) cert: &'static str,
    pub(crate) key: &'static str,
}

const POSTGRES_NAMES: ParamNames = ParamNames {
    mode: "sslmode",
    root_cert: "sslrootcert",
    cert: "sslcert",
    key: "sslkey",
};

const MYSQL_NAMES: ParamNames = ParamNames {
    mode: "ssl-mode",
    root_cert: "ssl-ca",
    cert: "ssl-cert",
    key: "ssl-key",
};

impl TlsSettings {
    /// The TLS parameters of `raw_url`'s query, and the query without them (for a driver that
    /// refuses parameters it does not know). `shown` is the URL as messages may show it.
    pub(crate) fn from_url(
        dialect: Dialect,
        raw_url: &str,
        shown: &str,
    ) -> Result<(TlsSettings, String)> {
        let names = param_names(dialect);
        let (base, query) = raw_url.split_once('?').unwrap_or((raw_url, ""));
        let mut settings = TlsSettings {
            dialect,
            mode: TlsMode::Prefer,
            root_cert: None,
            cert: None,
            key: None,
        };
        let mut mode_given = false;
        let mut rest = Vec::new();
        for param in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = param.split_once('=').unwrap_or((param, ""));
            let value = percent_decode(value);
            if key == names.mode {
                settings.mode =
                    parse_mode(dialect, &value).ok_or_else(|| Error::UnknownSslMode {
                        url: shown.to_string(),
                        param: names.mode,
                        value: value.clone(),
                        known: known_modes(dialect),
                    })?;
                mode_given = true;
            } else if key == names.root_cert {
                settings.root_cert = Some(match value.as_str() {
                    "system" if dialect == Dialect::Postgresql => RootCert::System,
                    _ => RootCert::File(PathBuf::from(value)),
                });
            } else if key == names.cert {
                settings.cert = Some(PathBuf::from(value));
            } else if key == names.key {
                settings.key = Some(PathBuf::from(value));
            } else {
                rest.push(param);
            }
        }
        // libpq: `sslrootcert=system` means verify-full unless a mode says otherwise, and a
        // weaker explicit mode is refused (it would trust any certificate from a public CA for
        // any host).
        if settings.root_cert == Some(RootCert::System) {
            if !mode_given {
                settings.mode = TlsMode::VerifyFull;
            } else if settings.mode != TlsMode::VerifyFull {
                return Err(Error::TlsSettingInvalid {
                    url: shown.to_string(),
                    problem: "`sslrootcert=system` needs `sslmode=verify-full` (a public CA \
                              vouches for a host name, not for a server)"
                        .into(),
                });
            }
        }
        if settings.cert.is_some() != settings.key.is_some() {
            return Err(Error::TlsSettingInvalid {
                url: shown.to_string(),
                problem: format!(
                    "a client certificate needs both `{}` and `{}`",
                    names.cert, names.key
                ),
            });
        }
        let stripped = if rest.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", rest.join("&"))
        };
        Ok((settings, stripped))
    }

    /// What of the server's certificate is checked. As libpq (and the `mysql` client with
    /// `ssl-ca`) do, a root certificate given to `require`/`prefer` checks the chain.
    pub(crate) fn verify(&self) -> Verify {
        match self.mode {
            TlsMode::VerifyFull => Verify::ChainAndHost,
            TlsMode::VerifyCa => Verify::Chain,
            _ if self.root_cert.is_some() => Verify::Chain,
            _ => Verify::Nothing,
        }
    }

    /// The engine's parameter names, for the drivers' messages.
    #[cfg(any(feature = "postgres", feature = "mysql"))]
    pub(crate) fn names(&self) -> &'static ParamNames {
        param_names(self.dialect)
    }

    /// The mode as the engine's client spells it.
    pub(crate) fn mode_name(&self) -> &'static str {
        mode_name(self.dialect, self.mode)
    }
}

pub(crate) fn param_names(dialect: Dialect) -> &'static ParamNames {
    match dialect {
        Dialect::Mysql => &MYSQL_NAMES,
        _ => &POSTGRES_NAMES,
    }
}

const MODES: [TlsMode; 6] = [
    TlsMode::Disable,
    TlsMode::Allow,
    TlsMode::Prefer,
    TlsMode::Require,
    TlsMode::VerifyCa,
    TlsMode::VerifyFull,
];

/// The mode as the engine's client spells it; MySQL has no `allow`.
pub(crate) fn mode_name(dialect: Dialect, mode: TlsMode) -> &'static str {
    match (dialect, mode) {
        (Dialect::Mysql, TlsMode::Disable | TlsMode::Allow) => "DISABLED",
        (Dialect::Mysql, TlsMode::Prefer) => "PREFERRED",
        (Dialect::Mysql, TlsMode::Require) => "REQUIRED",
        (Dialect::Mysql, TlsMode::VerifyCa) => "VERIFY_CA",
        (Dialect::Mysql, TlsMode::VerifyFull) => "VERIFY_IDENTITY",
        (_, TlsMode::Disable) => "disable",
        (_, TlsMode::Allow) => "allow",
        (_, TlsMode::Prefer) => "prefer",
        (_, TlsMode::Require) => "require",
        (_, TlsMode::VerifyCa) => "verify-ca",
        (_, TlsMode::VerifyFull) => "verify-full",
    }
}

fn parse_mode(dialect: Dialect, value: &str) -> Option<TlsMode> {
    MODES.into_iter().find(|&mode| match dialect {
        // The `mysql` client takes its modes in any case.
        Dialect::Mysql => {
            mode != TlsMode::Allow && value.eq_ignore_ascii_case(mode_name(dialect, mode))
        }
        _ => value == mode_name(dialect, mode),
    })
}

fn known_modes(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Mysql => "`DISABLED`, `PREFERRED`, `REQUIRED`, `VERIFY_CA` or `VERIFY_IDENTITY`",
        _ => "`disable`, `allow`, `prefer`, `require`, `verify-ca` or `verify-full`",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(dialect: Dialect, url: &str) -> Result<(TlsSettings, String)> {
        TlsSettings::from_url(dialect, url, url)
    }

    #[test]
    fn postgres_modes_follow_libpq() {
        let (s, rest) = parse(Dialect::Postgresql, "postgresql://h/db?application_name=a").unwrap();
        assert_eq!((s.mode, s.verify()), (TlsMode::Prefer, Verify::Nothing));
        assert_eq!(rest, "postgresql://h/db?application_name=a");
        for (mode, verify) in [
            ("disable", Verify::Nothing),
            ("allow", Verify::Nothing),
            ("prefer", Verify::Nothing),
            ("require", Verify::Nothing),
            ("verify-ca", Verify::Chain),
            ("verify-full", Verify::ChainAndHost),
        ] {
            let (s, rest) = parse(
                Dialect::Postgresql,
                &format!("postgresql://h/db?sslmode={mode}"),
            )
            .unwrap();
            assert_eq!((s.mode_name(), s.verify()), (mode, verify));
            assert_eq!(rest, "postgresql://h/db");
        }
        // A root certificate makes `require` check the chain, as libpq does.
        let (s, rest) = parse(
            Dialect::Postgresql,
            "postgresql://h/db?sslmode=require&sslrootcert=%2Ftmp%2Fca.pem&connect_timeout=3",
        )
        .unwrap();
        assert_eq!(s.verify(), Verify::Chain);
        assert_eq!(s.root_cert, Some(RootCert::File("/tmp/ca.pem".into())));
        assert_eq!(rest, "postgresql://h/db?connect_timeout=3");
    }

    #[test]
    fn system_roots_mean_verify_full() {
        let (s, _) = parse(Dialect::Postgresql, "postgresql://h/db?sslrootcert=system").unwrap();
        assert_eq!(
            (s.mode, s.root_cert),
            (TlsMode::VerifyFull, Some(RootCert::System))
        );
        let err = parse(
            Dialect::Postgresql,
            "postgresql://h/db?sslrootcert=system&sslmode=require",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("needs `sslmode=verify-full`"), "{err}");
    }

    #[test]
    fn mysql_modes_in_any_case_and_client_certs_in_pairs() {
        let (s, rest) = parse(
            Dialect::Mysql,
            "mysql://root@h/test?ssl-mode=verify_identity&ssl-ca=ca.pem&prefer_socket=false",
        )
        .unwrap();
        assert_eq!(
            (s.mode, s.verify()),
            (TlsMode::VerifyFull, Verify::ChainAndHost)
        );
        assert_eq!(rest, "mysql://root@h/test?prefer_socket=false");
        let err = parse(Dialect::Mysql, "mysql://root@h/test?ssl-cert=c.pem")
            .unwrap_err()
            .to_string();
        assert!(err.contains("both `ssl-cert` and `ssl-key`"), "{err}");
        // `sslmode` is PostgreSQL's name: the MySQL driver is left to refuse it.
        let (s, rest) = parse(Dialect::Mysql, "mysql://h/db?sslmode=require").unwrap();
        assert_eq!(
            (s.mode, rest.as_str()),
            (TlsMode::Prefer, "mysql://h/db?sslmode=require")
        );
    }

    #[test]
    fn unknown_modes_name_the_known_ones() {
        let err = parse(Dialect::Postgresql, "postgresql://u@h/db?sslmode=bogus")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown `sslmode=bogus`"), "{err}");
        assert!(err.contains("`verify-full`"), "{err}");
        let err = parse(Dialect::Mysql, "mysql://u@h/db?ssl-mode=allow")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`VERIFY_IDENTITY`"), "{err}");
    }
}
