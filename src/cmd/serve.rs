//! `dss-lake serve`: the SQL endpoint over a lake, and the engine flags `dss-lake query` shares.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use dss_lake_http::ServerConfig;
use dss_lake_query::{EngineConfig, QueryLimits};
use dss_lake_units::{ByteSize, HumanDuration};

use super::process;

/// How the SQL engine reads the lake (shared by `serve` and `query`).
#[derive(Debug, clap::Args)]
pub(crate) struct EngineArgs {
    /// The lake directory: `<lake>/<table>/date=YYYY-MM-DD/*.parquet`.
    #[arg(long, env = "DSS_LAKE_DIR", default_value_os_t = ENGINE.lake.clone())]
    lake: PathBuf,
    /// Query worker threads, separate from the threads serving sockets; 0 = one per core.
    #[arg(long, env = "DSS_LAKE_QUERY_THREADS", default_value_t = ENGINE.threads)]
    query_threads: usize,
    /// DataFusion target partitions (parallel streams per scan); 0 = the number of query threads.
    #[arg(long, env = "DSS_LAKE_TARGET_PARTITIONS", default_value_t = ENGINE.target_partitions)]
    target_partitions: usize,
    /// Rows per Arrow batch inside the engine.
    #[arg(long, env = "DSS_LAKE_BATCH_SIZE", default_value_t = ENGINE.batch_size)]
    batch_size: usize,
    /// Memory one query may use for hash tables, sorts and joins (e.g. 512MiB, 2GiB); a query
    /// that needs more fails with an error instead of spilling or exhausting the machine.
    #[arg(long, env = "DSS_LAKE_QUERY_MEMORY", default_value_t = ENGINE.memory_limit)]
    query_memory: ByteSize,
    /// How long one query may run, result streaming included (e.g. 30s, 5m).
    #[arg(long, env = "DSS_LAKE_QUERY_TIMEOUT", default_value_t = HumanDuration(ENGINE.query_timeout))]
    query_timeout: HumanDuration,
    /// How long a table's Delta snapshot is reused before the log is checked for new commits:
    /// how stale an answer can be (e.g. 500ms, 5s).
    #[arg(long, alias = "list-cache-ttl", env = "DSS_LAKE_SNAPSHOT_TTL", default_value_t = HumanDuration(ENGINE.snapshot_ttl))]
    snapshot_ttl: HumanDuration,
    /// The largest SQL statement accepted, by any front-end (e.g. 1MiB).
    #[arg(long, env = "DSS_LAKE_MAX_SQL_BYTES", default_value_t = ByteSize(ENGINE.limits.max_sql_bytes as u64))]
    max_sql_bytes: ByteSize,
    /// How deep an expression may nest: each operator of a chain like `a OR b OR c` is a level,
    /// and so is each parenthesis, function call and CASE around it.
    #[arg(long, env = "DSS_LAKE_MAX_EXPR_DEPTH", default_value_t = ENGINE.limits.max_expr_depth)]
    max_expr_depth: usize,
    /// How many items one list may hold: an IN list, function arguments, a select list.
    #[arg(long, env = "DSS_LAKE_MAX_EXPR_WIDTH", default_value_t = ENGINE.limits.max_expr_width)]
    max_expr_width: usize,
    /// How many UNION, INTERSECT and EXCEPT operators one statement may have.
    #[arg(long, env = "DSS_LAKE_MAX_SET_OPERATIONS", default_value_t = ENGINE.limits.max_set_operations)]
    max_set_operations: usize,
    /// How many tables, subqueries and CTEs one statement may join or define.
    #[arg(long, env = "DSS_LAKE_MAX_RELATIONS", default_value_t = ENGINE.limits.max_relations)]
    max_relations: usize,
}

/// The engine's defaults, which every flag shows and starts from (`EngineConfig::default`).
static ENGINE: std::sync::LazyLock<EngineConfig> = std::sync::LazyLock::new(EngineConfig::default);
/// The HTTP front-end's defaults (`ServerConfig::new`).
static SERVER: std::sync::LazyLock<ServerConfig> =
    std::sync::LazyLock::new(|| ServerConfig::new(EngineConfig::default()));

impl EngineArgs {
    pub(crate) fn config(&self) -> EngineConfig {
        let mut config = EngineConfig::new(&self.lake);
        config.threads = self.query_threads;
        config.target_partitions = self.target_partitions;
        config.batch_size = self.batch_size.max(1);
        config.memory_limit = self.query_memory;
        config.query_timeout = self.query_timeout.0;
        config.snapshot_ttl = self.snapshot_ttl.0;
        config.limits = QueryLimits {
            max_sql_bytes: self.max_sql_bytes.as_usize(),
            max_expr_depth: self.max_expr_depth,
            max_expr_width: self.max_expr_width,
            max_set_operations: self.max_set_operations,
            max_relations: self.max_relations,
        };
        config
    }
}

/// Flags of `dss-lake serve`.
#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    engine: EngineArgs,
    /// Address to listen on.
    #[arg(long, env = "DSS_LAKE_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Bearer token every request but /health must carry; empty = no authentication.
    #[arg(
        long,
        env = "DSS_LAKE_TOKEN",
        default_value = "",
        hide_env_values = true
    )]
    token: String,
    /// Origins allowed by CORS, comma-separated; `*` allows any; empty disables CORS.
    #[arg(
        long,
        env = "DSS_LAKE_CORS_ORIGINS",
        default_value = "",
        value_delimiter = ','
    )]
    cors_origins: Vec<String>,
    /// Queries executing at once; more wait in line. Bounds memory at this times --query-memory.
    #[arg(long, env = "DSS_LAKE_MAX_CONCURRENT_QUERIES", default_value_t = ENGINE.max_concurrent_queries)]
    max_concurrent_queries: usize,
    /// How long a query waits for a free slot before it is answered 503.
    #[arg(long, env = "DSS_LAKE_QUEUE_TIMEOUT", default_value_t = HumanDuration(ENGINE.queue_timeout))]
    queue_timeout: HumanDuration,
    /// The largest accepted request body (the SQL).
    #[arg(long, env = "DSS_LAKE_MAX_REQUEST_BYTES", default_value_t = ByteSize(SERVER.max_request_bytes as u64))]
    max_request_bytes: ByteSize,
}

impl ServeArgs {
    fn config(&self) -> ServerConfig {
        let mut config = ServerConfig::new(self.engine.config());
        config.token = Some(self.token.clone()).filter(|t| !t.is_empty());
        config.cors_origins = self
            .cors_origins
            .iter()
            .filter(|o| !o.is_empty())
            .cloned()
            .collect();
        config.engine.max_concurrent_queries = self.max_concurrent_queries.max(1);
        config.engine.queue_timeout = self.queue_timeout.0;
        config.max_request_bytes = self.max_request_bytes.as_usize();
        config
    }
}

pub(crate) fn run(args: ServeArgs) -> anyhow::Result<()> {
    process::init_logging("info");
    let config = args.config();
    // Two threads for sockets are plenty: queries run on the engine's own runtime.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("dss-lake-http")
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let shutdown = async {
            let _ = process::shutdown_signal().await;
        };
        dss_lake_http::serve(config, listener, shutdown).await?;
        Ok(())
    })
}

/// `--check`: the flags parse into a valid server config.
pub(crate) fn check(args: &ServeArgs) -> anyhow::Result<()> {
    let config = args.config();
    println!(
        "ok: serve {} on {} (auth {})",
        config.engine.lake.display(),
        args.listen,
        if config.token.is_some() { "on" } else { "off" }
    );
    Ok(())
}
