//! Every `queries/*.sql` against the fixture lake, compared with `queries/<name>.expected`.
//!
//! Run with `UPDATE_EXPECTED=1` to rewrite the expected files after a deliberate change, then
//! review the diff: the expected files are the answers a person checked against the fixture.

use crate::common;

use dss_lake_query::{Engine, EngineConfig, pretty};

#[tokio::test]
async fn every_fleet_query_gives_its_expected_answer() {
    let lake = tempfile::tempdir().unwrap();
    common::write_fixture_lake(lake.path());
    let engine = Engine::open(EngineConfig::new(lake.path())).await.unwrap();
    let dir = common::repo_root().join("queries");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    names.sort();
    assert!(
        names.len() >= 8,
        "the issue asks for at least eight queries"
    );
    let update = std::env::var_os("UPDATE_EXPECTED").is_some();
    let mut failures = Vec::new();
    for path in names {
        let sql = std::fs::read_to_string(&path).unwrap();
        let actual = match engine.collect(&sql).await {
            Ok(batches) => pretty(&batches).unwrap() + "\n",
            Err(e) => format!("ERROR: {e}\n"),
        };
        let expected_path = path.with_extension("expected");
        if update {
            std::fs::write(&expected_path, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if actual != expected {
            failures.push(format!(
                "{}:\n--- expected\n{expected}--- actual\n{actual}",
                path.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
