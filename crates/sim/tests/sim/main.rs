//! The emulator's integration tests, one binary (each test binary is one more link on CI):
//! the REST API without a socket, and the stream endpoint, replay and faults over real loopback
//! sockets with a client written from Ayla's public docs.

mod api;
mod common;
mod faults;
mod replay;
mod stream;
