//! The DataFusion session over the lake: tables, views, tuning, and the per-query guards.

use std::num::NonZeroUsize;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::{GreedyMemoryPool, TrackConsumersPool};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::prelude::{DataFrame, SessionConfig, SessionContext};
use dss_lake_schema::{Table, layout};
use serde::Serialize;
use tokio::sync::Semaphore;

use crate::delta::{AsOfFunction, LakeTable, LatestSnapshot};
use crate::runtime::QueryRuntime;
use crate::store::{LakeRegistry, LakeStore};
use crate::time_slice::TimeSlices;
use crate::{EngineConfig, Metrics, QueryError, guard, views};

/// The SQL engine over one lake. Cheap to clone; all clones share the session, the caches, the
/// query runtime and the metrics.
#[derive(Debug, Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    /// The session holding tables and views; each query runs on a copy of its state with a
    /// memory pool of its own.
    ctx: SessionContext,
    pub(crate) config: EngineConfig,
    pub(crate) runtime: QueryRuntime,
    pub(crate) metrics: Metrics,
    /// Query slots, shared by every front-end. A semaphore rather than a fixed worker pool
    /// because a query is an async task on the query runtime; its permit moves into that task
    /// and returns when the last chunk is sent or the client goes away. Capacity:
    /// `max_concurrent_queries`.
    pub(crate) slots: Arc<Semaphore>,
    catalog: Vec<TableInfo>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.config)
            .field("session", &self.ctx.session_id())
            .finish_non_exhaustive()
    }
}

/// A table or view and its columns, as `GET /api/v1/tables` lists them.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TableInfo {
    pub name: String,
    /// `table` or `view`.
    pub kind: &'static str,
    pub columns: Vec<ColumnInfo>,
}

/// One column of a [`TableInfo`].
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ColumnInfo {
    pub name: String,
    /// The Arrow type, e.g. `Utf8`, `Timestamp(µs, "UTC")`.
    pub data_type: String,
    pub nullable: bool,
}

impl Engine {
    /// Opens the lake at `config.lake` (creating the folder if it does not exist yet, so a
    /// server can start before the first file is written) and registers its tables, views and
    /// `as_of`. Refuses a lake written before the Delta lake, whose files no log names.
    pub async fn open(config: EngineConfig) -> Result<Engine, QueryError> {
        std::fs::create_dir_all(&config.lake)?;
        let lake = std::fs::canonicalize(&config.lake)?;
        if let Some(refusal) = layout::unconverted_refusal(&config.lake) {
            return Err(QueryError::Unconverted(refusal));
        }
        let store = Arc::new(LakeStore::new(&lake)?);
        let threads = config.resolved_threads();
        let runtime = QueryRuntime::new(threads)?;
        let ctx = session(&config, store, threads)?;
        let mut tables = Vec::new();
        for table in Table::ALL {
            let provider = Arc::new(lake_table(&ctx, &lake, table, &config)?);
            ctx.register_table(table.dir_name(), provider.clone())?;
            tables.push(provider);
        }
        ctx.register_udtf(
            AsOfFunction::NAME,
            Arc::new(AsOfFunction::new(lake, tables)),
        );
        for (name, sql) in views::VIEWS {
            ctx.sql(&format!("CREATE VIEW {name} AS {sql}")).await?;
        }
        let catalog = catalog(&ctx).await?;
        let slots = Arc::new(Semaphore::new(config.max_concurrent_queries.max(1)));
        Ok(Engine {
            inner: Arc::new(Inner {
                ctx,
                config,
                runtime,
                metrics: Metrics::default(),
                slots,
                catalog,
            }),
        })
    }

    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    /// The lake's tables (with the `date` partition column) followed by the views.
    pub fn tables(&self) -> &[TableInfo] {
        &self.inner.catalog
    }

    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Checks, parses and plans `sql` for one query, with a memory pool of its own: the one way
    /// in for every front-end. Refuses a statement past the [`crate::QueryLimits`] before it is
    /// parsed, and anything that is not a read of the lake (see [`crate::guard`]). Runs on the
    /// query runtime only (`collect`, `stream`), whose threads' stacks are sized for the trees
    /// the limits let through.
    pub(crate) async fn plan(&self, sql: &str) -> Result<DataFrame, QueryError> {
        self.inner.config.limits.check(sql)?;
        let base = self.inner.ctx.state();
        let dialect = base.config().options().sql_parser.dialect;
        let statement = base.sql_to_statement(sql, &dialect)?;
        guard::check_statement(&statement)?;
        let pool = TrackConsumersPool::new(
            GreedyMemoryPool::new(self.inner.config.memory_limit.as_usize()),
            NonZeroUsize::new(3).expect("3 is not zero"),
        );
        let runtime_env = RuntimeEnvBuilder::from_runtime_env(base.runtime_env())
            .with_memory_pool(Arc::new(pool))
            .build_arc()?;
        let state = SessionStateBuilder::new_from_existing(base)
            .with_runtime_env(runtime_env)
            .build();
        let plan = state.statement_to_plan(statement).await?;
        guard::check_plan(&plan)?;
        Ok(DataFrame::new(state, plan))
    }
}

