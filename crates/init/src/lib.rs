//! Weight initializers for initlab, sampled on the host from a seeded,
//! portable RNG.
//!
//! A [`Scheme`] is parsed from a spec (`name` or `name(key=value,...)`), prints
//! back canonically (every key, sorted: the string run configs hash), checks
//! whether it fits a shape ([`Scheme::check_shape`]) and draws a row-major
//! `Vec<f32>` for a shape in PyTorch layout `(out, in, *receptive)`
//! ([`Scheme::sample`]). Draws come from [`InitRng`] (ChaCha8), so the same
//! scheme, shape and seed give the same numbers on every machine and every
//! backend. The crate knows nothing of models, backends or training: a model
//! turns the vector into a tensor, and data-dependent schemes (LSUV) run
//! through the [`LsuvModel`] trait.
//!
//! # Catalogue
//! Fans are those of [`fans()`]: `fan_in = in·r`, `fan_out = out·r`, `r` the
//! receptive-field size. `σ` is the standard deviation of the draw; `TN(σ)`
//! means `N(0, (σ/0.8796…)²)` redrawn outside ±2 of its own std, which has
//! standard deviation exactly `σ` (Keras's convention). Defaults are written
//! in the spec column; `…` marks a required key.
//!
//! | spec (canonical, defaults) | formula | reference | PyTorch | Keras |
//! |---|---|---|---|---|
//! | `zeros` | 0 | – | `zeros_` | `Zeros` |
//! | `ones` | 1 | – | `ones_` | `Ones` |
//! | `constant(value=…)` | `value`; 1 for a forget-gate bias | Jozefowicz et al. 2015 | `constant_` | `Constant` |
//! | `uniform(high=1,low=0)` | `U(low, high)` | – | `uniform_` | `RandomUniform` |
//! | `normal(mean=0,std=1)` | `N(mean, std²)` | – | `normal_` | `RandomNormal` |
//! | `truncated-normal(high=2,low=-2,mean=0,std=1)` | `N(mean, std²)` redrawn outside `[low, high]` | Robert 1995 (sampler) | `trunc_normal_` | `TruncatedNormal` (`low, high = mean ∓ 2std`) |
//! | `clipped-normal(high=2,low=-2,mean=0,std=1)` | `clamp(N(mean, std²), low, high)` | RNN/LSTM study's "truncated" | `normal_` + `clamp_` | – |
//! | `xavier-uniform(gain=1)` (alias `xavier-normalized`) | `U(±a)`, `a = gain·√(6/(fan_in+fan_out))` | Glorot & Bengio 2010, eq. 16 | `xavier_uniform_` | `GlorotUniform` |
//! | `xavier-normal(distribution=normal,gain=1)` | `σ = gain·√(2/(fan_in+fan_out))`, `N` or `TN` | Glorot & Bengio 2010 | `xavier_normal_` | `GlorotNormal` = `distribution=truncated-normal` |
//! | `xavier-standard(mode=fan-in)` | `U(±1/√fan)`, fan-in or fan-out | Glorot & Bengio 2010, eq. 1 | – | – |
//! | `kaiming-uniform(a=0,mode=fan-in,nonlinearity=leaky-relu)` | `U(±gain·√(3/fan))` | He et al. 2015 | `kaiming_uniform_` | `HeUniform` = `nonlinearity=relu` |
//! | `kaiming-normal(a=0,distribution=normal,mode=fan-in,nonlinearity=leaky-relu)` | `σ = gain/√fan`, `N` or `TN` | He et al. 2015 | `kaiming_normal_` | `HeNormal` = `distribution=truncated-normal` |
//! | `lecun-uniform` | `U(±√(3/fan_in))` | LeCun et al. 1998 | – | `LecunUniform` |
//! | `lecun-normal(distribution=normal)` | `σ = 1/√fan_in`, `N` or `TN` | LeCun et al. 1998 | – | `LecunNormal` = `distribution=truncated-normal` |
//! | `variance-scaling(distribution=truncated-normal,mode=fan-in,scale=1)` | `σ = √(scale/max(1, fan))`, `N`, `TN` or `U(±√3σ)`; fan-in, fan-out or fan-avg | Keras, Flax | – | `VarianceScaling` |
//! | `orthogonal(gain=1)` | `gain·Q`, `A = QR` Gaussian, `diag R > 0` | Saxe et al. 2014 | `orthogonal_` | `Orthogonal` |
//! | `identity(scale=1)` | `scale·I` on the leading diagonal, 2-D | Le et al. 2015 (IRNN) | `eye_` | `Identity` |
//! | `sparse(sparsity=…,std=0.01)` | `N(0, std²)`, `⌈sparsity·out⌉` zeros per column, 2-D | Martens 2010 | `sparse_` | – |
//! | `pytorch-linear-default` | `U(±1/√fan_in)` for weight and bias (the weight's fan-in) | – | `nn.Linear`, `nn.Conv*` | – |
//! | `pytorch-rnn-default` | `U(±1/√hidden)`, hidden given as `fan_in` | – | `nn.RNN`, `nn.LSTM`, `nn.GRU` | – |
//! | `keras-dense-default` | Glorot uniform weight, zero bias | – | – | `Dense` |
//! | `chrono(t_max=…)` | `log(U(1, t_max − 1))`, input gate `−b_f` | Tallec & Ollivier 2018 | – | – |
//! | `lsuv(batch=train,max_iter=10,pre=orthogonal,tolerance=0.1)` | `pre` (a scheme name, its defaults), then each layer divided by the std of its pre-activation on a batch of `batch` training examples until `abs(Var−1) < tolerance` | Mishkin & Matas 2015, Alg. 1 | – | – |
//!
//! `gain` in `kaiming-*` comes from `nonlinearity` ([`Nonlinearity`]: linear 1,
//! sigmoid 1, tanh 5/3, relu √2, leaky-relu √(2/(1+a²)), selu 3/4); the key `a`
//! exists only with `leaky-relu`. Every `*-normal` name defaults to an
//! untruncated normal (PyTorch's convention); Keras's namesakes are
//! `distribution=truncated-normal`.
//!
//! # Example
//! ```
//! use initlab_init::{init_rng, Scheme};
//!
//! // Keras's `he_normal`.
//! let scheme: Scheme = "kaiming-normal(distribution=truncated-normal)".parse()?;
//! assert_eq!(
//!     scheme.to_string(),
//!     "kaiming-normal(a=0,distribution=truncated-normal,mode=fan-in,nonlinearity=leaky-relu)"
//! );
//! let w = scheme.sample(&[256, 784], &mut init_rng(7))?;
//! assert_eq!(w.len(), 256 * 784);
//! // A bias has no fans: the scheme says so instead of panicking.
//! assert!(scheme.check_shape(&[256]).is_err());
//! # Ok::<(), initlab_init::Error>(())
//! ```
//!
//! # Value stability
//! A test pins the SHA-256 of one sample per scheme for a fixed seed. The
//! numbers depend on this crate, `rand` 0.8's `Uniform`, `rand_distr` 0.4's
//! ziggurat `StandardNormal` and `rand_chacha`; bumping any of them is a
//! deliberate, visible change.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod elementwise;
mod error;
mod fans;
mod gain;
mod identity;
mod lsuv;
mod moments;
mod npy;
mod number;
mod orthogonal;
mod recurrent;
mod rng;
mod scheme;
mod sparse;
mod spec;
mod summary;
mod truncated;
mod variance_scaling;

pub use crate::{
    error::Error,
    fans::{fans, format_shape, numel, parse_shape, FanMode, Fans},
    gain::{calculate_gain, Nonlinearity},
    lsuv::{lsuv, LsuvLayer, LsuvModel},
    npy::npy_bytes,
    rng::{init_rng, InitRng},
    scheme::{LsuvSettings, Scheme},
    summary::{summary, Orthogonality, Summary},
    variance_scaling::{Distribution, TRUNCATED_NORMAL_STD},
};
