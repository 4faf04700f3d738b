//! `dss-lake corpus`: print generated frames, one per line.

use std::io::Write;

/// Flags of `dss-lake corpus`.
#[derive(Debug, clap::Args)]
pub(crate) struct CorpusArgs {
    /// How many frames to print.
    #[arg(long, env = "DSS_LAKE_CORPUS_COUNT", default_value_t = 10)]
    count: usize,
    /// Seed of the generator; the same seed prints the same frames.
    #[arg(long, env = "DSS_LAKE_SEED", default_value_t = 1)]
    seed: u64,
}

pub(crate) fn run(args: CorpusArgs) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    for frame in dss_lake_fleet::corpus(args.seed, args.count) {
        writeln!(out, "{frame}")?;
    }
    Ok(())
}
