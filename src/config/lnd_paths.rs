//! LND's certificate and macaroon paths, derived from `lnddir` and `network` as LND lays them out.
//!
//! An explicit `tls_cert_path` / `macaroon_path` always wins; otherwise the path is
//! `<lnddir>/tls.cert` and `<lnddir>/data/chain/bitcoin/<network>/readonly.macaroon`, with a
//! leading `~` expanded to the home of the user dustwatch runs as. Each node's resolution is
//! recorded so `check-config` and file errors can say which paths were tried and why.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::settings::{LndNetwork, LndSettings, Settings};

/// How one path was arrived at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSource {
    /// Set in the file or the environment.
    Explicit,
    /// Derived from `lnddir` (and `network`, for the macaroon).
    Derived {
        lnddir: PathBuf,
        network: LndNetwork,
    },
}

/// The certificate and macaroon of one node, with how each was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedLndPaths {
    /// `lnd` or `nodes[i].lnd`: the key prefix of this node's settings.
    pub prefix: String,
    pub tls_cert: (PathBuf, PathSource),
    pub macaroon: (PathBuf, PathSource),
}

impl fmt::Display for PathSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathSource::Explicit => write!(f, "set explicitly"),
            PathSource::Derived { lnddir, network } => write!(
                f,
                "derived from lnddir {} and network {}",
                lnddir.display(),
                network.as_str()
            ),
        }
    }
}

/// `~` or `~/…` with the home directory; anything else, or no home known, is returned as is.
pub fn expand_home(path: &Path, home: Option<&Path>) -> PathBuf {
    match (path.strip_prefix("~"), home) {
        (Ok(rest), Some(home)) => home.join(rest),
        _ => path.to_path_buf(),
    }
}

/// Fills in every empty certificate or macaroon path (top level and `[[nodes]]`) and returns
/// how each node's paths were found, top level first.
///
/// A node inherits the top-level paths unless it sets its own `lnddir` or `network`, in which
/// case what it does not set explicitly is derived from its own directory and network.
pub fn resolve(settings: &mut Settings, home: Option<&Path>) -> Vec<ResolvedLndPaths> {
    let top = resolve_top(&mut settings.lnd, home);
    let mut out = Vec::with_capacity(settings.nodes.len() + 1);
    let top_lnd = settings.lnd.clone();
    for (i, node) in settings.nodes.iter_mut().enumerate() {
        let lnd = &mut node.lnd;
        let lnddir = expand_home(lnd.lnddir.as_ref().unwrap_or(&top_lnd.lnddir), home);
        let network = lnd.network.unwrap_or(top_lnd.network);
        let derived = PathSource::Derived {
            lnddir: lnddir.clone(),
            network,
        };
        let tls_cert = match (&lnd.tls_cert_path, &lnd.lnddir) {
            (Some(path), _) => (path.clone(), PathSource::Explicit),
            (None, Some(_)) => {
                let path = LndSettings::derived_tls_cert_path(&lnddir);
                lnd.tls_cert_path = Some(path.clone());
                (path, derived.clone())
            }
            (None, None) => top.tls_cert.clone(),
        };
        let own_layout = lnd.lnddir.is_some() || lnd.network.is_some();
        let macaroon = match &lnd.macaroon_path {
            Some(path) => (path.clone(), PathSource::Explicit),
            None if own_layout => {
                let path = LndSettings::derived_macaroon_path(&lnddir, network);
                lnd.macaroon_path = Some(path.clone());
                (path, derived.clone())
            }
            None => top.macaroon.clone(),
        };
        out.push(ResolvedLndPaths {
            prefix: format!("nodes[{i}].lnd"),
            tls_cert,
            macaroon,
        });
    }
    if out.is_empty() {
        out.push(top);
    }
    out
}

