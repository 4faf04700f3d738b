//! The lake's tables as the engine reads them: Delta tables, scanned from their snapshots.
//!
//! A scan never lists a folder. Its files, their `date` partitions and their statistics come
//! from the table's Delta snapshot, which [`LatestSnapshot`] refreshes incrementally (new log
//! entries only) once it is older than the engine's `snapshot_ttl`. So a file that never reached
//! the log (an orphan of a crash) is never read, and a commit is visible to the first query
//! after the TTL. The scan itself is DataFusion's Parquet scan with the session's options
//! (pushdown, page index), the same plan a `ListingTable` makes, so every rewrite of
//! `dss-lake-datafusion-ext` sees the plans it was written for. [`as_of`] reads an older
//! version (time travel).

mod as_of;
mod files;
mod prune;
mod snapshot;

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{Array, AsArray, Date32Array, RecordBatch};
use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::catalog::Session;
use datafusion::common::{DFSchema, Result};
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::listing::helpers::expr_applicable_for_cols;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfigBuilder};
use datafusion::datasource::table_schema::TableSchema;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::logical_expr::utils::conjunction;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_expr::LexOrdering;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::empty::EmptyExec;
use dss_lake_schema::{Table, columns};

pub(crate) use as_of::AsOfFunction;
pub(crate) use snapshot::LatestSnapshot;

use crate::store::LAKE_URL;
use files::Files;
use snapshot::Pinned;

/// Which version of the table a scan reads.
#[derive(Debug)]
enum Source {
    /// The newest commit, from the engine's shared, refreshed snapshot.
    Latest(Arc<LatestSnapshot>),
    /// A version chosen in the query (`as_of`), loaded for that query alone.
    Pinned(Pinned),
}

/// One lake table: its schema from the contract (with string views, see `engine.rs`), its
/// files from a Delta snapshot.
#[derive(Debug)]
pub(crate) struct LakeTable {
    table: Table,
    /// The file columns, then `date`.
    schema: SchemaRef,
    file_schema: SchemaRef,
    ordering: Option<LexOrdering>,
    format: Arc<ParquetFormat>,
    source: Source,
}

impl LakeTable {
    /// `table` at its newest version, through `snapshot`. `schema` is the contract's table
    /// schema as the engine reads it; `format` carries the session's Parquet options.
    pub(crate) fn latest(
        table: Table,
        schema: SchemaRef,
        format: Arc<ParquetFormat>,
        snapshot: Arc<LatestSnapshot>,
    ) -> LakeTable {
        LakeTable::new(table, schema, format, Source::Latest(snapshot))
    }

    fn new(table: Table, schema: SchemaRef, format: Arc<ParquetFormat>, source: Source) -> Self {
        let file_fields: Vec<Field> = schema
            .fields()
            .iter()
            .filter(|f| f.name() != columns::DATE)
            .map(|f| f.as_ref().clone())
            .collect();
        let file_schema = Arc::new(Schema::new_with_metadata(
            file_fields,
            schema.metadata().clone(),
        ));
        LakeTable {
            table,
            ordering: files::file_ordering(table, &schema),
            schema,
            file_schema,
            format,
            source,
        }
    }

    /// The same table, read at `pinned` instead.
    fn pinned(&self, pinned: Pinned) -> LakeTable {
        LakeTable::new(
            self.table,
            self.schema.clone(),
            self.format.clone(),
            Source::Pinned(pinned),
        )
    }

    pub(crate) fn table(&self) -> Table {
        self.table
    }

    async fn files(&self) -> Result<Arc<Files>> {
        match &self.source {
            Source::Latest(snapshot) => {
                snapshot
                    .files(&self.file_schema, self.ordering.as_ref())
                    .await
            }
            Source::Pinned(pinned) => {
                pinned
                    .files(&self.file_schema, self.ordering.as_ref())
                    .await
            }
        }
    }

