//! Shared by the integration tests: a fixture record with its three hashes
//! set from what it holds, so that the store's check accepts it.

use initlab_train::RunRecord;

/// `record` with its config, init and output hashes computed.
pub fn with_hashes(mut record: RunRecord) -> RunRecord {
    [
        record.config_sha256,
        record.init_sha256,
        record.outputs_sha256,
    ] = initlab_analysis::record_hashes(&record);
    record
}
