//! What a client's SQL may do: read the lake, nothing else.
//!
//! Three fences, each enough on its own for the cases it covers:
//! 1. [`check_statement`] on the parsed AST: only queries, `EXPLAIN` of a query, and `SHOW`
//!    of tables or columns. DDL, DML, `COPY`, `CREATE EXTERNAL TABLE`, `SET`/`RESET`,
//!    transactions and the rest never reach the planner.
//! 2. DataFusion's own [`SQLOptions`] with DDL, DML and statements all disallowed, on the plan.
//! 3. [`check_plan`] walks the plan, subqueries and views included: every table scan must read a
//!    lake table (one of the engine's own Delta tables, `as_of` included), `information_schema`,
//!    or `generate_series`/`range`, which compute rows without touching storage.
//!
//! How deep these walks go: the statement reached the parser only within the engine's
//! [`crate::QueryLimits`], so its syntax tree and plan are bounded in depth; the plan walk is
//! DataFusion's `TreeNode`, which grows its stack on the heap (`recursive_protection`), and the
//! recursion into views follows our own three views only.
//!
//! URL tables (`SELECT * FROM '/etc/passwd'`) are never enabled, and the only object store the
//! engine knows is the lake's, so even a scan that slipped through could not leave the lake.

use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::datasource::source_as_provider;
use datafusion::execution::context::SQLOptions;
use datafusion::functions_table::generate_series::GenerateSeriesTable;
use datafusion::logical_expr::LogicalPlan;
use datafusion::sql::parser::Statement as DfStatement;
use datafusion::sql::sqlparser::ast::Statement as SqlStatement;

use crate::QueryError;
use crate::delta::LakeTable;

/// Refuses any statement that is not a read.
pub(crate) fn check_statement(statement: &DfStatement) -> Result<(), QueryError> {
    match statement {
        DfStatement::Statement(inner) => match inner.as_ref() {
            SqlStatement::Query(_)
            | SqlStatement::ShowTables { .. }
            | SqlStatement::ShowColumns { .. } => Ok(()),
            other => Err(refused(&statement_kind(other))),
        },
        DfStatement::Explain(explain) => check_statement(&explain.statement),
        DfStatement::CreateExternalTable(_) => Err(refused("CREATE EXTERNAL TABLE")),
        DfStatement::CopyTo(_) => Err(refused("COPY")),
        DfStatement::Reset(_) => Err(refused("RESET")),
    }
}

/// The options every client plan is verified with.
pub(crate) fn sql_options() -> SQLOptions {
    SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false)
}

/// Refuses a plan that writes or defines anything, or scans anything but the lake.
pub(crate) fn check_plan(plan: &LogicalPlan) -> Result<(), QueryError> {
    sql_options()
        .verify_plan(plan)
        .map_err(|e| QueryError::Refused(e.to_string()))?;
    let mut verdict = Ok(());
    plan.apply_with_subqueries(|node| {
        if let LogicalPlan::TableScan(scan) = node {
            // A view is a scan whose source carries the view's own plan: check that too.
            if let Some(view) = scan.source.get_logical_plan() {
                verdict = check_plan(&view);
            } else if !scan_is_allowed(scan) {
                verdict = Err(QueryError::Refused(format!(
                    "only the lake's tables can be read, not {}",
                    scan.table_name
                )));
            }
            if verdict.is_err() {
                return Ok(TreeNodeRecursion::Stop);
            }
        }
        Ok(TreeNodeRecursion::Continue)
    })
    .map_err(QueryError::from)?;
    verdict
}

fn scan_is_allowed(scan: &datafusion::logical_expr::TableScan) -> bool {
    if scan.table_name.schema() == Some("information_schema") {
        return true;
    }
    let Ok(provider) = source_as_provider(&scan.source) else {
        return false;
    };
    provider.is::<LakeTable>() || provider.is::<GenerateSeriesTable>()
}

fn refused(what: &str) -> QueryError {
    QueryError::Refused(format!(
        "{what} is not allowed: this endpoint only runs read queries (SELECT, WITH, EXPLAIN, SHOW)"
    ))
}

/// The leading keywords of a statement, e.g. `INSERT` or `CREATE TABLE`, for error messages.
fn statement_kind(statement: &SqlStatement) -> String {
    let text = statement.to_string();
    let words: Vec<&str> = text.split_whitespace().take(2).collect();
    match words.as_slice() {
        [first, second] if ["CREATE", "DROP", "ALTER"].contains(first) => {
            format!("{first} {second}")
        }
        [first, ..] => (*first).to_owned(),
        [] => "this statement".to_owned(),
    }
}
