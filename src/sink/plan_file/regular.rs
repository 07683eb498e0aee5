//! Opening a file that must be a regular file, without hanging on anything else: a FIFO named
//! `latest.json` would block `open` until a writer appears, and `/dev/zero` never ends.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use rustix::fs::OFlags;

/// The largest plan file read whole: a 10,000-channel plan is ~130 MB, so this leaves room for
/// ~75,000 channels while keeping a wrong file from exhausting memory.
pub const MAX_PLAN_FILE_BYTES: u64 = 1 << 30;

/// Opens `path` for reading if it is a regular file. The open is non-blocking, so a FIFO
/// returns at once (and is refused) instead of waiting for a writer; devices, directories and
/// sockets are refused with an error saying what the file is.
pub fn open_regular(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        // O_NONBLOCK only matters for FIFOs and devices, which are refused below.
        .custom_flags(OFlags::NONBLOCK.bits() as i32)
        .open(path)?;
    let kind = file.metadata()?.file_type();
    if kind.is_file() {
        return Ok(file);
    }
    use std::os::unix::fs::FileTypeExt;
    let what = if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    };
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{what}, not a regular file"),
    ))
}

/// Reads a regular file of at most `max_bytes` as UTF-8; anything else is an error saying why.
pub fn read_regular_to_string(path: &Path, max_bytes: u64) -> io::Result<String> {
    let file = open_regular(path)?;
    let too_big = || {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than {max_bytes} bytes; not a plan file"),
        )
    };
    if file.metadata()?.len() > max_bytes {
        return Err(too_big());
    }
    let mut text = String::new();
    // Bounded even if the file grows while it is read.
    file.take(max_bytes + 1).read_to_string(&mut text)?;
    if text.len() as u64 > max_bytes {
        return Err(too_big());
    }
    Ok(text)
}