/// The session: a lake-only object store, bounded caches, no spilling, and tuning for this lake.
fn session(
    config: &EngineConfig,
    store: Arc<LakeStore>,
    threads: usize,
) -> Result<SessionContext, QueryError> {
    let runtime_env = RuntimeEnvBuilder::new()
        .with_object_store_registry(Arc::new(LakeRegistry::new(store)))
        .with_disk_manager_builder(
            DiskManagerBuilder::default().with_mode(DiskManagerMode::Disabled),
        )
        .build_arc()?;
    let partitions = if config.target_partitions > 0 {
        config.target_partitions
    } else {
        threads
    };
    let mut session_config = SessionConfig::new()
        .with_target_partitions(partitions)
        .with_batch_size(config.batch_size)
        .with_information_schema(true)
        .with_collect_statistics(true);
    let options = session_config.options_mut();
    // Row-group statistics and the page index let `dsn = ...` and time ranges skip most of a
    // file: the writer sorts every file by dsn (and property), then event time.
    options.execution.parquet.pruning = true;
    options.execution.parquet.enable_page_index = true;
    // Evaluate filters while decoding, so the wide text columns (value_json, metadata_json) of
    // rows a filter rejects are never decoded; reorder to run the cheapest filter first.
    options.execution.parquet.pushdown_filters = true;
    options.execution.parquet.reorder_filters = true;
    // Every query re-optimizes the views it names; a second pass of the ~30 logical rules cost
    // 1.2 ms of the 7 ms a small query takes to plan and changed no physical plan of `queries/`.
    options.optimizer.max_passes = 1;
    let builder = SessionStateBuilder::new()
        .with_config(session_config)
        .with_runtime_env(runtime_env)
        .with_default_features();
    let state = dss_lake_datafusion_ext::register(builder)
        // Last, so that no rule after it looks for a join and finds the wrapper instead.
        .with_physical_optimizer_rule(Arc::new(TimeSlices))
        .build();
    let ctx = SessionContext::new_with_state(state);
    Ok(ctx)
}

/// One table: the Delta table at `<lake>/<table>/`, the schema from the contract (never
/// inferred, never the log's), `date` as its partition column so `WHERE date = ...` skips
/// partitions from the log alone.
fn lake_table(
    ctx: &SessionContext,
    lake: &std::path::Path,
    table: Table,
    config: &EngineConfig,
) -> Result<LakeTable, QueryError> {
    // The format carries the session's Parquet options (pushdown, page index); a bare
    // `ParquetFormat::default()` would silently ignore them.
    let parquet = ctx.state().default_table_options().parquet;
    let format = Arc::new(ParquetFormat::default().with_options(parquet));
    let snapshot = LatestSnapshot::new(lake, table, config.snapshot_ttl)?;
    Ok(LakeTable::latest(
        table,
        string_views(&table.table_schema()),
        format,
        Arc::new(snapshot),
    ))
}

/// The contract's schema with string columns read as string views: the Parquet reader then
/// points into its decoded pages instead of copying every value, and grouping and comparing
/// short strings (dsn, property names) works on the inline prefix. About 1.8x on the
/// `chattiest_properties` query over the benchmark lake. Results leave the engine as plain
/// strings where a reader may not know views (see `format.rs`).
fn string_views(schema: &Schema) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Utf8 => f.as_ref().clone().with_data_type(DataType::Utf8View),
            _ => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

async fn catalog(ctx: &SessionContext) -> Result<Vec<TableInfo>, QueryError> {
    let mut out = Vec::new();
    let names = Table::ALL
        .iter()
        .map(|t| (t.dir_name(), "table"))
        .chain(views::VIEWS.iter().map(|(name, _)| (*name, "view")));
    for (name, kind) in names {
        let schema = ctx.table_provider(name).await?.schema();
        let columns = schema
            .fields()
            .iter()
            .map(|f| ColumnInfo {
                name: f.name().clone(),
                data_type: f.data_type().to_string(),
                nullable: f.is_nullable(),
            })
            .collect();
        out.push(TableInfo {
            name: name.to_owned(),
            kind,
            columns,
        });
    }
    Ok(out)
}
