//! The ingest engine's integration tests, one binary (each test binary is one more link on CI):
//! against the DSS emulator over real loopback sockets, and against a TLS server no web root
//! vouches for.

mod streams;
mod tls;
