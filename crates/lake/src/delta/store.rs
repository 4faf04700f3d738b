//! The object store delta-rs writes a local lake's logs through: object_store's local file
//! system for reads, and for writes the lake's own [`LakeFs`] seam, so that a log entry is
//! durable before delta-rs counts it as committed, and the durability tests see (and can fail,
//! or cut the power at) every step of it.
//!
//! object_store's `LocalFileSystem` never fsyncs: after a power cut a log entry it wrote could
//! be missing, or present under its name and empty, which no Delta reader can open. Here a
//! write goes to a hidden staging file in the same folder, which is synced, then linked under
//! its name (a new entry: fails if the name exists, so an entry is never overwritten) or renamed
//! over it (a replaced one, such as `_last_checkpoint`), and the folder is synced.

use std::collections::HashSet;
use std::fmt;
use std::io::{self, Write};
use std::path::{Path as FsPath, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use futures_util::stream::BoxStream;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMode, PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions,
};

use crate::fs::LakeFs;

const STORE: &str = "DurableLocalStore";

/// The local file system, rooted at `/`, with durable writes through a [`LakeFs`].
#[derive(Debug)]
pub(crate) struct DurableLocalStore {
    reads: LocalFileSystem,
    fs: Arc<dyn LakeFs>,
    /// The log folders this store has made sure are durable. Their parents, the table folders,
    /// are: a table's files were committed into them before anything is published.
    folders: Mutex<HashSet<PathBuf>>,
}

/// Numbers the staging files of every store in the process: writers of different streams
/// stage entries of the same version of one table at the same moment.
static STAGED: AtomicU64 = AtomicU64::new(0);

impl DurableLocalStore {
    pub(crate) fn new(fs: Arc<dyn LakeFs>) -> DurableLocalStore {
        DurableLocalStore {
            reads: LocalFileSystem::new(),
            fs,
            folders: Mutex::new(HashSet::new()),
        }
    }

    /// Creates `dir` if it is missing and syncs its parent, once per store: a folder found on
    /// disk may be one whose creation a crash left unsynced.
    fn ensure_folder(&self, dir: &FsPath) -> io::Result<()> {
        let mut known = self.folders.lock().unwrap_or_else(PoisonError::into_inner);
        if known.contains(dir) {
            return Ok(());
        }
        if !dir.is_dir() {
            // A new table's folder (and a new lake's) first: a writer opens every table's log
            // before it writes its first file.
            if let Some(parent) = dir.parent().filter(|p| !p.is_dir()) {
                drop(known);
                self.ensure_folder(parent)?;
                known = self.folders.lock().unwrap_or_else(PoisonError::into_inner);
            }
            match self.fs.create_dir(dir) {
                Ok(()) => {}
                // Another stream's writer made it meanwhile.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => {}
                Err(e) => return Err(e),
            }
        }
        if let Some(parent) = dir.parent() {
            self.fs.sync_dir(parent)?;
        }
        known.insert(dir.to_owned());
        Ok(())
    }

    /// Writes `payload` as `path`: staged, synced, then linked (`create`: fails if `path`
    /// exists) or renamed into place, and the folder synced.
    fn write_durably(&self, path: &FsPath, payload: &PutPayload, create: bool) -> io::Result<()> {
        let dir = path.parent().ok_or_else(|| io::Error::other("no folder"))?;
        self.ensure_folder(dir)?;
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("entry");
        let staged = STAGED.fetch_add(1, Ordering::Relaxed);
        // Hidden, and not a name the Delta log's listing parses as an entry.
        let staging = dir.join(format!(".{name}.{}-{staged}.staging", std::process::id()));
        let written = (|| {
            let mut file = self.fs.create_file(&staging)?;
            for chunk in payload.iter() {
                file.write_all(chunk)?;
            }
            file.sync()?;
            drop(file);
            if create {
                self.fs.link_new(&staging, path)?;
                self.fs.remove_file(&staging)
            } else {
                self.fs.rename(&staging, path)
            }
        })();
        if written.is_err() && staging.exists() {
            let _ = self.fs.remove_file(&staging);
        }
        written?;
        self.fs.sync_dir(dir)
    }
}

impl fmt::Display for DurableLocalStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(STORE)
    }
}

#[async_trait]
impl ObjectStore for DurableLocalStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        let create = match opts.mode {
            PutMode::Create => true,
            PutMode::Overwrite => false,
            // Conditional updates are not something a local file system offers.
            PutMode::Update(_) => return self.reads.put_opts(location, payload, opts).await,
        };
        let path: PathBuf = self.reads.path_to_filesystem(location)?;
        // The seam's calls block; they are few and small (a log entry), and delta-rs already
        // runs them on a runtime of the writer's own.
        match self.write_durably(&path, &payload, create) {
            Ok(()) => Ok(PutResult {
                e_tag: None,
                version: None,
            }),
            Err(source) if source.kind() == io::ErrorKind::AlreadyExists => {
                Err(object_store::Error::AlreadyExists {
                    path: location.to_string(),
                    source: Box::new(source),
                })
            }
            Err(source) => Err(object_store::Error::Generic {
                store: STORE,
                source: Box::new(source),
            }),
        }
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.reads.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.reads.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.reads.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.reads.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.reads.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.reads.copy_opts(from, to, options).await
    }

    async fn rename_opts(
        &self,
        from: &Path,
        to: &Path,
        options: RenameOptions,
    ) -> object_store::Result<()> {
        self.reads.rename_opts(from, to, options).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::LocalFs;

    #[test]
    fn an_entry_is_created_once_replaced_when_asked_and_leaves_no_staging_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = DurableLocalStore::new(Arc::new(LocalFs));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        // The table folder exists (its files were committed); its log folder does not yet.
        std::fs::create_dir(dir.path().join("table")).unwrap();
        let file = dir
            .path()
            .join("table/_delta_log/00000000000000000000.json");
        let location = Path::from_absolute_path(&file).unwrap();
        let put = |bytes: &'static [u8], mode| {
            let opts = PutOptions {
                mode,
                ..PutOptions::default()
            };
            runtime.block_on(store.put_opts(&location, PutPayload::from_static(bytes), opts))
        };
        put(b"first", PutMode::Create).unwrap();
        let again = put(b"second", PutMode::Create).unwrap_err();
        assert!(
            matches!(again, object_store::Error::AlreadyExists { .. }),
            "{again}"
        );
        assert_eq!(std::fs::read(&file).unwrap(), b"first");
        put(b"third", PutMode::Overwrite).unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"third");
        let names: Vec<_> = std::fs::read_dir(file.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["00000000000000000000.json"]);
    }
}
