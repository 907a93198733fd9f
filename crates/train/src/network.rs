//! The networks a study can train, and what the training loop needs of one.
//!
//! A network is two files: its model in `initlab-models` (the config, its
//! [`ParamSpec`]s and the burn module) and its training side here in
//! `network/<net>.rs`, which implements [`NetworkConfig`] and
//! [`BuildNetwork`] for the config and [`Network`] for the module. The one
//! line naming it in [`networks!`](ModelConfig) below makes it a
//! [`ModelConfig`] variant, the `kind` a study file's `[model]` names. The
//! study, the fit check and the trainer reach every network through these
//! traits, so none of them changes for a new one.

use burn::module::AutodiffModule;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Int, Tensor, TensorData};
use initlab_init::LsuvSettings;
use initlab_models::{
    Activation, BpttProbe, EventLstmConfig, HostParams, InitPlan, LsuvBatch, LsuvRecord, MlpConfig,
    ParamSpec, RecurrentNetConfig,
};
use serde::{Deserialize, Serialize};

use crate::range_check::RangeCheck;
use crate::task::{DataConfig, Input, InputKind, InputShape};
use crate::{Error, Result};

/// Declares every network: its module under `network/`, its [`ModelConfig`]
/// variant (kebab-cased, the study file's `kind`) and the config it holds.
macro_rules! networks {
    ($($(#[$doc:meta])* $module:ident: $variant:ident($config:ty),)*) => {
        $(mod $module;)*

        /// The network a study trains.
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "kind", rename_all = "kebab-case")]
        pub enum ModelConfig {
            $($(#[$doc])* $variant($config),)*
        }

        impl ModelConfig {
            /// The network's config, as the study and the fit check see it.
            pub fn network(&self) -> &dyn NetworkConfig {
                match self {
                    $(ModelConfig::$variant(c) => c,)*
                }
            }

            /// Hands the network's config, with its type, to `visit`.
            pub(crate) fn visit<B: AutodiffBackend, V: VisitNetwork<B>>(&self, visit: V) -> V::Output {
                match self {
                    $(ModelConfig::$variant(c) => visit.visit(c),)*
                }
            }
        }
    };
}

/// The [`Network`] methods, all but `activation`, of a recurrent module of
/// `initlab-models` that reads its input with `DeviceInput::$input`, is
/// traced one row per example and step, and names layer `l`'s states
/// `{prefix}{l}`.
macro_rules! recurrent_network_methods {
    ($module:ident reads $input:ident, states $prefix:literal) => {
        fn is_recurrent(&self) -> bool {
            true
        }

        fn forward(
            &self,
            input: $crate::network::DeviceInput<B>,
            probe: Option<&initlab_models::BpttProbe>,
        ) -> $crate::Result<burn::tensor::Tensor<B, 2>> {
            Ok(self.forward_train(input.$input()?, probe)?)
        }

        fn infer(
            model: &$module<B::InnerBackend>,
            input: $crate::network::DeviceInput<B::InnerBackend>,
        ) -> $crate::Result<burn::tensor::Tensor<B::InnerBackend, 2>> {
            Ok(model.forward(input.$input()?)?)
        }

        fn trace(
            model: &$module<B::InnerBackend>,
            input: $crate::network::DeviceInput<B::InnerBackend>,
        ) -> $crate::Result<Vec<$crate::network::LayerOutputs>> {
            let x = input.$input()?;
            let dims = x.dims();
            let rows = dims[0] * dims[1];
            Ok($crate::network::LayerOutputs::layers(
                model.trace(x)?,
                rows,
                $prefix,
            ))
        }

        fn host_params(model: &$module<B::InnerBackend>) -> Vec<(String, Vec<usize>, Vec<f32>)> {
            model.host_params()
        }
    };
}

/// What a model config of `initlab-models` has as its own: the
/// [`NetworkConfig`] methods for its parameters and LSUV (its `kind` given),
/// and [`BuildNetwork`] through its `init` (`build Module`).
macro_rules! model_config_methods {
    (build $config:ty => $module:ident) => {
        impl<B: burn::tensor::backend::AutodiffBackend> $crate::network::BuildNetwork<B>
            for $config
        {
            type Model = $module<B>;

            fn build(
                &self,
                params: &initlab_models::HostParams,
                device: &B::Device,
            ) -> $crate::Result<$module<B>> {
                Ok(self.init(params, device)?)
            }
        }
    };
    ($kind:literal) => {
        fn kind(&self) -> &'static str {
            $kind
        }

        fn param_specs(&self) -> Vec<initlab_models::ParamSpec> {
            Self::param_specs(self)
        }

        fn lsuv_settings(
            &self,
            plan: &initlab_models::InitPlan,
        ) -> initlab_models::Result<Option<initlab_init::LsuvSettings>> {
            Self::lsuv_settings(self, plan)
        }

        fn calibrate_lsuv(
            &self,
            params: &mut initlab_models::HostParams,
            plan: &initlab_models::InitPlan,
            batch: initlab_models::LsuvBatch<'_>,
        ) -> initlab_models::Result<Vec<initlab_models::LsuvRecord>> {
            Self::calibrate_lsuv(self, params, plan, batch)
        }
    };
}

networks! {
    /// A fully connected network on feature vectors.
    mlp: Mlp(MlpConfig),
    /// An RNN or LSTM on sequences, read out from its last state.
    rnn: Rnn(RecurrentNetConfig),
    /// Token embedding → LSTM → every step's output → next-token logits.
    event_lstm: EventLstm(EventLstmConfig),
}

/// What the study and the trainer need of a network's config.
pub trait NetworkConfig: Sync {
    /// Its `kind` in a study file (`mlp`), for error messages.
    fn kind(&self) -> &'static str;

    /// The input it reads and its size per example or step.
    fn reads(&self) -> InputShape;

    /// Every parameter, as the initializers see it.
    fn param_specs(&self) -> Vec<ParamSpec>;

    /// How many parameters it has, counted without building its specs (a
    /// study asking for 2^32 layers must be refused before anything is
    /// allocated).
    fn parameter_count(&self) -> u128;

    /// Records its values that parse but cannot be trained (`model.hidden`
    /// is 0).
    fn check_ranges(&self, found: &mut RangeCheck);

    /// What is wrong with the config as a whole, once its values are in range.
    fn validate(&self) -> std::result::Result<(), String> {
        Ok(())
    }

    /// Multiply-accumulates of one forward pass per example, `steps` time
    /// steps of input (1 for feature vectors).
    fn forward_macs(&self, steps: usize) -> usize;

    /// The LSUV settings `plan` asks for, `None` where it names no `lsuv`.
    ///
    /// # Errors
    /// `lsuv` on a parameter it cannot rescale, or two different `lsuv` specs.
    fn lsuv_settings(&self, plan: &InitPlan) -> initlab_models::Result<Option<LsuvSettings>>;

    /// LSUV's rescaling of `params` on `batch`, on the host.
    ///
    /// # Errors
    /// As [`lsuv_settings`](Self::lsuv_settings); a batch it cannot read; a
    /// layer whose output variance is 0 or not finite.
    fn calibrate_lsuv(
        &self,
        params: &mut HostParams,
        plan: &InitPlan,
        batch: LsuvBatch<'_>,
    ) -> initlab_models::Result<Vec<LsuvRecord>>;

    /// Metrics of its own a finished run records beside the shared ones.
    fn run_metrics(&self, _plan: &InitPlan, _train_accuracy: &[f32]) -> Vec<(String, f64)> {
        Vec::new()
    }
}

/// Builds the network's burn module on backend `B` from host parameters.
pub trait BuildNetwork<B: AutodiffBackend>: NetworkConfig {
    /// The module the training loop trains.
    type Model: Network<B> + 'static;

    /// Uploads `params` (sampled, pre-trained and calibrated on the host).
    ///
    /// # Errors
    /// Parameters missing or of the wrong size.
    fn build(&self, params: &HostParams, device: &B::Device) -> Result<Self::Model>;
}

/// Something done with a network's config of any type, on backend `B`.
pub(crate) trait VisitNetwork<B: AutodiffBackend> {
    /// What it gives back.
    type Output;
    /// Does it.
    fn visit<N: BuildNetwork<B>>(self, network: &N) -> Self::Output;
}

impl ModelConfig {
    /// Every parameter, as the initializers see it.
    pub fn param_specs(&self) -> Vec<ParamSpec> {
        self.network().param_specs()
    }

    /// The LSUV settings `plan` asks for, `None` where it names no `lsuv`.
    ///
    /// # Errors
    /// `lsuv` on a parameter it cannot rescale, or two different `lsuv` specs.
    pub fn lsuv_settings(&self, plan: &InitPlan) -> initlab_models::Result<Option<LsuvSettings>> {
        self.network().lsuv_settings(plan)
    }

    /// LSUV's rescaling of `params` on `batch`, on the host; nothing where the
    /// plan names no `lsuv`.
    ///
    /// # Errors
    /// As [`lsuv_settings`](Self::lsuv_settings); a batch the network cannot
    /// read; a layer whose output variance is 0 or not finite.
    pub fn calibrate_lsuv(
        &self,
        params: &mut HostParams,
        plan: &InitPlan,
        batch: &Input,
    ) -> initlab_models::Result<Vec<LsuvRecord>> {
        self.network()
            .calibrate_lsuv(params, plan, lsuv_batch(batch))
    }

    /// Multiply-accumulates of one forward pass per example on `data`.
    pub fn forward_macs(&self, data: &DataConfig) -> usize {
        self.network().forward_macs(data.steps().unwrap_or(1))
    }

    /// Whether the network reads the data's examples, or why not.
    pub fn check_fits(&self, data: &DataConfig) -> std::result::Result<(), String> {
        check_fits(self.network(), data)
    }
}

/// Whether `network` reads the examples `data` provides, or why not: the one
/// place a network is matched with a task.
pub fn check_fits(
    network: &dyn NetworkConfig,
    data: &DataConfig,
) -> std::result::Result<(), String> {
    network.validate()?;
    let (want, have) = (network.reads(), data.provides());
    if want.kind != have.kind {
        return Err(format!(
            "a `{}` model cannot read `{}` data{}",
            network.kind(),
            data.dataset(),
            data.task().reading_hint()
        ));
    }
    if want.size != have.size {
        return Err(format!(
            "the model's input size is {}, the data gives {} per example or step",
            want.size, have.size
        ));
    }
    Ok(())
}

/// A host batch as LSUV's host forward pass reads it.
pub(crate) fn lsuv_batch(input: &Input) -> LsuvBatch<'_> {
    match input {
        Input::Features { values, features } => LsuvBatch::Features {
            values,
            features: *features,
        },
        Input::Sequences {
            values,
            steps,
            features,
        } => LsuvBatch::Sequences {
            values,
            steps: *steps,
            features: *features,
        },
        Input::Tokens { ids, steps } => LsuvBatch::Tokens { ids, steps: *steps },
    }
}

