//! The `dss-lake` binary as a user runs it, in one test executable (each one more would be one
//! more link on CI's two cores): the README's commands, the compose file, import, ingest
//! against the emulator in another process, and the ingest benchmark (ignored unless asked).

mod common;
mod compose;
mod demo;
mod import;
mod ingest;
mod ingest_bench;
