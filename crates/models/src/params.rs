//! Parameters sampled on the host, by named group, before any backend sees them.
//!
//! Sampling on the host from a seeded portable RNG is what makes the initial
//! weights identical on every backend: the backend only receives the numbers.

use std::collections::BTreeMap;
use std::ops::Range;

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
    /// The hidden size `H` of the recurrent layer (`nn.RNN`, `nn.LSTM`) the
    /// parameter belongs to, or `None` outside one. PyTorch's
    /// `pytorch-rnn-default` draws every parameter of such a layer from
    /// U(±1/√H) whatever its shape, so a scheme that needs fans no shape carries
    /// ([`Scheme::needs_explicit_fans`]) gets fans `(H, H)` when `fans` is
    /// `None`; shape-based schemes (xavier, kaiming, ...) keep the shape's fans.
    pub recurrent_hidden: Option<usize>,
    /// Blocks of rows that a plan may initialize apart from the rest of the
    /// tensor, such as one LSTM gate's bias. Empty for most parameters.
    pub parts: Vec<ParamPart>,
}

/// A block of rows of a parameter with a group of its own. When a plan names
/// the part's group, those rows are redrawn from its scheme; otherwise they
/// keep the values of the parameter's own group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamPart {
    /// The group (`gate-bias.f`, ...).
    pub group: &'static str,
    /// The rows (first dimension) it covers.
    pub rows: Range<usize>,
}

impl ParamPart {
    /// The part's shape: the parameter's with its first dimension cut to `rows`.
    fn shape(&self, spec: &ParamSpec) -> Vec<usize> {
        let mut shape = spec.shape.clone();
        if let Some(first) = shape.first_mut() {
            *first = self.rows.len();
        }
        shape
    }

    /// The part as a parameter of its own, for error messages: `bias_ih_l0[4..8]`.
    fn label(&self, spec: &ParamSpec) -> String {
        format!("{}[{}..{}]", spec.name, self.rows.start, self.rows.end)
    }
}

impl ParamSpec {
    /// A parameter whose fans follow from its shape.
    pub fn new(name: impl Into<String>, group: &'static str, shape: Vec<usize>) -> Self {
        ParamSpec {
            name: name.into(),
            group,
            shape,
            fans: None,
            recurrent_hidden: None,
            parts: Vec::new(),
        }
    }

    /// The same parameter, initialized as if its fans were `fans`.
    pub fn with_fans(mut self, fans: Fans) -> Self {
        self.fans = Some(fans);
        self
    }

    /// The same parameter, in a recurrent layer of hidden size `hidden`: see
    /// [`recurrent_hidden`](Self::recurrent_hidden).
    pub fn in_recurrent_layer(mut self, hidden: usize) -> Self {
        self.recurrent_hidden = Some(hidden);
        self
    }

    /// The fans `scheme` fills this parameter (or one of its parts) with:
    /// its own if it has them; else `(H, H)` for a scheme that needs explicit
    /// fans in a recurrent layer of hidden size `H`; else `None`, the shape's.
    fn fans_for(&self, scheme: &Scheme) -> Option<Fans> {
        self.fans.or_else(|| {
            self.recurrent_hidden
                .filter(|_| scheme.needs_explicit_fans())
                .map(|h| Fans {
                    fan_in: h,
                    fan_out: h,
                })
        })
    }