/// A batch's inputs on a device.
pub enum DeviceInput<B: Backend> {
    /// `[batch, features]`.
    Features(Tensor<B, 2>),
    /// `[batch, steps, features]`.
    Sequences(Tensor<B, 3>),
    /// `[batch, steps]` token ids.
    Tokens(Tensor<B, 2, Int>),
}

impl<B: Backend> DeviceInput<B> {
    /// Uploads host inputs.
    pub fn upload(input: &Input, device: &B::Device) -> Self {
        let n = input.len();
        match input {
            Input::Features { values, features } => DeviceInput::Features(Tensor::from_data(
                TensorData::new(values.clone(), [n, *features]),
                device,
            )),
            Input::Sequences {
                values,
                steps,
                features,
            } => DeviceInput::Sequences(Tensor::from_data(
                TensorData::new(values.clone(), [n, *steps, *features]),
                device,
            )),
            Input::Tokens { ids, steps } => DeviceInput::Tokens(Tensor::from_data(
                TensorData::new(ids.clone(), [n, *steps]),
                device,
            )),
        }
    }

    /// The feature vectors, `[batch, features]`.
    ///
    /// # Errors
    /// Another kind of input (a network handed data [`check_fits`] refuses).
    pub fn features(self) -> Result<Tensor<B, 2>> {
        match self {
            DeviceInput::Features(x) => Ok(x),
            other => Err(other.wrong(InputKind::Features)),
        }
    }

