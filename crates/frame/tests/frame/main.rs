//! The decoder's integration tests, in one executable (each one more would be one more link on
//! CI's two cores): deterministic cases (`decode`), arbitrary input that must never panic
//! (`no_panic`), and the seeded property tests with their failure file (`roundtrip`).

mod decode;
mod no_panic;
mod roundtrip;
mod support;
