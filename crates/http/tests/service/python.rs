//! The notebook example and the format checks, run by the project's own Python environment
//! (`scripts/python-env.sh`) against the real server on 127.0.0.1:0: every format parses in its
//! natural reader (pandas, pyarrow, polars) and gives the same rows as DuckDB over the same files.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn python_env() -> PathBuf {
    dss_lake_test_support::python::venv_python("main")
}

async fn run_python(python: PathBuf, args: Vec<String>) -> String {
    let output =
        tokio::task::spawn_blocking(move || Command::new(python).args(&args).output().unwrap())
            .await
            .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "python failed:\n{stdout}\n{stderr}"
    );
    stdout
}

fn path(p: &Path) -> String {
    p.to_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notebook_and_duckdb_agreement_in_every_format() {
    let python = tokio::task::spawn_blocking(python_env).await.unwrap();
    let lake = tempfile::tempdir().unwrap();
    common::write_fixture_lake(lake.path());
    let server = common::client::start(lake.path(), |_| {}).await;
    let base = format!("http://{}", server.addr);
    let root = common::repo_root();

    let out = run_python(
        python.clone(),
        vec![path(&root.join("examples/notebook.py")), base.clone()],
    )
    .await;
    assert!(out.contains("notebook ok"), "{out}");
    assert!(out.contains("freezer readings: 5"), "{out}");

    let check = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/check_formats.py");
    let args = vec![
        path(&check),
        base,
        path(lake.path()),
        path(&root.join("queries")),
    ];
    let out = run_python(python, args).await;
    assert!(out.contains(" 0 failed"), "{out}");
}
