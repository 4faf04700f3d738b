//! The project's Python environments, made by `scripts/python-env.sh` (idempotent) the first
//! time a test asks: `main` (`.venv`: pandas, pyarrow, polars, DuckDB, deltalake) and
//! `duckdb-delta` (`.venv-duckdb-delta`: DuckDB with its `delta` extension).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root (this crate lives at `crates/test-support`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The Python of `environment`, made if need be; panics if the script fails.
pub fn venv_python(environment: &str) -> PathBuf {
    let root = repo_root();
    let status = Command::new("bash")
        .arg(root.join("scripts/python-env.sh"))
        .arg(environment)
        .status()
        .expect("bash runs");
    assert!(
        status.success(),
        "scripts/python-env.sh {environment} failed"
    );
    let folder = match environment {
        "main" => ".venv".to_owned(),
        other => format!(".venv-{other}"),
    };
    root.join(folder).join("bin/python")
}
