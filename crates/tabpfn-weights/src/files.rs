//! The workspace's rules for files, in one place:
//!
//! * reading: [`read_bounded`] refuses a file beyond a size limit before allocating;
//! * writing: a failure — or a second run writing the same path — never leaves a partial
//!   or mixed file; [`same_file`] lets front ends refuse an output that is one of their
//!   inputs.
//!
//! An [`AtomicFile`] is a temporary file created next to its target with an unpredictable
//! name and `O_EXCL` (the `tempfile` crate), so a pre-planted symlink or a concurrent run
//! cannot be written through. [`AtomicFile::commit`] flushes and fsyncs it, then renames it
//! over the target in one step (each run's output is whole, the last rename wins); dropped
//! without a commit, it removes itself.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::WeightsError;

/// A file being written, invisible at its target path until [`commit`](Self::commit).
pub struct AtomicFile {
    target: PathBuf,
    tmp: Option<tempfile::NamedTempFile>,
    writer: Option<BufWriter<File>>,
}

fn io_err(path: &Path, source: io::Error) -> WeightsError {
    WeightsError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl AtomicFile {
    /// Starts writing `target`. Fails if its directory does not exist or `target` is a
    /// directory.
    pub fn create(target: impl AsRef<Path>) -> Result<Self, WeightsError> {
        let target = target.as_ref();
        if target.is_dir() {
            return Err(io_err(
                target,
                io::Error::new(
                    io::ErrorKind::IsADirectory,
                    "is a directory; give a file name",
                ),
            ));
        }
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        if !dir.is_dir() {
            return Err(io_err(
                target,
                io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("directory `{}` does not exist", dir.display()),
                ),
            ));
        }
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "output".into());
        let prefix = format!(".{name}.");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".tmp");
        // an output gets the mode a plain create would give it (0666 under the umask), or
        // keeps the mode of the file it replaces; not tempfile's private 0600
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(target)
                .map(|m| m.permissions().mode() & 0o7777)
                .unwrap_or(0o666);
            builder.permissions(std::fs::Permissions::from_mode(mode));
        }
        let tmp = builder.tempfile_in(dir).map_err(|e| io_err(target, e))?;
        let writer = BufWriter::new(tmp.reopen().map_err(|e| io_err(target, e))?);
        Ok(Self {
            target: target.to_path_buf(),
            tmp: Some(tmp),
            writer: Some(writer),
        })
    }

    /// The target path.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Flushes, fsyncs and renames the file into place.
    pub fn commit(mut self) -> Result<(), WeightsError> {
        let target = self.target.clone();
        let mut writer = self
            .writer
            .take()
            .expect("a live AtomicFile has its writer");
        writer.flush().map_err(|e| io_err(&target, e))?;
        let file = writer
            .into_inner()
            .map_err(|e| io_err(&target, e.into_error()))?;
        file.sync_all().map_err(|e| io_err(&target, e))?;
        drop(file);
        let tmp = self
            .tmp
            .take()
            .expect("a live AtomicFile has its temp file");
        tmp.persist(&target).map_err(|e| io_err(&target, e.error))?;
        // the rename is durable once the directory entry is on disk
        #[cfg(unix)]
        if let Some(dir) = target.parent() {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            if let Ok(d) = File::open(dir) {
                d.sync_all().map_err(|e| io_err(&target, e))?;
            }
        }
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer
            .as_mut()
            .expect("a live AtomicFile has its writer")
            .write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer
            .as_mut()
            .expect("a live AtomicFile has its writer")
            .flush()
    }
}

/// Reads all of `path`, refusing a file larger than `max_bytes` (checked against its
/// metadata, and the read itself stops there in case the file grows).
pub fn read_bounded(path: &Path, max_bytes: u64, what: &str) -> Result<Vec<u8>, WeightsError> {
    use std::io::Read;
    let f = File::open(path).map_err(|e| io_err(path, e))?;
    let len = f.metadata().map_err(|e| io_err(path, e))?.len();
    if len > max_bytes {
        return Err(io_err(
            path,
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{len} bytes exceeds the {max_bytes}-byte limit of {what}"),
            ),
        ));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    f.take(max_bytes)
        .read_to_end(&mut bytes)
        .map_err(|e| io_err(path, e))?;
    Ok(bytes)
}

/// Writes `bytes` to `path` atomically (see the module docs).
pub fn write_atomic(path: impl AsRef<Path>, bytes: &[u8]) -> Result<(), WeightsError> {
    let mut f = AtomicFile::create(path)?;
    let target = f.target().to_path_buf();
    f.write_all(bytes).map_err(|e| io_err(&target, e))?;
    f.commit()
}

/// Whether `a` and `b` name the same existing file (same device and inode on Unix, same
/// canonical path elsewhere); false when either does not exist.
pub fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::metadata(a), std::fs::metadata(b)) {
            (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        match (a.canonicalize(), b.canonicalize()) {
            (Ok(x), Ok(y)) => x == y,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_appears_until_commit_and_a_dropped_file_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.csv");
        let mut f = AtomicFile::create(&out).unwrap();
        f.write_all(b"a,b\n").unwrap();
        assert!(!out.exists());
        drop(f);
        assert!(!out.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        write_atomic(&out, b"x").unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"x");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_directory_or_a_missing_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(AtomicFile::create(dir.path()).is_err());
        assert!(AtomicFile::create(dir.path().join("no/such/out")).is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[cfg(unix)]
    #[test]
    fn a_planted_symlink_is_replaced_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"keep").unwrap();
        let out = dir.path().join("out");
        std::os::unix::fs::symlink(&victim, &out).unwrap();
        write_atomic(&out, b"new").unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
        assert_eq!(std::fs::read(&out).unwrap(), b"new");
    }

    #[test]
    fn same_file_sees_through_different_spellings() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        std::fs::write(&a, b"1").unwrap();
        let b = dir.path().join(".").join("a");
        assert!(same_file(&a, &b));
        assert!(!same_file(&a, &dir.path().join("missing")));
    }
}
