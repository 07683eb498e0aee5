//! `lncli getinfo` → [`NodeInfo`].
//!
//! A single object of single values: anything of the wrong kind makes the file malformed
//! (an error), rather than something to skip.

use serde_json::Value;

use super::{parse_document, root, warning, LncliError, LncliText};
use crate::model::{NodeInfo, SnapshotWarning};
use crate::snapshot::json::{describe, integer, FieldError, Obj};

pub(super) fn read(
    text: &LncliText<'_>,
    warnings: &mut Vec<SnapshotWarning>,
) -> Result<NodeInfo, LncliError> {
    let value = parse_document(text)?;
    let top = root(text, &value)?;
    let info = node_info(&top).map_err(|e| LncliError::shape(text.name, e))?;
    if info.block_height.is_none() {
        warnings.push(warning(
            None,
            text.name,
            "has no `block_height`: HTLC expiry cannot be judged",
        ));
    }
    Ok(info)
}

fn node_info(top: &Obj<'_>) -> Result<NodeInfo, FieldError> {
    Ok(NodeInfo {
        identity_pubkey: top
            .string("identity_pubkey")?
            .unwrap_or_default()
            .to_owned(),
        alias: top.string("alias")?.unwrap_or_default().to_owned(),
        version: top.string("version")?.unwrap_or_default().to_owned(),
        block_height: block_height(top)?,
        synced_to_chain: top.boolean("synced_to_chain")?.unwrap_or(false),
        network: network(top)?,
    })
}

/// The height is a fact, not a quantity: a negative or oversized one is not clamped but makes
/// the file malformed, because every expiry computed from a made-up height would be wrong.
fn block_height(top: &Obj<'_>) -> Result<Option<u32>, FieldError> {
    let Some(value) = top.field("block_height") else {
        return Ok(None);
    };
    integer(value)
        .and_then(|n| u32::try_from(n).ok())
        .map(Some)
        .ok_or_else(|| {
            FieldError::new(
                top.path().key("block_height"),
                "a block height (an integer from 0 to 4294967295)",
                describe(value),
            )
        })
}

/// `chains[0].network` (LND ≥ 0.8). Older `getinfo` had `chains: ["bitcoin"]` and a `testnet`
/// flag, which cannot tell mainnet from regtest: then the network is reported unknown (empty)
/// unless `testnet` is set.
fn network(top: &Obj<'_>) -> Result<String, FieldError> {
    if let Some(chains) = top.array("chains")? {
        if let Some(Value::Object(first)) = chains.first() {
            if let Some(network) = first.get("network") {
                return match network {
                    Value::String(name) => Ok(name.clone()),
                    other => Err(FieldError::new(
                        top.path().key("chains").index(0).key("network"),
                        "a network name such as \"mainnet\"",
                        describe(other),
                    )),
                };
            }
        }
    }
    Ok(if top.boolean("testnet")? == Some(true) {
        "testnet".to_owned()
    } else {
        String::new()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(json: &str) -> Result<(NodeInfo, Vec<SnapshotWarning>), LncliError> {
        let mut warnings = Vec::new();
        let text = LncliText {
            name: "gi.json",
            json,
        };
        read(&text, &mut warnings).map(|i| (i, warnings))
    }

    #[test]
    fn reads_current_and_old_shapes() {
        let (i, w) = info(
            r#"{"identity_pubkey": "02ab", "alias": "n", "version": "0.18.4-beta",
               "block_height": 880000, "synced_to_chain": true,
               "chains": [{"chain": "bitcoin", "network": "signet"}]}"#,
        )
        .unwrap();
        assert!(w.is_empty());
        assert_eq!(i.block_height, Some(880_000));
        assert_eq!(i.network, "signet");

        let (i, _) =
            info(r#"{"block_height": "12", "chains": ["bitcoin"], "testnet": true}"#).unwrap();
        assert_eq!(i.block_height, Some(12));
        assert_eq!(i.network, "testnet");

        let (i, _) =
            info(r#"{"block_height": 1, "chains": ["bitcoin"], "testnet": false}"#).unwrap();
        assert_eq!(i.network, "", "mainnet and regtest look alike here");
    }

    #[test]
    fn missing_height_is_unknown_with_a_warning() {
        let (i, w) = info(r#"{"alias": "n"}"#).unwrap();
        assert_eq!(i.block_height, None);
        assert_eq!(w.len(), 1);
        assert!(w[0].message.starts_with("gi.json: "));
    }

    #[test]
    fn broken_height_is_an_error_naming_the_path() {
        for bad in [r#""-1""#, "4294967296", r#"{"h": 1}"#, "1.5"] {
            let err = info(&format!(r#"{{"block_height": {bad}}}"#)).unwrap_err();
            assert!(
                err.to_string()
                    .starts_with("gi.json: at `block_height`: expected a block height"),
                "{err}"
            );
        }
    }
}
