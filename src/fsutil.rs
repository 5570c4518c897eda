//! Atomic file writes: a temp file in the same folder, then a rename, so a reader
//! (or a crash) never sees a half-written file and the old file survives any error. And a
//! lock, so that processes updating one file take turns.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A hidden temp path beside `path`, unique to this process: `.partial-PID-NAME`. It keeps
/// the name's extension, which plotters reads to pick the image encoder.
pub fn temp_path_for(path: &Path) -> PathBuf {
    hidden_beside(path, &format!("partial-{}-", std::process::id()), "")
}

/// `.` + `prefix` + NAME + `suffix` beside `path`.
fn hidden_beside(path: &Path, prefix: &str, suffix: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{prefix}{name}{suffix}"))
}

/// An exclusive lock on the hidden file `.NAME.lock` beside `path`, held until the returned
/// file is dropped or the process ends (even by SIGKILL). The lock file is kept: deleting it
/// while another process waits on it would let a third lock a new file of the same name.
/// Where the file system cannot lock, this returns the file unlocked: better a rare lost
/// row than a failed run.
pub fn lock_beside(path: &Path) -> std::io::Result<fs::File> {
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(hidden_beside(path, "", ".lock"))?;
    match file.lock() {
        Err(e) if e.kind() != std::io::ErrorKind::Unsupported => Err(e),
        _ => Ok(file),
    }
}

/// Write `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let temp = temp_path_for(path);
    let result = (|| {
        let mut file = fs::File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_atomic_replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("table.csv");
        write_atomic(&path, b"old").unwrap();
        write_atomic(&path, b"new").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