    /// The sequences, `[batch, steps, features]`.
    ///
    /// # Errors
    /// As [`features`](Self::features).
    pub fn sequences(self) -> Result<Tensor<B, 3>> {
        match self {
            DeviceInput::Sequences(x) => Ok(x),
            other => Err(other.wrong(InputKind::Sequences)),
        }
    }

    /// The token windows, `[batch, steps]`.
    ///
    /// # Errors
    /// As [`features`](Self::features).
    pub fn tokens(self) -> Result<Tensor<B, 2, Int>> {
        match self {
            DeviceInput::Tokens(t) => Ok(t),
            other => Err(other.wrong(InputKind::Tokens)),
        }
    }

    fn wrong(&self, wanted: InputKind) -> Error {
        let have = match self {
            DeviceInput::Features(_) => InputKind::Features,
            DeviceInput::Sequences(_) => InputKind::Sequences,
            DeviceInput::Tokens(_) => InputKind::Tokens,
        };
        Error::Task(format!(
            "a network reading {wanted} cannot read {have}; check the study's [data] against its [model]"
        ))
    }
}

/// One hidden layer's outputs on the probe batch.
pub struct LayerOutputs {
    /// The layer (`layers.0`, `rnn.l1`).
    pub layer: String,
    /// Its values, `[rows × units]`.
    pub values: Vec<f32>,
    /// Rows: examples for an MLP layer, examples × time steps for a recurrent one.
    pub rows: usize,
}

