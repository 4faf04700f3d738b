//! One module per subcommand.

pub(crate) mod corpus;
pub(crate) mod demo;
pub(crate) mod import;
pub(crate) mod ingest;
pub(crate) mod lake;
pub(crate) mod process;
pub(crate) mod query;
pub(crate) mod serve;
pub(crate) mod sim;