fn resolve_top(lnd: &mut LndSettings, home: Option<&Path>) -> ResolvedLndPaths {
    let lnddir = expand_home(&lnd.lnddir, home);
    let derived = PathSource::Derived {
        lnddir: lnddir.clone(),
        network: lnd.network,
    };
    let tls_cert = if lnd.tls_cert_path.as_os_str().is_empty() {
        lnd.tls_cert_path = LndSettings::derived_tls_cert_path(&lnddir);
        (lnd.tls_cert_path.clone(), derived.clone())
    } else {
        (lnd.tls_cert_path.clone(), PathSource::Explicit)
    };
    let macaroon = if lnd.macaroon_path.as_os_str().is_empty() {
        lnd.macaroon_path = LndSettings::derived_macaroon_path(&lnddir, lnd.network);
        (lnd.macaroon_path.clone(), derived)
    } else {
        (lnd.macaroon_path.clone(), PathSource::Explicit)
    };
    ResolvedLndPaths {
        prefix: "lnd".to_string(),
        tls_cert,
        macaroon,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{LndOverride, NodeSettings};

    fn home() -> Option<&'static Path> {
        Some(Path::new("/home/bitcoin"))
    }

    #[test]
    fn defaults_derive_from_the_users_lnd_directory() {
        let mut settings = Settings::default();
        let resolved = resolve(&mut settings, home());
        assert_eq!(
            settings.lnd.tls_cert_path,
            Path::new("/home/bitcoin/.lnd/tls.cert")
        );
        assert_eq!(
            settings.lnd.macaroon_path,
            Path::new("/home/bitcoin/.lnd/data/chain/bitcoin/mainnet/readonly.macaroon")
        );
        assert!(matches!(resolved[0].tls_cert.1, PathSource::Derived { .. }));
    }

    #[test]
    fn every_network_names_its_macaroon_directory() {
        for (network, dir) in [
            (LndNetwork::Mainnet, "mainnet"),
            (LndNetwork::Testnet, "testnet"),
            (LndNetwork::Testnet4, "testnet4"),
            (LndNetwork::Signet, "signet"),
            (LndNetwork::Regtest, "regtest"),
            (LndNetwork::Simnet, "simnet"),
        ] {
            let mut settings = Settings::default();
            settings.lnd.lnddir = PathBuf::from("/var/lib/lnd");
            settings.lnd.network = network;
            resolve(&mut settings, None);
            assert_eq!(
                settings.lnd.macaroon_path,
                Path::new("/var/lib/lnd/data/chain/bitcoin")
                    .join(dir)
                    .join("readonly.macaroon")
            );
            assert_eq!(
                settings.lnd.tls_cert_path,
                Path::new("/var/lib/lnd/tls.cert")
            );
        }
    }

    #[test]
    fn explicit_paths_win() {
        let mut settings = Settings::default();
        settings.lnd.tls_cert_path = PathBuf::from("/etc/c");
        settings.lnd.network = LndNetwork::Signet;
        let resolved = resolve(&mut settings, home());
        assert_eq!(settings.lnd.tls_cert_path, Path::new("/etc/c"));
        assert_eq!(resolved[0].tls_cert.1, PathSource::Explicit);
        assert_eq!(
            settings.lnd.macaroon_path,
            Path::new("/home/bitcoin/.lnd/data/chain/bitcoin/signet/readonly.macaroon")
        );
    }

    #[test]
    fn tilde_is_kept_without_a_home() {
        let mut settings = Settings::default();
        resolve(&mut settings, None);
        assert_eq!(settings.lnd.tls_cert_path, Path::new("~/.lnd/tls.cert"));
    }

    #[test]
    fn nodes_derive_from_their_own_directory_and_network() {
        let mut settings = Settings::default();
        settings.lnd.lnddir = PathBuf::from("/var/lib/lnd");
        settings.nodes = vec![
            NodeSettings {
                name: "a".into(),
                ..Default::default()
            },
            NodeSettings {
                name: "b".into(),
                lnd: LndOverride {
                    lnddir: Some(PathBuf::from("/srv/lnd-b")),
                    network: Some(LndNetwork::Testnet4),
                    ..Default::default()
                },
                ..Default::default()
            },
            NodeSettings {
                name: "c".into(),
                lnd: LndOverride {
                    network: Some(LndNetwork::Regtest),
                    macaroon_path: Some(PathBuf::from("/m")),
                    ..Default::default()
                },
                ..Default::default()
            },
        ];
        let resolved = resolve(&mut settings, home());
        assert_eq!(resolved.len(), 3);
        let nodes = settings.node_settings();
        assert_eq!(
            nodes[0].1.lnd.tls_cert_path,
            Path::new("/var/lib/lnd/tls.cert")
        );
        assert_eq!(
            nodes[1].1.lnd.tls_cert_path,
            Path::new("/srv/lnd-b/tls.cert")
        );
        assert_eq!(
            nodes[1].1.lnd.macaroon_path,
            Path::new("/srv/lnd-b/data/chain/bitcoin/testnet4/readonly.macaroon")
        );
        assert_eq!(nodes[2].1.lnd.macaroon_path, Path::new("/m"));
        assert_eq!(
            nodes[2].1.lnd.tls_cert_path,
            Path::new("/var/lib/lnd/tls.cert")
        );
        assert_eq!(resolved[1].prefix, "nodes[1].lnd");
        assert_eq!(resolved[2].macaroon.1, PathSource::Explicit);
    }
}
