//! The engine's limits on a statement's size and shape, checked from its tokens before anything
//! builds a tree.
//!
//! Why from the tokens: DataFusion's planner and optimizer grow their stack on demand
//! (`recursive_protection`), but the derived `Clone`, `PartialEq`, `Hash` and `Drop` of its
//! expression trees, the evaluation of physical expressions and the parser's own syntax tree all
//! recurse on the thread's stack. A flat chain `a OR b OR ...` of 20,000 terms parses without
//! recursion into a tree 20,000 levels deep, and the first walk of it that is not protected
//! overflowed the stack and aborted the whole process. So the shape is bounded here, in one
//! linear pass with no recursion, and only statements whose trees every walk handles on the
//! query threads' stacks (see `runtime::QUERY_THREAD_STACK`) reach the parser. Deep nesting of
//! parentheses, functions, `CASE` and subqueries is also bounded by the parser's recursion limit
//! (DataFusion's `sql_parser.recursion_limit`, 50); flat chains and lists are what it misses.
//!
//! The depth computed here is an upper bound of the expression tree's depth: within one list
//! item (between commas and clause keywords) every operator token may be a level of the tree,
//! plus the deepest parenthesised group inside that item. It never underestimates, so a
//! statement that passes cannot build a deeper tree; it may overestimate a statement full of
//! keywords, which only matters near the limit.

use std::fmt;

use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};

use crate::QueryError;

/// How large and how deep a statement may be. Every front-end goes through
/// [`crate::Engine`], so they all share these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryLimits {
    /// The SQL text's size in bytes.
    pub max_sql_bytes: usize,
    /// The expression tree's depth: operators chained in one expression (`a OR b OR c` is
    /// three levels) plus the nesting of parentheses, function calls and `CASE`.
    pub max_expr_depth: usize,
    /// Items in one list: an `IN (...)` list, a function's arguments, a `VALUES` list, a select
    /// list, a `CASE`'s `WHEN` branches.
    pub max_expr_width: usize,
    /// `UNION`, `INTERSECT` and `EXCEPT` operators in one statement.
    pub max_set_operations: usize,
    /// Tables, views and subqueries joined (`JOIN` or commas in `FROM`) plus the `WITH`
    /// list's common table expressions: each one is a level of the plan.
    pub max_relations: usize,
}

impl QueryLimits {
    /// Each default is far above any statement a person or a dashboard writes, and far below
    /// what the query threads' stacks hold: at four times each default a statement still plans
    /// and runs there (a test of the service), and a chain 10x the default depth did too, as
    /// did 4,000 UNIONs (10,000 did not). DataFusion's planning time grows faster than linearly
    /// in chain length and branch count (measured: 500 UNIONs 0.5 s, 2,000 UNIONs 10 s, a
    /// 250-way join 1 s, a 1,000-way join 45 s), so the
    /// defaults also keep a statement's planning, which the query timeout cannot interrupt,
    /// near 0.2 s.
    pub const DEFAULT: QueryLimits = QueryLimits {
        max_sql_bytes: 1 << 20,
        max_expr_depth: 1_000,
        max_expr_width: 100_000,
        max_set_operations: 250,
        max_relations: 100,
    };
}

impl Default for QueryLimits {
    fn default() -> Self {
        QueryLimits::DEFAULT
    }
}

/// Which limit a statement went past, for the error's `limit` field and the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    SqlBytes,
    ExprDepth,
    ExprWidth,
    SetOperations,
    Relations,
}

