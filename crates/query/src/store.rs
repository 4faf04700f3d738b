//! The only storage the engine can reach: the lake directory, read-only, committed files only.
//!
//! DataFusion's default registry maps `file://` to the whole filesystem and follows symlinks. The
//! engine instead gets a registry holding one store under [`LAKE_URL`], a [`LakeStore`] that
//! wraps `LocalFileSystem::new_with_prefix(lake)` and
//! - refuses every write, copy, rename and delete;
//! - hides in-flight and hidden files (`_*`, `.*`), hidden folders such as `_checkpoints`, and
//!   anything that is not Parquet, from listings and reads alike;
//! - refuses any path whose real location (symlinks resolved) is outside the lake.

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::common::plan_datafusion_err;
use datafusion::execution::object_store::ObjectStoreRegistry;
use dss_lake_schema::layout::is_hidden;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions,
};

/// The URL the lake's store is registered under; table URLs are `dss-lake://lake/<table>/`.
pub const LAKE_URL: &str = "dss-lake://lake/";

/// A read-only view of the lake that shows committed Parquet files only.
#[derive(Debug)]
pub struct LakeStore {
    inner: Arc<LocalFileSystem>,
    /// The canonical lake root; every path read must resolve inside it.
    root: Arc<PathBuf>,
}

impl LakeStore {
    /// A store over `lake`, which must exist.
    pub fn new(lake: &std::path::Path) -> std::io::Result<Self> {
        let root = std::fs::canonicalize(lake)?;
        let inner = LocalFileSystem::new_with_prefix(&root).map_err(std::io::Error::other)?;
        Ok(LakeStore {
            inner: Arc::new(inner),
            root: Arc::new(root),
        })
    }

    /// True when `location` may be shown and read: no hidden segment, a Parquet file name, and
    /// a real path inside the lake.
    fn visible(&self, location: &Path) -> bool {
        let mut parts: Vec<_> = location.parts().collect();
        let Some(file) = parts.pop() else {
            return false;
        };
        if is_hidden(file.as_ref()) || parts.iter().any(|p| hidden_segment(p.as_ref())) {
            return false;
        }
        self.inside(location)
    }

    /// True when `location` exists and its real path (symlinks resolved) is inside the lake.
    fn inside(&self, location: &Path) -> bool {
        self.inner
            .path_to_filesystem(location)
            .ok()
            .and_then(|p| std::fs::canonicalize(p).ok())
            .is_some_and(|real| real.starts_with(self.root.as_path()))
    }

    fn not_found(location: &Path) -> object_store::Error {
        object_store::Error::NotFound {
            path: location.to_string(),
            source: "not a committed file of the lake".into(),
        }
    }

    fn read_only() -> object_store::Error {
        object_store::Error::NotSupported {
            source: "the query engine's view of the lake is read-only".into(),
        }
    }
}

fn hidden_segment(segment: &str) -> bool {
    segment.starts_with(['_', '.'])
}

impl fmt::Display for LakeStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LakeStore({})", self.root.display())
    }
}

#[async_trait]
impl ObjectStore for LakeStore {
    async fn put_opts(
        &self,
        _location: &Path,
        _payload: PutPayload,
        _opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        Err(Self::read_only())
    }

