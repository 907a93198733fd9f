/*!
Networks whose parameters come in named groups, built from host-sampled values.

A model here is a config struct (the shape of the network) plus a burn module.
The config lists its parameters as [`ParamSpec`]s, each in a named group
(`weight`, `bias`, `recurrent`, ...), some with blocks of rows in groups of
their own ([`ParamPart`]: one LSTM gate's bias, `gate-bias.f`); an experiment's
[`InitPlan`] assigns an initializer to each group; [`HostParams::sample`] draws
the numbers on the host; the config's `init` uploads them. No backend ever
samples a weight, so every backend starts from the same numbers.

This crate knows nothing of optimizers, data or training.
*/
#![deny(missing_docs)]

mod activation;
mod dense;
mod direct_gemm;
mod embedding;
mod error;
mod event_lstm;
mod host_dense;
mod host_embedding;
mod host_node;
mod lsuv;
mod math;
mod mlp;
mod params;
mod recurrent;
mod recurrent_net;
#[cfg(test)]
mod testing;

pub use crate::activation::Activation;
pub use crate::dense::Dense;
pub use crate::embedding::{NoteEmbedding, NoteEmbeddingConfig};
pub use crate::error::{Error, Result};
pub use crate::event_lstm::{EventLstm, EventLstmConfig};
pub use crate::host_embedding::{EmbeddingScratch, HostNoteEmbedding, NoteEmbeddingGrads};
pub use crate::host_node::tensor_to_vec;
pub use crate::lsuv::{LsuvBatch, LsuvRecord};
pub use crate::math::{on_widest_vectors, zip_in_place, VectorLoop};
pub use crate::mlp::{LayerTrace, Mlp, MlpConfig};
pub use crate::params::{derive_seed, params_sha256, HostParams, InitPlan, ParamPart, ParamSpec};
pub use crate::recurrent::{
    BpttProbe, Lstm, LstmConfig, Nonlinearity, RecurrentImpl, Rnn, RnnConfig, RnnLayer, RnnOutput,
    StepNorms,
};
pub use crate::recurrent_net::{Recurrence, RecurrentNet, RecurrentNetConfig};
