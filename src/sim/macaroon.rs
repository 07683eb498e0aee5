//! The simulator's macaroon: random bytes in `readonly.macaroon`, checked the way LND's
//! interceptor reports failures.
//!
//! The bytes are not a real macaroon (nothing here parses caveats); what matters for a client
//! is the transport: the file's bytes, lowercase hex, in the `macaroon` metadata entry, and
//! the exact error texts LND answers with (all of them gRPC status Unknown, because LND's
//! interceptor returns plain Go errors):
//! * no (or several) `macaroon` entries: `expected 1 macaroon, got N`;
//! * not hex: Go's `encoding/hex` error;
//! * anything else that is not the node's macaroon: the bakery's
//!   `verification failed: signature mismatch after caveat verification`.
//!
//! Never log the bytes or their hex.

use std::fs;
use std::path::{Path, PathBuf};

use rand::RngCore;
use tonic::metadata::MetadataMap;

use super::SimError;

/// Length of a freshly minted simulator macaroon. Real read-only macaroons are ~100 bytes.
const MACAROON_LEN: usize = 64;

/// Creates `readonly.macaroon` in `dir` with random bytes unless it exists; returns its path
/// and bytes.
pub fn load_or_create(dir: &Path) -> Result<(PathBuf, Vec<u8>), SimError> {
    let path = dir.join("readonly.macaroon");
    if path.exists() {
        let bytes = fs::read(&path).map_err(|source| SimError::Io {
            path: path.clone(),
            source,
        })?;
        if !bytes.is_empty() {
            return Ok((path, bytes));
        }
    }
    let bytes = mint();
    super::tls::write_file(&path, &bytes, 0o644)?;
    Ok((path, bytes))
}

/// Fresh random macaroon bytes (from the OS-seeded thread RNG: a credential, not scenario data).
pub fn mint() -> Vec<u8> {
    let mut bytes = vec![0u8; MACAROON_LEN];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

/// Checks the `macaroon` metadata of a call against the node's current macaroon; the error is
/// LND's message for the failure (to be sent as status Unknown).
pub fn check(metadata: &MetadataMap, expected: &[u8]) -> Result<(), String> {
    let values: Vec<_> = metadata.get_all("macaroon").iter().collect();
    if values.len() != 1 {
        return Err(format!("expected 1 macaroon, got {}", values.len()));
    }
    let text = values[0]
        .to_str()
        .map_err(|_| "encoding/hex: invalid byte in macaroon".to_string())?;
    let presented = decode_hex_like_go(text)?;
    if constant_time_eq(&presented, expected) {
        Ok(())
    } else {
        Err("verification failed: signature mismatch after caveat verification".to_string())
    }
}

/// Hex decoding with the error texts of Go's `encoding/hex.DecodeString`, which is what LND
/// calls on the metadata value. Upper-case digits are accepted, as Go accepts them.
fn decode_hex_like_go(text: &str) -> Result<Vec<u8>, String> {
    let bytes = text.as_bytes();
    let nibble = |c: u8| -> Result<u8, String> {
        match c {
            b'0'..=b'9' => Ok(c - b'0'),
            b'a'..=b'f' => Ok(c - b'a' + 10),
            b'A'..=b'F' => Ok(c - b'A' + 10),
            _ => Err(format!("encoding/hex: invalid byte: {}", go_quote_rune(c))),
        }
    };
    let mut out = Vec::with_capacity(bytes.len() / 2);
    for pair in bytes.chunks(2) {
        let hi = nibble(pair[0])?;
        match pair.get(1) {
            Some(&lo) => out.push(hi << 4 | nibble(lo)?),
            None => return Err("encoding/hex: odd length hex string".to_string()),
        }
    }
    Ok(out)
}

/// Go's `%#U` formatting of a byte, as `encoding/hex.InvalidByteError` prints it.
fn go_quote_rune(c: u8) -> String {
    if c.is_ascii_graphic() || c == b' ' {
        format!("U+{:04X} '{}'", c, c as char)
    } else {
        format!("U+{c:04X}")
    }
}

/// Compares without an early exit, so timing does not reveal how much of a guess matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::metadata::MetadataValue;

    fn md(values: &[&str]) -> MetadataMap {
        let mut map = MetadataMap::new();
        for v in values {
            map.append("macaroon", MetadataValue::try_from(*v).unwrap());
        }
        map
    }

    #[test]
    fn accepts_the_files_hex_and_only_it() {
        let mac = vec![0xde, 0xad, 0xbe, 0xef];
        assert_eq!(check(&md(&["deadbeef"]), &mac), Ok(()));
        assert_eq!(check(&md(&["DEADBEEF"]), &mac), Ok(()));
        assert_eq!(
            check(&md(&["deadbeee"]), &mac).unwrap_err(),
            "verification failed: signature mismatch after caveat verification"
        );
    }

    #[test]
    fn missing_or_duplicated_macaroon_uses_lnds_count_message() {
        assert_eq!(
            check(&md(&[]), b"x").unwrap_err(),
            "expected 1 macaroon, got 0"
        );
        assert_eq!(
            check(&md(&["00", "00"]), b"x").unwrap_err(),
            "expected 1 macaroon, got 2"
        );
    }

    #[test]
    fn bad_hex_uses_gos_messages() {
        assert_eq!(
            check(&md(&["abc"]), b"x").unwrap_err(),
            "encoding/hex: odd length hex string"
        );
        assert_eq!(
            check(&md(&["zz"]), b"x").unwrap_err(),
            "encoding/hex: invalid byte: U+007A 'z'"
        );
    }

    #[test]
    fn file_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let (path, first) = load_or_create(dir.path()).unwrap();
        assert!(first.len() >= 32);
        assert_eq!(fs::read(&path).unwrap(), first);
        let (_, second) = load_or_create(dir.path()).unwrap();
        assert_eq!(first, second);
        assert_ne!(mint(), first);
    }
}