impl LayerOutputs {
    /// `{prefix}.l{i}` for each layer's states, `rows` rows each.
    pub fn layers(states: Vec<Vec<f32>>, rows: usize, prefix: &str) -> Vec<LayerOutputs> {
        states
            .into_iter()
            .enumerate()
            .map(|(l, values)| LayerOutputs {
                layer: format!("{prefix}{l}"),
                values,
                rows,
            })
            .collect()
    }
}

/// A network module the loop can train.
pub trait Network<B: AutodiffBackend>: AutodiffModule<B> {
    /// The nonlinearity whose flat region the activation statistics count.
    fn activation(&self) -> Activation;
    /// Whether a BPTT probe means anything for it.
    fn is_recurrent(&self) -> bool;
    /// The training forward pass: `[batch, outputs]`.
    ///
    /// # Errors
    /// An input it cannot read.
    fn forward(&self, input: DeviceInput<B>, probe: Option<&BpttProbe>) -> Result<Tensor<B, 2>>;
    /// Inference without a graph: `[batch, outputs]`.
    ///
    /// # Errors
    /// As [`forward`](Self::forward).
    fn infer(
        model: &Self::InnerModule,
        input: DeviceInput<B::InnerBackend>,
    ) -> Result<Tensor<B::InnerBackend, 2>>;
    /// Every hidden layer's outputs.
    ///
    /// # Errors
    /// As [`forward`](Self::forward).
    fn trace(
        model: &Self::InnerModule,
        input: DeviceInput<B::InnerBackend>,
    ) -> Result<Vec<LayerOutputs>>;
    /// Every parameter as `(name, shape, values)`, PyTorch layout, in the
    /// order of the config's parameter specs.
    fn host_params(model: &Self::InnerModule) -> Vec<(String, Vec<usize>, Vec<f32>)>;
}
