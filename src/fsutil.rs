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
/// Where the file system cannot lock (some network or parallel file systems without lock
/// support), this is an error: an unlocked write could lose another process's row.
pub fn lock_beside(path: &Path) -> std::io::Result<fs::File> {
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(hidden_beside(path, "", ".lock"))?;
    file.lock().map_err(|e| match e.kind() {
        std::io::ErrorKind::Unsupported => std::io::Error::new(
            e.kind(),
            format!("{e}: this file system does not support locks (on NFS, mount it with lock support; see README, Slurm)"),
        ),
        _ => e,
    })?;
    Ok(file)
}

/// Write `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_all_atomic(&[(path, bytes)])
}

/// Write each `(path, bytes)` to a temp file beside it, flushed to disk, and only once all
/// are complete rename them into place. On any error no temp file is left and every file
/// that was there before is as it was (but a failed rename after the first, which keeps
/// the ones renamed before it).
pub fn write_all_atomic(files: &[(&Path, &[u8])]) -> std::io::Result<()> {
    write_all_atomic_with(files, |path| fs::File::create(path))
}

/// [`write_all_atomic`] with the file opener given, so tests can make writes fail.
pub(crate) fn write_all_atomic_with<W: DurableWrite>(
    files: &[(&Path, &[u8])],
    mut create: impl FnMut(&Path) -> std::io::Result<W>,
) -> std::io::Result<()> {
    let temps: Vec<PathBuf> = files.iter().map(|(path, _)| temp_path_for(path)).collect();
    let result = (|| {
        for ((_, bytes), temp) in files.iter().zip(&temps) {
            let mut file = create(temp)?;
            file.write_all(bytes)?;
            file.flush()?;
            file.sync()?;
        }
        for ((path, _), temp) in files.iter().zip(&temps) {
            fs::rename(temp, path)?;
        }
        Ok(())
    })();
    if result.is_err() {
        for temp in &temps {
            let _ = fs::remove_file(temp);
        }
    }
    result
}

/// A writer whose bytes can be flushed to the disk itself, not just to the OS.
pub(crate) trait DurableWrite: Write {
    fn sync(&self) -> std::io::Result<()>;
}

impl DurableWrite for fs::File {
    fn sync(&self) -> std::io::Result<()> {
        self.sync_all()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer on a full disk: it takes `room` bytes, then fails as the OS does.
    struct FullDisk {
        room: usize,
        file: fs::File,
    }

    impl Write for FullDisk {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.room == 0 {
                return Err(std::io::Error::from_raw_os_error(28));
            }
            let n = buf.len().min(self.room);
            self.room -= n;
            self.file.write(&buf[..n])
        }

        fn flush(&mut self) -> std::io::Result<()> {
            self.file.flush()
        }
    }

    impl DurableWrite for FullDisk {
        fn sync(&self) -> std::io::Result<()> {
            self.file.sync_all()
        }
    }

    #[test]
    fn a_full_disk_says_so_and_leaves_the_old_files_and_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("model.mpk"), dir.path().join("model.json"));
        write_all_atomic(&[(&a, b"old weights"), (&b, b"old card")]).unwrap();
        let err = write_all_atomic_with(&[(&a, b"new weights"), (&b, b"new card")], |path| {
            Ok(FullDisk {
                room: 4,
                file: fs::File::create(path)?,
            })
        })
        .unwrap_err();
        assert!(err.to_string().contains("No space left on device"), "{err}");
        assert_eq!(fs::read(&a).unwrap(), b"old weights");
        assert_eq!(fs::read(&b).unwrap(), b"old card");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }

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
