//! Parameters sampled on the host, by named group, before any backend sees them.
//!
//! Sampling on the host from a seeded portable RNG is what makes the initial
//! weights identical on every backend: the backend only receives the numbers.

use std::collections::BTreeMap;

use initlab_init::{Fans, InitRng, Scheme};
use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// One parameter tensor of a model, as an initializer sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamSpec {
    /// Unique name within the model (`layers.0.weight`).
    pub name: String,
    /// The group an experiment assigns an initializer to (`weight`, `bias`, ...).
    pub group: &'static str,
    /// Shape in PyTorch layout, `(out, in, *receptive)` for weights.
    pub shape: Vec<usize>,
    /// Fans for a parameter whose shape does not carry them: a bias takes its
    /// layer's, so fan-based framework defaults (PyTorch's U(±1/√fan_in)) apply
    /// to it. `None`: the fans follow from the shape.
    pub fans: Option<Fans>,
}

impl ParamSpec {
    /// A parameter whose fans follow from its shape.
    pub fn new(name: impl Into<String>, group: &'static str, shape: Vec<usize>) -> Self {
        ParamSpec {
            name: name.into(),
            group,
            shape,
            fans: None,
        }
    }

    /// The same parameter, initialized as if its fans were `fans`.
    pub fn with_fans(mut self, fans: Fans) -> Self {
        self.fans = Some(fans);
        self
    }
}

/// Which scheme initializes each parameter group; groups not named keep `default`.
#[derive(Clone, Debug, PartialEq)]
pub struct InitPlan {
    /// Scheme per group.
    pub groups: BTreeMap<String, Scheme>,
    /// The framework default for groups the plan does not name.
    pub default: Scheme,
}

impl InitPlan {
    /// A plan with one scheme per named group and `default` for the rest.
    pub fn new(default: Scheme) -> Self {
        InitPlan {
            groups: BTreeMap::new(),
            default,
        }
    }

    /// Assigns `scheme` to `group`.
    pub fn with(mut self, group: &str, scheme: Scheme) -> Self {
        self.groups.insert(group.to_string(), scheme);
        self
    }

    /// The scheme for `group`.
    pub fn scheme_for(&self, group: &str) -> &Scheme {
        self.groups.get(group).unwrap_or(&self.default)
    }

    /// Checks that every named group exists and every scheme fits every parameter's
    /// shape, so a bad experiment fails when it is loaded rather than mid-grid.
    pub fn validate(&self, specs: &[ParamSpec]) -> Result<()> {
        let mut allowed: Vec<String> = specs.iter().map(|s| s.group.to_string()).collect();
        allowed.dedup();
        for group in self.groups.keys() {
            if !specs.iter().any(|s| s.group == group) {
                return Err(Error::UnknownGroup {
                    group: group.clone(),
                    allowed,
                });
            }
        }
        for spec in specs {
            let scheme = self.scheme_for(spec.group);
            match spec.fans {
                Some(fans) => scheme.check_shape_with_fans(&spec.shape, fans),
                None => scheme.check_shape(&spec.shape),
            }
            .map_err(|error| Error::Init {
                param: spec.name.clone(),
                shape: spec.shape.clone(),
                error: Box::new(error),
            })?;
        }
        Ok(())
    }
}

/// A model's initial parameters on the host, in the model's parameter order.
#[derive(Clone, Debug, PartialEq)]
pub struct HostParams {
    /// Each parameter and its values, row-major in PyTorch layout.
    pub tensors: Vec<(ParamSpec, Vec<f32>)>,
}

