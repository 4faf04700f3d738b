//! One module per subcommand.

pub(crate) mod corpus;
pub(crate) mod sim;
