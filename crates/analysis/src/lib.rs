/*!
Results: the HDF5 store every run is written to, and the tables built from it.

# Overview
- [`ResultsStore`] is the only code that opens `results.h5`. Each finished run
  is its own file, committed by atomic rename; `results.h5` is rebuilt from
  them, atomically too. It implements [`initlab_train::RunSink`], so the grid
  runner saves into it without knowing HDF5.
- [`summarize`] and [`summary_table`] give mean ± std per initializer next to
  the published value; [`snapshot_text`] is the rounded per-run text that the
  insta snapshots in `snapshots/` pin.
- Every read of a run file ([`ResultsStore::load`], and so `records`,
  `rebuild`, [`verify_run_file`]) checks it against its config,
  initial-parameter and output hashes; [`ResultsStore::set_aside_damaged`]
  renames the files that fail to `<id>.h5.damaged`; [`ResultsStore::import`]
  copies a verified file into a store (how shards are merged).

Plots and reports read the store and nothing else.
*/
#![deny(missing_docs)]

mod error;
#[doc(hidden)]
pub mod fixture;
mod plots;
mod report;
mod run_file;
mod store;
mod summary;
mod verify;

pub use crate::error::{Error, Result};
pub use crate::plots::{write_atlas, write_phase_diagram, write_study_plots, PhaseDiagram, Plot};
pub use crate::report::{write_report, KeyResults, Report};
pub use crate::store::{Damaged, ResultsStore};
pub use crate::summary::{
    snapshot_text, summarize, summary_table, Stat, SummaryRow, SNAPSHOT_DECIMALS,
};
pub use crate::verify::{record_hashes, verify_record, verify_run_file, VerifiedRun};
