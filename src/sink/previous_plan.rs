//! The digest of the previous plan, read from `latest.json` when a run starts (the daemon,
//! `once`, `analyze --out`), so changes and alert transitions are relative to it.

use crate::plan::PlanDigest;
use crate::sink::plan_file::{open_latest, PlanFileWriter};

/// Loads the digest of the previous plan from `<plan_dir>/latest.json`, if there is a readable
/// one ([`PlanDigest::from_reader`]: only the digest's fields are kept, never the whole plan).
///
/// A plan that cannot be read or parsed is logged and ignored (every action then counts as new):
/// it must not keep the daemon from starting.
pub fn load_previous_digest(writer: &PlanFileWriter) -> Option<PlanDigest> {
    match open_latest(writer.dir()) {
        Ok(Some(file)) => match PlanDigest::from_reader(file) {
            Ok(digest) => Some(digest),
            Err(err) => {
                tracing::warn!(dir = %writer.dir().display(), error = %err, "ignoring unreadable latest.json");
                None
            }
        },
        Ok(None) => None,
        Err(err) => {
            tracing::warn!(error = %err, "cannot read the previous plan");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::analyze;
    use crate::analyze::testkit::{channel, snapshot};
    use crate::settings::AnalysisSettings;
    use crate::sink::plan_file::LATEST_FILE_NAME;

    #[test]
    fn the_previous_digest_is_streamed_from_latest_json() {
        let dir = tempfile::tempdir().expect("tempdir");
        let writer = PlanFileWriter::new(dir.path().join("plans"), 2);
        assert_eq!(load_previous_digest(&writer), None, "first run");

        let snap = snapshot(
            vec![
                channel(9, 2_000_000, 1_900_000),
                channel(1, 2_000_000, 50_000),
            ],
            Some(800_000),
        );
        let plan = analyze(&snap, &AnalysisSettings::default(), None);
        let _ = writer.write(&plan, snap.taken_at_unix).expect("write");
        assert_eq!(load_previous_digest(&writer), Some(PlanDigest::of(&plan)));
    }

    #[test]
    fn an_unreadable_latest_json_is_ignored() {
        let dir = tempfile::tempdir().expect("tempdir");
        let writer = PlanFileWriter::new(dir.path(), 2);
        let latest = dir.path().join(LATEST_FILE_NAME);
        for text in [
            "not json",
            r#"{"schema_version": 2}"#,
            r#"{"schema_version": 1}"#,
        ] {
            std::fs::write(&latest, text).expect("write");
            assert_eq!(load_previous_digest(&writer), None, "{text}");
        }
        std::fs::remove_file(&latest).expect("rm");
        std::fs::create_dir(&latest).expect("mkdir");
        assert_eq!(load_previous_digest(&writer), None, "a directory");
    }
}
