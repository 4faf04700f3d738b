//! The SQL service's integration tests, as one test binary: each binary links all of DataFusion,
//! so one binary instead of five saves CI minutes of linking and gigabytes of disk.

mod common;
mod console;
mod delta;
mod http;
mod lake;
mod pathological;
mod python;
mod queries;
mod safety;
