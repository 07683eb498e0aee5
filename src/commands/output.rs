//! Writing a command's output to stdout.

use std::io::Write;

use super::error::AppError;

/// Writes a command's output. A closed pipe (`dustwatch … | head`) is the reader's choice, not
/// a failure, so it ends the output quietly.
pub fn write_output(stdout: &mut (dyn Write + Send), text: &str) -> Result<(), AppError> {
    // Reports embed LND's strings (aliases, versions, messages): no raw control characters.
    let text = crate::escape::escape_report(text);
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        result => Ok(result?),
    }
}
