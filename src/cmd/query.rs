//! `dss-lake query`: one SQL statement over a lake, printed as a table.

use super::serve::EngineArgs;

/// Flags of `dss-lake query`.
#[derive(Debug, clap::Args)]
pub(crate) struct QueryArgs {
    #[command(flatten)]
    engine: EngineArgs,
    /// The SQL to run (read-only: SELECT, WITH, EXPLAIN, SHOW).
    sql: String,
}

pub(crate) fn run(args: QueryArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let table = runtime.block_on(async {
        let engine = dss_lake_query::Engine::open(args.engine.config()).await?;
        let batches = engine.collect(&args.sql).await?;
        dss_lake_query::pretty(&batches)
    })?;
    println!("{table}");
    Ok(())
}
