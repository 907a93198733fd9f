//! Shared by the integration tests: a fixture record with its three hashes
//! set from what it holds, so that the store's check accepts it.

pub use initlab_analysis::fixture::with_hashes;