impl Limit {
    /// The limit's name: the `QueryLimits` field, and (with dashes) the flag that sets it.
    pub fn name(self) -> &'static str {
        match self {
            Limit::SqlBytes => "max_sql_bytes",
            Limit::ExprDepth => "max_expr_depth",
            Limit::ExprWidth => "max_expr_width",
            Limit::SetOperations => "max_set_operations",
            Limit::Relations => "max_relations",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Limit::SqlBytes => "the SQL text is {found} bytes long",
            Limit::ExprDepth => "an expression nests {found} levels deep",
            Limit::ExprWidth => "a list has {found} items",
            Limit::SetOperations => "the statement has {found} UNION/INTERSECT/EXCEPT operators",
            Limit::Relations => "the statement joins {found} tables, subqueries or CTEs",
        }
    }

    fn hint(self) -> &'static str {
        match self {
            Limit::ExprDepth => {
                "; write a long chain of `x = a OR x = b ...` as `x IN (a, b, ...)`"
            }
            Limit::SetOperations => "; a VALUES list or an IN list often replaces many UNIONs",
            _ => "",
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What the token pass measured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Shape {
    pub(crate) depth: usize,
    pub(crate) width: usize,
    pub(crate) set_operations: usize,
    pub(crate) relations: usize,
}

impl QueryLimits {
    /// Refuses `sql` if it is past any limit; a statement that does not tokenize is left to the
    /// parser, whose error names the bad token.
    pub(crate) fn check(&self, sql: &str) -> Result<(), QueryError> {
        exceeds(Limit::SqlBytes, sql.len(), self.max_sql_bytes)?;
        let Some(shape) = Shape::of(sql) else {
            return Ok(());
        };
        exceeds(Limit::ExprDepth, shape.depth, self.max_expr_depth)?;
        exceeds(Limit::ExprWidth, shape.width, self.max_expr_width)?;
        exceeds(
            Limit::SetOperations,
            shape.set_operations,
            self.max_set_operations,
        )?;
        exceeds(Limit::Relations, shape.relations, self.max_relations)
    }
}

fn exceeds(limit: Limit, found: usize, max: usize) -> Result<(), QueryError> {
    if found <= max {
        return Ok(());
    }
    let what = limit.what().replace("{found}", &found.to_string());
    let flag = limit.name().replace('_', "-");
    let env = format!("DSS_LAKE_{}", limit.name().to_ascii_uppercase());
    Err(QueryError::LimitExceeded {
        limit,
        message: format!(
            "{what}; the limit is {max} ({} --{flag}, {env}){}",
            limit.name(),
            limit.hint()
        ),
    })
}

/// One open group of the token pass: a parenthesis, a bracket or a `CASE ... END`.
#[derive(Debug, Clone, Copy)]
struct Group {
    closer: Closer,
    /// Operators in the current list item, and the deepest group inside it.
    item_operators: usize,
    item_deepest_child: usize,
    /// The deepest item of this group so far.
    deepest: usize,
    items: usize,
    /// The clause the current item belongs to, for counting relations.
    clause: Clause,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Closer {
    Statement,
    Paren,
    Bracket,
    End,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Clause {
    Other,
    From,
    With,
}

impl Group {
    fn new(closer: Closer) -> Group {
        Group {
            closer,
            item_operators: 0,
            item_deepest_child: 0,
            deepest: 0,
            items: 1,
            clause: Clause::Other,
        }
    }

    /// Ends the current list item (at a comma or a clause keyword).
    fn end_item(&mut self) {
        let depth = self.item_operators + self.item_deepest_child;
        self.deepest = self.deepest.max(depth);
        self.item_operators = 0;
        self.item_deepest_child = 0;
    }

    /// The group's depth as a child of the item it sits in: its deepest item, plus itself.
    fn close(mut self) -> usize {
        self.end_item();
        self.deepest + 1
    }
}

impl Shape {
    /// Measures `sql` in one pass over its tokens with an explicit stack of open groups;
    /// `None` when it does not tokenize.
    pub(crate) fn of(sql: &str) -> Option<Shape> {
        let tokens = Tokenizer::new(&GenericDialect {}, sql).tokenize().ok()?;
        let mut shape = Shape::default();
        let mut open = vec![Group::new(Closer::Statement)];
        for token in &tokens {
            let top = open
                .last_mut()
                .expect("the statement group is never closed");
            match token {
                Token::LParen => open.push(Group::new(Closer::Paren)),
                Token::LBracket => {
                    // `a[1][2]...` chains subscripts, each a level around the one before.
                    top.item_operators += 1;
                    open.push(Group::new(Closer::Bracket));
                }
                Token::RParen => close(&mut open, Closer::Paren, &mut shape),
                Token::RBracket => close(&mut open, Closer::Bracket, &mut shape),
                Token::Comma => {
                    top.items += 1;
                    top.end_item();
                    if top.clause != Clause::Other {
                        shape.relations += 1;
                    }
                }
                Token::SemiColon => top.end_item(),
                Token::Word(word) if word.quote_style.is_none() => {
                    keyword(word.keyword, &mut open, &mut shape)
                }
                token if is_operand(token) => {}
                _ => top.item_operators += 1,
            }
        }
        while open.len() > 1 {
            // Unbalanced: the parser will refuse it, but measure what is there.
            let closer = open.last().map_or(Closer::Paren, |g| g.closer);
            close(&mut open, closer, &mut shape);
        }
        let statement = open.pop().expect("the statement group is never closed");
        shape.width = shape.width.max(statement.items);
        shape.depth = shape.depth.max(statement.close());
        Some(shape)
    }
}

/// Closes the innermost group if `closer` ends it; a stray closer is left to the parser.
fn close(open: &mut Vec<Group>, closer: Closer, shape: &mut Shape) {
    if open.len() < 2 || open.last().map(|g| g.closer) != Some(closer) {
        return;
    }
    let group = open.pop().expect("checked above");
    shape.width = shape.width.max(group.items);
    let depth = group.close();
    let parent = open
        .last_mut()
        .expect("the statement group is never closed");
    parent.item_deepest_child = parent.item_deepest_child.max(depth);
}

fn keyword(keyword: Keyword, open: &mut Vec<Group>, shape: &mut Shape) {
    let top = open
        .last_mut()
        .expect("the statement group is never closed");
    match keyword {
        Keyword::NoKeyword => {}
        Keyword::CASE => {
            top.item_operators += 1;
            open.push(Group::new(Closer::End));
        }
        Keyword::END => close(open, Closer::End, shape),
        Keyword::WHEN => {
            top.items += 1;
            top.end_item();
        }
        Keyword::UNION | Keyword::INTERSECT | Keyword::EXCEPT => {
            shape.set_operations += 1;
            top.end_item();
        }
        Keyword::FROM | Keyword::WITH => {
            top.end_item();
            top.clause = if keyword == Keyword::FROM {
                Clause::From
            } else {
                Clause::With
            };
            shape.relations += 1;
        }
        Keyword::JOIN => {
            top.end_item();
            shape.relations += 1;
        }
        Keyword::SELECT
        | Keyword::WHERE
        | Keyword::GROUP
        | Keyword::HAVING
        | Keyword::ORDER
        | Keyword::LIMIT
        | Keyword::OFFSET
        | Keyword::WINDOW
        | Keyword::QUALIFY
        | Keyword::VALUES => {
            top.end_item();
            top.clause = Clause::Other;
        }
        Keyword::ON | Keyword::USING | Keyword::THEN | Keyword::ELSE | Keyword::AS => {
            top.end_item()
        }
        // Every other keyword (AND, OR, NOT, IS, IN, LIKE, BETWEEN, INTERVAL, and the column
        // names that happen to be keywords) may be a level of the tree.
        _ => top.item_operators += 1,
    }
}

/// Tokens that are leaves of the tree: literals, identifiers, whitespace and comments.
fn is_operand(token: &Token) -> bool {
    matches!(
        token,
        Token::EOF
            | Token::Whitespace(_)
            | Token::Word(_)
            | Token::Number(..)
            | Token::Char(_)
            | Token::SingleQuotedString(_)
            | Token::DoubleQuotedString(_)
            | Token::TripleSingleQuotedString(_)
            | Token::TripleDoubleQuotedString(_)
            | Token::DollarQuotedString(_)
            | Token::SingleQuotedByteStringLiteral(_)
            | Token::DoubleQuotedByteStringLiteral(_)
            | Token::TripleSingleQuotedByteStringLiteral(_)
            | Token::TripleDoubleQuotedByteStringLiteral(_)
            | Token::SingleQuotedRawStringLiteral(_)
            | Token::DoubleQuotedRawStringLiteral(_)
            | Token::TripleSingleQuotedRawStringLiteral(_)
            | Token::TripleDoubleQuotedRawStringLiteral(_)
            | Token::NationalStringLiteral(_)
            | Token::QuoteDelimitedStringLiteral(_)
            | Token::NationalQuoteDelimitedStringLiteral(_)
            | Token::EscapedStringLiteral(_)
            | Token::UnicodeStringLiteral(_)
            | Token::HexStringLiteral(_)
            | Token::Placeholder(_)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(sql: &str) -> Shape {
        Shape::of(sql).unwrap()
    }

    fn chain(terms: usize, op: &str) -> String {
        (0..terms)
            .map(|i| format!("seq = {i}"))
            .collect::<Vec<_>>()
            .join(&format!(" {op} "))
    }

    #[test]
    fn a_flat_chain_is_as_deep_as_its_operators() {
        let sql = format!("SELECT count(*) FROM datapoint WHERE {}", chain(100, "OR"));
        // 100 `=` and 99 `OR`, each a possible level, plus the statement itself.
        assert_eq!(shape(&sql).depth, 200);
        let and = format!("SELECT 1 WHERE {}", chain(100, "AND"));
        assert_eq!(shape(&and).depth, 200);
    }

    #[test]
    fn nesting_adds_the_inner_groups_depth_to_the_item_it_sits_in() {
        assert_eq!(shape("SELECT 1").depth, 1);
        assert_eq!(shape("SELECT ((((1))))").depth, 5);
        // sqlparser keeps each parenthesis as a `Nested` node, so it is a level too.
        assert_eq!(shape("SELECT a + (b + (c + d))").depth, 6);
        assert_eq!(shape("SELECT f(g(h(x)))").depth, 4);
        let cases = "SELECT CASE WHEN a THEN CASE WHEN b THEN 1 END END";
        // Three levels in the tree; the bound counts each CASE once as an operator and once
        // as the group it opens.
        assert_eq!(shape(cases).depth, 5);
        // A comma ends an item: ten short items are not one long chain.
        assert_eq!(shape("SELECT a+1, b+1, c+1, d+1, e+1, f+1").depth, 2);
    }

    #[test]
    fn lists_set_operations_and_relations_are_counted() {
        let list = (0..500).map(|i| i.to_string()).collect::<Vec<_>>();
        let sql = format!("SELECT 1 WHERE seq IN ({})", list.join(", "));
        assert_eq!(shape(&sql).width, 500);
        let unions = vec!["SELECT 1"; 40].join(" UNION ALL ");
        assert_eq!(shape(&unions).set_operations, 39);
        let joins = "WITH a AS (SELECT 1), b AS (SELECT 2) \
                     SELECT * FROM a, b JOIN datapoint d ON true LEFT JOIN gaps g ON true";
        // FROM, its comma, two JOINs, WITH and its comma.
        assert_eq!(shape(joins).relations, 6);
    }

    #[test]
    fn the_queries_folder_is_far_below_every_default() {
        let limits = QueryLimits::default();
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../queries");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "sql") {
                let sql = std::fs::read_to_string(&path).unwrap();
                let s = shape(&sql);
                assert!(s.depth * 10 < limits.max_expr_depth, "{path:?}: {s:?}");
                assert!(s.relations * 10 < limits.max_relations, "{path:?}: {s:?}");
                limits.check(&sql).unwrap();
                seen += 1;
            }
        }
        assert!(seen >= 9, "expected the queries/ examples, found {seen}");
    }

    #[test]
    fn a_refusal_names_the_limit_its_flag_and_its_variable() {
        let limits = QueryLimits {
            max_expr_depth: 50,
            ..QueryLimits::default()
        };
        let sql = format!("SELECT 1 WHERE {}", chain(100, "OR"));
        let err = limits.check(&sql).unwrap_err();
        let QueryError::LimitExceeded { limit, message } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(*limit, Limit::ExprDepth);
        assert!(message.contains("max_expr_depth"), "{message}");
        assert!(message.contains("--max-expr-depth"), "{message}");
        assert!(message.contains("DSS_LAKE_MAX_EXPR_DEPTH"), "{message}");
        assert!(message.contains("the limit is 50"), "{message}");
        let small = QueryLimits {
            max_sql_bytes: 10,
            ..QueryLimits::default()
        };
        let err = small.check("SELECT 12345678").unwrap_err();
        assert!(matches!(
            err,
            QueryError::LimitExceeded {
                limit: Limit::SqlBytes,
                ..
            }
        ));
    }

    #[test]
    fn untokenizable_text_is_left_to_the_parser() {
        assert_eq!(Shape::of("SELECT 'unterminated"), None);
        QueryLimits::default()
            .check("SELECT 'unterminated")
            .unwrap();
    }
}