impl HostParams {
    /// Samples every parameter. Each parameter draws from its own stream, seeded by
    /// `seed` and its name, so changing one group's scheme never moves another's numbers.
    pub fn sample(specs: &[ParamSpec], plan: &InitPlan, seed: u64) -> Result<Self> {
        plan.validate(specs)?;
        let tensors = specs
            .iter()
            .map(|spec| {
                let mut rng = initlab_init::init_rng(param_seed(seed, &spec.name));
                let values =
                    sample(plan.scheme_for(spec.group), spec, &mut rng).map_err(|error| {
                        Error::Init {
                            param: spec.name.clone(),
                            shape: spec.shape.clone(),
                            error: Box::new(error),
                        }
                    })?;
                Ok((spec.clone(), values))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(HostParams { tensors })
    }

    /// The values of the parameter called `name`.
    pub fn get(&self, name: &str) -> Option<&[f32]> {
        self.tensors
            .iter()
            .find(|(s, _)| s.name == name)
            .map(|(_, v)| v.as_slice())
    }

    /// sha256 over every parameter's name, shape and little-endian f32 bytes, in order.
    pub fn sha256(&self) -> String {
        params_sha256(
            self.tensors
                .iter()
                .map(|(s, v)| (s.name.as_str(), s.shape.as_slice(), v.as_slice())),
        )
    }
}

fn sample(
    scheme: &Scheme,
    spec: &ParamSpec,
    rng: &mut InitRng,
) -> std::result::Result<Vec<f32>, initlab_init::Error> {
    match spec.fans {
        Some(fans) => scheme.sample_with_fans(&spec.shape, fans, rng),
        None => scheme.sample(&spec.shape, rng),
    }
}

/// sha256 over named tensors: name, shape (u64 LE each) and f32 LE bytes, in order.
pub fn params_sha256<'a>(
    tensors: impl IntoIterator<Item = (&'a str, &'a [usize], &'a [f32])>,
) -> String {
    let mut h = Sha256::new();
    for (name, shape, values) in tensors {
        h.update((name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
        h.update((shape.len() as u64).to_le_bytes());
        for d in shape {
            h.update((*d as u64).to_le_bytes());
        }
        for v in values {
            h.update(v.to_le_bytes());
        }
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn param_seed(seed: u64, name: &str) -> u64 {
    let digest = Sha256::new()
        .chain_update(seed.to_le_bytes())
        .chain_update(name.as_bytes())
        .finalize();
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs() -> Vec<ParamSpec> {
        let fans = Fans {
            fan_in: 100,
            fan_out: 10,
        };
        vec![
            ParamSpec::new("l.weight", "weight", vec![10, 100]),
            ParamSpec::new("l.bias", "bias", vec![10]).with_fans(fans),
        ]
    }

    #[test]
    fn a_bias_takes_its_layers_fans() {
        let default: Scheme = "pytorch-linear-default".parse().expect("spec");
        let host = HostParams::sample(&specs(), &InitPlan::new(default), 3).expect("sample");
        let bound = 1.0 / 100f32.sqrt();
        let bias = host.get("l.bias").expect("bias");
        assert!(bias.iter().all(|b| b.abs() <= bound) && bias.iter().any(|b| *b != 0.0));
    }

    #[test]
    fn unknown_group_and_nonsense_scheme_are_errors() {
        let zeros: Scheme = "zeros".parse().expect("spec");
        let plan = InitPlan::new(zeros.clone()).with("recurrent", zeros.clone());
        let err = plan
            .validate(&specs())
            .expect_err("unknown group")
            .to_string();
        assert!(
            err.contains("recurrent") && err.contains("weight, bias"),
            "{err}"
        );
        let plan = InitPlan::new(zeros).with("bias", "orthogonal".parse().expect("spec"));
        let err = plan
            .validate(&specs())
            .expect_err("orthogonal bias")
            .to_string();
        assert!(err.contains("l.bias"), "{err}");
    }

    #[test]
    fn each_parameter_has_its_own_stream() {
        let normal: Scheme = "normal".parse().expect("spec");
        let a = HostParams::sample(&specs(), &InitPlan::new(normal.clone()), 1).expect("sample");
        let b = HostParams::sample(
            &specs(),
            &InitPlan::new(normal).with("bias", "zeros".parse().expect("spec")),
            1,
        )
        .expect("sample");
        assert_eq!(
            a.get("l.weight"),
            b.get("l.weight"),
            "changing the bias left the weight alone"
        );
        assert_ne!(a.sha256(), b.sha256());
    }
}