    /// The same parameter with row blocks that a plan may initialize by group.
    pub fn with_parts(
        mut self,
        parts: impl IntoIterator<Item = (&'static str, Range<usize>)>,
    ) -> Self {
        self.parts = parts
            .into_iter()
            .map(|(group, rows)| ParamPart { group, rows })
            .collect();
        self
    }

    /// Every group a plan may name for this parameter: its own, then its parts'.
    fn groups(&self) -> impl Iterator<Item = &'static str> + '_ {
        std::iter::once(self.group).chain(self.parts.iter().map(|p| p.group))
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

    /// The scheme for `group`: the plan's, or the default for a group it does not name.
    pub fn scheme_for(&self, group: &str) -> &Scheme {
        self.groups.get(group).unwrap_or(&self.default)
    }

    /// The scheme for one parameter: a key naming the parameter itself
    /// (`rnn.bias_hh_l0`) wins over its group's, so a study can set one tensor
    /// apart from the others of its group.
    pub fn scheme_for_param(&self, spec: &ParamSpec) -> &Scheme {
        self.groups
            .get(&spec.name)
            .unwrap_or_else(|| self.scheme_for(spec.group))
    }

    /// Checks that every key names a group (a parameter's group or one of its
    /// parts') or a parameter, and that every scheme fits every parameter's
    /// shape, or the part's for a part whose group is named, so a bad experiment
    /// fails when it is loaded rather than mid-grid.
    pub fn validate(&self, specs: &[ParamSpec]) -> Result<()> {
        let mut allowed: Vec<String> = Vec::new();
        for group in specs.iter().flat_map(ParamSpec::groups) {
            if !allowed.iter().any(|g| g == group) {
                allowed.push(group.to_string());
            }
        }
        for group in self.groups.keys() {
            if !allowed.contains(group) && !specs.iter().any(|s| &s.name == group) {
                return Err(Error::UnknownGroup {
                    group: group.clone(),
                    allowed,
                    params: specs.iter().map(|s| s.name.clone()).collect(),
                });
            }
        }
        for spec in specs {
            check(self.scheme_for_param(spec), spec, &spec.shape, &spec.name)?;
            for part in &spec.parts {
                let (start, end) = (part.rows.start, part.rows.end);
                if !spec
                    .shape
                    .first()
                    .is_some_and(|&n| start <= end && end <= n)
                {
                    return Err(Error::Config(format!(
                        "parameter `{}` {:?} has no rows {:?} for group `{}`",
                        spec.name, spec.shape, part.rows, part.group
                    )));
                }
                if let Some(scheme) = self.groups.get(part.group) {
                    check(scheme, spec, &part.shape(spec), &part.label(spec))?;
                }
            }
        }
        Ok(())
    }
}

/// Whether `scheme` can fill `shape`, a parameter or one of its parts, with the
/// fans [`ParamSpec::fans_for`] gives it.
fn check(scheme: &Scheme, spec: &ParamSpec, shape: &[usize], param: &str) -> Result<()> {
    match spec.fans_for(scheme) {
        Some(fans) => scheme.check_shape_with_fans(shape, fans),
        None => scheme.check_shape(shape),
    }
    .map_err(|error| Error::Init {
        param: param.to_string(),
        shape: shape.to_vec(),
        error: Box::new(error),
    })
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
    ///
    /// A part whose group the plan names is then redrawn from that scheme on a
    /// stream of its own (seeded by `seed` and `name#group`), over the whole
    /// tensor's draw: the rest of the tensor, and every tensor of a plan that
    /// names no part group, stays exactly what it was without parts.
    pub fn sample(specs: &[ParamSpec], plan: &InitPlan, seed: u64) -> Result<Self> {
        plan.validate(specs)?;
        let tensors = specs
            .iter()
            .map(|spec| {
                let mut rng = initlab_init::init_rng(derive_seed(seed, &spec.name));
                let mut values = sample(
                    plan.scheme_for_param(spec),
                    spec,
                    &spec.shape,
                    &spec.name,
                    &mut rng,
                )?;
                // Elements per row; `validate` checked every part lies within the rows.
                let row: usize = spec.shape.iter().skip(1).product();
                for part in &spec.parts {
                    let Some(scheme) = plan.groups.get(part.group) else {
                        continue;
                    };
                    let stream = format!("{}#{}", spec.name, part.group);
                    let mut rng = initlab_init::init_rng(derive_seed(seed, &stream));
                    let rows =
                        sample(scheme, spec, &part.shape(spec), &part.label(spec), &mut rng)?;
                    values[part.rows.start * row..part.rows.end * row].copy_from_slice(&rows);
                }
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

/// Draws `shape`, a parameter or one of its parts, with the fans
/// [`ParamSpec::fans_for`] gives it; errors name `param`.
fn sample(
    scheme: &Scheme,
    spec: &ParamSpec,
    shape: &[usize],
    param: &str,
    rng: &mut InitRng,
) -> Result<Vec<f32>> {
    match spec.fans_for(scheme) {
        Some(fans) => scheme.sample_with_fans(shape, fans, rng),
        None => scheme.sample(shape, rng),
    }
    .map_err(|error| Error::Init {
        param: param.to_string(),
        shape: shape.to_vec(),
        error: Box::new(error),
    })
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

/// The seed of `name` under `seed`: the first 8 bytes (little-endian) of
/// sha256(seed's 8 little-endian bytes ‖ name), so each name gets its own
/// stream and adding a name moves no other.
pub fn derive_seed(seed: u64, name: &str) -> u64 {
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
            err.contains("recurrent") && err.contains("weight, bias") && err.contains("l.bias"),
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
    fn a_parameter_name_wins_over_its_group() {
        let normal: Scheme = "normal".parse().expect("spec");
        let group = InitPlan::new(normal.clone());
        let named = group.clone().with("l.bias", "ones".parse().expect("spec"));
        let (a, b) = (
            HostParams::sample(&specs(), &group, 5).expect("sample"),
            HostParams::sample(&specs(), &named, 5).expect("sample"),
        );
        assert!(b.get("l.bias").expect("bias").iter().all(|&v| v == 1.0));
        assert_eq!(a.get("l.weight"), b.get("l.weight"));
        // Naming the parameter with a scheme that cannot fill it still fails.
        let bad = group.with("l.bias", "orthogonal".parse().expect("spec"));
        assert!(bad.validate(&specs()).is_err());
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

    #[test]
    fn the_rnn_default_takes_the_hidden_size_and_other_schemes_the_shape() {
        // A weight of shape (4H, I) = (64, 3), H = 16: the shape's fans are (3, 64).
        let h = 16;
        let plain = vec![ParamSpec::new("w", "input", vec![4 * h, 3])];
        let layer: Vec<_> = plain
            .iter()
            .map(|s| s.clone().in_recurrent_layer(h))
            .collect();
        let rnn: Scheme = "pytorch-rnn-default".parse().expect("spec");
        assert!(InitPlan::new(rnn.clone()).validate(&plain).is_err());
        let host = HostParams::sample(&layer, &InitPlan::new(rnn.clone()), 2).expect("sample");
        let bound = 1.0 / (h as f32).sqrt();
        let w = host.get("w").expect("w");
        assert!(w.iter().all(|v| v.abs() <= bound));
        assert!(w.iter().any(|v| v.abs() > 0.9 * bound));
        // Fans of its own win over the hidden size.
        let own = vec![layer[0].clone().with_fans(Fans {
            fan_in: 100,
            fan_out: 100,
        })];
        let host = HostParams::sample(&own, &InitPlan::new(rnn), 2).expect("sample");
        assert!(host.get("w").expect("w").iter().all(|v| v.abs() <= 0.1));
        // Shape-based schemes ignore the hidden size: bit-identical draws.
        for spec in ["xavier-uniform", "kaiming-normal", "orthogonal", "normal"] {
            let plan = InitPlan::new(spec.parse().expect("spec"));
            let (a, b) = (
                HostParams::sample(&plain, &plan, 2).expect("sample"),
                HostParams::sample(&layer, &plan, 2).expect("sample"),
            );
            assert_eq!(a.get("w"), b.get("w"), "{spec}");
        }
    }

    #[test]
    fn a_named_part_redraws_only_its_rows() {
        let parted = |rows| {
            let mut specs = specs();
            specs[0] = specs[0].clone().with_parts([("head", rows)]);
            specs
        };
        let normal: Scheme = "normal".parse().expect("spec");
        let plain = HostParams::sample(&specs(), &InitPlan::new(normal.clone()), 4).expect("ok");
        // Not named: bit-identical to the same parameters without parts.
        let unnamed = HostParams::sample(&parted(2..5), &InitPlan::new(normal.clone()), 4);
        assert_eq!(unnamed.expect("sample").sha256(), plain.sha256());
        let plan = InitPlan::new(normal).with("head", "ones".parse().expect("spec"));
        let named = HostParams::sample(&parted(2..5), &plan, 4).expect("sample");
        let (before, after) = (
            plain.get("l.weight").expect("w"),
            named.get("l.weight").expect("w"),
        );
        assert!(after[200..500].iter().all(|&v| v == 1.0));
        assert_eq!(after[..200], before[..200]);
        assert_eq!(after[500..], before[500..]);
        assert_eq!(named.get("l.bias"), plain.get("l.bias"));
        // A part beyond the tensor's rows is an error, not a panic.
        let err = plan.validate(&parted(8..11)).expect_err("rows 8..11 of 10");
        assert!(err.to_string().contains("l.weight"), "{err}");
    }
}
