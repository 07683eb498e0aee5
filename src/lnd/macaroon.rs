//! The macaroon: LND's bearer credential, sent on every call as gRPC metadata `macaroon`
//! (lower-case hex of the file's bytes).
//!
//! The value is a secret. It is read from disk once per (re)connect, held only inside a
//! [`MacaroonInterceptor`], marked sensitive (HPACK never indexes it, `http`'s Debug prints
//! `Sensitive`), and this module's own `Debug` shows the file path, never the value.

use std::fmt;
use std::path::{Path, PathBuf};

use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::{Request, Status};

use crate::lnd::error::LndError;

/// The gRPC metadata key LND reads the macaroon from.
const METADATA_KEY: &str = "macaroon";

/// Adds the macaroon to every request of the client it is installed on.
#[derive(Clone)]
pub struct MacaroonInterceptor {
    path: PathBuf,
    value: MetadataValue<Ascii>,
}

impl MacaroonInterceptor {
    /// Reads the macaroon file. A missing, unreadable or empty file is an error naming it.
    pub fn from_file(path: &Path) -> Result<Self, LndError> {
        let bytes = std::fs::read(path).map_err(|source| LndError::MacaroonUnreadable {
            path: path.to_path_buf(),
            source,
        })?;
        if bytes.is_empty() {
            return Err(LndError::MacaroonEmpty {
                path: path.to_path_buf(),
            });
        }
        Ok(Self::from_bytes(&bytes, path))
    }

    /// Wraps macaroon bytes already in memory; `path` names their source in `Debug` output.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Self {
        let mut value = MetadataValue::try_from(hex::encode(bytes))
            // Lower-case hex digits are always a valid ASCII metadata value.
            .expect("hex is valid ASCII metadata");
        value.set_sensitive(true);
        MacaroonInterceptor {
            path: path.to_path_buf(),
            value,
        }
    }

    /// The file the macaroon was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Interceptor for MacaroonInterceptor {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        request
            .metadata_mut()
            .insert(METADATA_KEY, self.value.clone());
        Ok(request)
    }
}

impl fmt::Debug for MacaroonInterceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MacaroonInterceptor")
            .field("path", &self.path)
            .field("value", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BYTES: &[u8] = &[0x02, 0x01, 0x03, 0xab, 0xcd, 0xef, 0x99];
    const HEX: &str = "020103abcdef99";

    #[test]
    fn request_carries_lower_case_hex_marked_sensitive() {
        let mut interceptor = MacaroonInterceptor::from_bytes(BYTES, Path::new("m.macaroon"));
        let request = interceptor.call(Request::new(())).expect("intercepted");
        let value = request.metadata().get(METADATA_KEY).expect("macaroon set");
        assert_eq!(value.to_str().expect("ascii"), HEX);
        assert!(value.is_sensitive());
        // Even the metadata map's own Debug output hides it.
        assert!(!format!("{:?}", request.metadata()).contains(HEX));
    }

    #[test]
    fn debug_output_names_the_file_but_not_the_secret() {
        let interceptor = MacaroonInterceptor::from_bytes(BYTES, Path::new("/lnd/ro.macaroon"));
        let debug = format!("{interceptor:?} {interceptor:#?}");
        assert!(debug.contains("/lnd/ro.macaroon"), "{debug}");
        assert!(!debug.to_lowercase().contains(HEX), "{debug}");
    }

    #[test]
    fn file_is_read_and_missing_or_empty_files_are_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("readonly.macaroon");
        std::fs::write(&path, BYTES).expect("write");
        let mut interceptor = MacaroonInterceptor::from_file(&path).expect("read");
        let request = interceptor.call(Request::new(())).expect("intercepted");
        assert_eq!(request.metadata().get(METADATA_KEY).expect("set"), HEX);

        let missing = dir.path().join("missing.macaroon");
        let err = MacaroonInterceptor::from_file(&missing).expect_err("missing");
        assert!(
            matches!(err, LndError::MacaroonUnreadable { .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("missing.macaroon"), "{err}");

        let empty = dir.path().join("empty.macaroon");
        std::fs::write(&empty, b"").expect("write");
        let err = MacaroonInterceptor::from_file(&empty).expect_err("empty");
        assert!(matches!(err, LndError::MacaroonEmpty { .. }), "{err:?}");
        assert!(err.to_string().contains("empty.macaroon"), "{err}");
    }
}