    /// The dates among `files` that every filter of `partition_filters` (filters on `date`
    /// alone) accepts, each date's filters evaluated once.
    fn accepted_dates(
        &self,
        state: &dyn Session,
        files: &[PartitionedFile],
        partition_filters: &[Expr],
    ) -> Result<Option<HashSet<i32>>> {
        let Some(filter) = conjunction(partition_filters.iter().cloned()) else {
            return Ok(None);
        };
        let dates: Vec<i32> = files
            .iter()
            .filter_map(|f| match f.partition_values.first() {
                Some(datafusion::common::ScalarValue::Date32(Some(day))) => Some(*day),
                _ => None,
            })
            .collect::<HashSet<i32>>()
            .into_iter()
            .collect();
        let field = self.schema.field_with_name(columns::DATE)?.clone();
        let schema = Arc::new(Schema::new(vec![field]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(Date32Array::from(dates.clone()))],
        )?;
        let df_schema = DFSchema::try_from(schema)?;
        let predicate = state.create_physical_expr(filter, &df_schema)?;
        let verdict = predicate.evaluate(&batch)?.into_array(dates.len())?;
        let verdict = verdict.as_boolean();
        Ok(Some(
            dates
                .iter()
                .enumerate()
                .filter(|(i, _)| verdict.is_valid(*i) && verdict.value(*i))
                .map(|(_, day)| *day)
                .collect(),
        ))
    }
}

#[async_trait]
impl TableProvider for LakeTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    /// A filter on `date` alone is answered exactly from the log's partition values; every
    /// other filter is pushed into the Parquet scan (statistics, page index, row filters) and
    /// checked again above it.
    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(|filter| {
                if expr_applicable_for_cols(&[columns::DATE], filter) {
                    TableProviderFilterPushDown::Exact
                } else {
                    TableProviderFilterPushDown::Inexact
                }
            })
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let snapshot = self.files().await?;
        let (partition_filters, row_filters): (Vec<Expr>, Vec<Expr>) = filters
            .iter()
            .cloned()
            .partition(|f| expr_applicable_for_cols(&[columns::DATE], f));
        let dates = self.accepted_dates(state, &snapshot.files, &partition_filters)?;
        let selected: Vec<PartitionedFile> = snapshot
            .files
            .iter()
            .filter(|file| match (&dates, file.partition_values.first()) {
                (None, _) => true,
                (Some(dates), Some(datafusion::common::ScalarValue::Date32(Some(day)))) => {
                    dates.contains(day)
                }
                (Some(_), _) => false,
            })
            .cloned()
            .collect();
        let mut selected = prune::files_within_bounds(state, &self.schema, selected, &row_filters)?;
        // With no filter left, a LIMIT needs only as many files as hold that many rows.
        if let (Some(limit), true) = (limit, row_filters.is_empty()) {
            truncate_to_rows(&mut selected, limit);
        }
        if selected.is_empty() {
            let projected = match projection {
                Some(p) => Arc::new(self.schema.project(p)?),
                None => self.schema.clone(),
            };
            return Ok(Arc::new(EmptyExec::new(projected)));
        }
        // Declared only when every file is sorted so; DataFusion keeps it per file group only
        // where the group's files do not overlap (by their statistics).
        let output_ordering: Vec<LexOrdering> = match &self.ordering {
            Some(ordering) if selected.iter().all(|f| f.ordering.is_some()) => {
                vec![ordering.clone()]
            }
            _ => Vec::new(),
        };
        let groups = FileGroup::new(selected).split_files(state.config().target_partitions());
        let (groups, statistics) = datafusion_datasource::compute_all_files_statistics(
            groups,
            self.schema.clone(),
            state.config().collect_statistics(),
            false,
        )?;
        let date = Arc::new(self.schema.field_with_name(columns::DATE)?.clone());
        let table_schema = TableSchema::builder(self.file_schema.clone())
            .with_table_partition_cols(vec![date])
            .build();
        let source = self.format.file_source(table_schema);
        let config = FileScanConfigBuilder::new(ObjectStoreUrl::parse(LAKE_URL)?, source)
            .with_file_groups(groups)
            .with_statistics(statistics)
            .with_projection_indices(projection.cloned())?
            .with_limit(limit)
            .with_output_ordering(output_ordering)
            .build();
        self.format.create_physical_plan(state, config).await
    }
}

/// Keeps the first files of `files` whose row counts (from the log) add up to `limit`; keeps
/// them all when a count is unknown.
fn truncate_to_rows(files: &mut Vec<PartitionedFile>, limit: usize) {
    let mut rows = 0usize;
    for (i, file) in files.iter().enumerate() {
        if rows >= limit {
            files.truncate(i);
            return;
        }
        match file.statistics.as_ref().map(|s| s.num_rows) {
            Some(datafusion::common::stats::Precision::Exact(n)) => rows += n,
            _ => return,
        }
    }
}
