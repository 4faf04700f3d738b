//! Durability helpers. `std::fs::rename` alone is atomic but not durable: the data must be
//! synced before the rename, and the folder after it, or a power cut can leave a zero-length or
//! zero-filled file under the final name. (`object_store` before 0.14 never fsyncs, hence this.)

use std::fs::{self, File};
use std::path::Path;

use crate::error::{LakeError, Result};

/// fsyncs a folder so that renames and creations inside it survive a crash.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(LakeError::io("syncing folder", dir))
}

/// `create_dir_all`, then fsyncs each created folder's parent so the folders themselves persist.
pub(crate) fn create_dir_all_synced(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_dir_all_synced(parent)?;
    }
    match fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => return Err(LakeError::io("creating folder", dir)(e)),
    }
    match dir.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => sync_dir(parent),
        _ => Ok(()),
    }
}