    async fn put_multipart_opts(
        &self,
        _location: &Path,
        _opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        Err(Self::read_only())
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        if !self.visible(location) {
            return Err(Self::not_found(location));
        }
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<bytes::Bytes>> {
        if !self.visible(location) {
            return Err(Self::not_found(location));
        }
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        locations.map(|_| Err(Self::read_only())).boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        // Listing is rare (the list-files cache absorbs repeats), so checking each entry with
        // a `canonicalize` costs little next to reading the files.
        let check = LakeStore {
            inner: Arc::clone(&self.inner),
            root: Arc::clone(&self.root),
        };
        self.inner
            .list(prefix)
            .filter(move |item| {
                let keep = match item {
                    Ok(meta) => check.visible(&meta.location),
                    Err(_) => true,
                };
                std::future::ready(keep)
            })
            .boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        let mut result = self.inner.list_with_delimiter(prefix).await?;
        result.objects.retain(|meta| self.visible(&meta.location));
        result
            .common_prefixes
            .retain(|dir| dir.parts().all(|p| !hidden_segment(p.as_ref())) && self.inside(dir));
        Ok(result)
    }

    async fn copy_opts(
        &self,
        _from: &Path,
        _to: &Path,
        _options: CopyOptions,
    ) -> object_store::Result<()> {
        Err(Self::read_only())
    }

    async fn rename_opts(
        &self,
        _from: &Path,
        _to: &Path,
        _options: RenameOptions,
    ) -> object_store::Result<()> {
        Err(Self::read_only())
    }
}

/// An object store registry that knows the lake and nothing else: any other URL (`file://`,
/// `s3://`, ...) is an error, so no table or function can reach outside the lake.
#[derive(Debug)]
pub(crate) struct LakeRegistry {
    store: Arc<dyn ObjectStore>,
}

impl LakeRegistry {
    pub(crate) fn new(store: Arc<LakeStore>) -> Self {
        LakeRegistry { store }
    }
}

impl ObjectStoreRegistry for LakeRegistry {
    fn register_store(
        &self,
        _url: &url::Url,
        _store: Arc<dyn ObjectStore>,
    ) -> Option<Arc<dyn ObjectStore>> {
        // Registration after start-up is not part of this engine; ignoring it keeps the lake the
        // only reachable store.
        None
    }

    fn get_store(&self, url: &url::Url) -> datafusion::common::Result<Arc<dyn ObjectStore>> {
        if url.as_str().starts_with(LAKE_URL.trim_end_matches('/')) {
            Ok(Arc::clone(&self.store))
        } else {
            Err(plan_datafusion_err!(
                "only the lake can be read; no object store for {url}"
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::TryStreamExt;

    #[tokio::test]
    async fn hides_in_flight_files_and_refuses_writes_and_symlinks_out() {
        let lake = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let day = lake.path().join("gaps/date=2026-11-24");
        std::fs::create_dir_all(&day).unwrap();
        std::fs::create_dir_all(lake.path().join("_checkpoints")).unwrap();
        for name in [
            "a-1-2.parquet",
            "_inflight.a-3-4.parquet.partial",
            ".x.parquet",
            "notes.txt",
        ] {
            std::fs::write(day.join(name), b"x").unwrap();
        }
        std::fs::write(lake.path().join("_checkpoints/s.parquet"), b"x").unwrap();
        std::fs::write(outside.path().join("secret.parquet"), b"x").unwrap();
        std::os::unix::fs::symlink(
            outside.path().join("secret.parquet"),
            day.join("s-5-6.parquet"),
        )
        .unwrap();

        let store = LakeStore::new(lake.path()).unwrap();
        let listed: Vec<String> = store
            .list(None)
            .map_ok(|m| m.location.to_string())
            .try_collect()
            .await
            .unwrap();
        assert_eq!(listed, ["gaps/date=2026-11-24/a-1-2.parquet"]);

        for hidden in [
            "_inflight.a-3-4.parquet.partial",
            "s-5-6.parquet",
            "notes.txt",
        ] {
            let path = Path::from(format!("gaps/date=2026-11-24/{hidden}"));
            assert!(
                store.get_opts(&path, GetOptions::default()).await.is_err(),
                "{hidden}"
            );
        }
        let ok = Path::from("gaps/date=2026-11-24/a-1-2.parquet");
        assert!(store.get_opts(&ok, GetOptions::default()).await.is_ok());
        let put = store.put_opts(&ok, PutPayload::from_static(b"y"), PutOptions::default());
        assert!(put.await.is_err());
        assert_eq!(std::fs::read(day.join("a-1-2.parquet")).unwrap(), b"x");

        let top = store.list_with_delimiter(None).await.unwrap();
        let dirs: Vec<String> = top.common_prefixes.iter().map(|p| p.to_string()).collect();
        assert_eq!(dirs, ["gaps"]);
    }
}
