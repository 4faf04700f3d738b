//! The file-system calls that make a commit durable, behind one seam.
//!
//! `std::fs::rename` alone is atomic but not durable: the data must be synced before the
//! rename, and the folder after it, or a power cut can leave a zero-length or zero-filled file
//! under the final name. (`object_store` before 0.14 never fsyncs, hence our own calls.) Every
//! call that changes the lake (create, write, sync, rename, link, folder sync, remove) goes through
//! [`LakeFs`], so a test can record their order and fail, or cut the power at, any one of them.
//! Reads (listing, loading a checkpoint) go straight to `std::fs`: they change nothing.
//! [`LocalFs`] is the real thing and the only implementation outside tests.

use std::collections::HashSet;
use std::fmt;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::{LakeError, Result};

/// The calls that change the lake. Each is one step a crash can fall between.
pub trait LakeFs: Send + Sync + fmt::Debug {
    /// Creates one folder (its parent exists).
    fn create_dir(&self, dir: &Path) -> io::Result<()>;
    /// Creates (or truncates) a file for writing.
    fn create_file(&self, path: &Path) -> io::Result<Box<dyn LakeFile>>;
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Gives the file at `from` the second name `to`, failing with `AlreadyExists` if `to`
    /// exists: how a Delta log entry is created without ever overwriting one.
    fn link_new(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Makes the creations, renames and removals inside `dir` survive a crash.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    fn remove_file(&self, path: &Path) -> io::Result<()>;
}

/// A file being written. Its bytes survive a crash only after [`LakeFile::sync`].
pub trait LakeFile: Write + Send {
    fn sync(&mut self) -> io::Result<()>;
}

/// The local file system.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalFs;

impl LakeFs for LocalFs {
    fn create_dir(&self, dir: &Path) -> io::Result<()> {
        std::fs::create_dir(dir)
    }

    fn create_file(&self, path: &Path) -> io::Result<Box<dyn LakeFile>> {
        Ok(Box::new(File::create(path)?))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }

    fn link_new(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::hard_link(from, to)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }
}

impl LakeFile for File {
    fn sync(&mut self) -> io::Result<()> {
        self.sync_all()
    }
}

/// fsyncs a folder so that renames and creations inside it survive a crash.
pub(crate) fn sync_dir(fs: &dyn LakeFs, dir: &Path) -> Result<()> {
    fs.sync_dir(dir)
        .map_err(LakeError::io("syncing folder", dir))
}

/// The folders a writer has made sure exist durably, so that it syncs each parent once.
///
/// Known per writer rather than read off the disk: a folder that exists is not yet durable when
/// the sync of its parent failed, and a retried commit must sync it again, not skip it.
#[derive(Debug, Default)]
pub(crate) struct DurableDirs(HashSet<PathBuf>);

impl DurableDirs {
    /// `create_dir_all`, then fsyncs each created (or not yet known) folder's parent so the
    /// folders themselves persist.
    pub(crate) fn create(&mut self, fs: &dyn LakeFs, dir: &Path) -> Result<()> {
        if self.0.contains(dir) {
            return Ok(());
        }
        let parent = dir.parent().filter(|p| !p.as_os_str().is_empty());
        if !dir.is_dir() {
            if let Some(parent) = parent {
                self.create(fs, parent)?;
            }
            match fs.create_dir(dir) {
                Ok(()) => {}
                // Someone else made it meanwhile; a file in the way is an error like any other.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => {}
                Err(e) => return Err(LakeError::io("creating folder", dir)(e)),
            }
        }
        if let Some(parent) = parent {
            sync_dir(fs, parent)?;
        }
        self.0.insert(dir.to_path_buf());
        Ok(())
    }
}

/// Writes `bytes` to `temp`, syncs it, renames it to `path` and syncs the folder: after this
/// `path` holds exactly `bytes`, durably, and never held anything else.
pub(crate) fn replace_durably(
    fs: &dyn LakeFs,
    temp: &Path,
    path: &Path,
    bytes: &[u8],
) -> Result<()> {
    let mut file = fs
        .create_file(temp)
        .map_err(LakeError::io("creating", temp))?;
    file.write_all(bytes)
        .map_err(LakeError::io("writing", temp))?;
    file.sync().map_err(LakeError::io("syncing", temp))?;
    drop(file);
    fs.rename(temp, path)
        .map_err(LakeError::io("renaming", temp))?;
    sync_dir(fs, path.parent().unwrap_or(Path::new(".")))
}
