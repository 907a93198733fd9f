//! The recipe for a new scheme, run as the README tells it: the scheme below
//! is the README's example, written in a family file of its own, and goes
//! through the same parser, checks, sampler and catalogue as the crate's
//! schemes. The catalogue in the crate's README is checked against the
//! registry, so a scheme without its row fails here.

use std::fs;
use std::path::{Path, PathBuf};

use initlab_init::{init_rng, Error, Registry, SCHEMES};

// The README's example, verbatim (a test below checks it is).
use initlab_init::{InitRng, Initializer, Needs, Scheme, SchemeKind, Spec, Target};
use rand::Rng;

/// `rademacher(scale=1)`.
pub const RADEMACHER: SchemeKind = SchemeKind::new(
    "rademacher(scale=1) | `±scale`, each with probability 1/2 | – | – | –",
    |keys| {
        keys.number("scale")
            .map(|scale| Scheme::new(Rademacher { scale }))
    },
);

/// `±scale` with equal probability, drawn element by element.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rademacher {
    /// Scale; finite, `> 0`.
    pub scale: f64,
}

impl Initializer for Rademacher {
    fn spec(&self) -> Spec {
        Spec::new(RADEMACHER.name, Needs::Anything).positive("scale", self.scale)
    }

    fn draw(&self, target: &Target<'_>, rng: &mut InitRng) -> Vec<f32> {
        let sign = |heads: bool| if heads { 1.0 } else { -1.0 };
        let draws = (0..target.n).map(|_| sign(rng.gen()) * self.scale);
        draws.map(|x| x as f32).collect()
    }
}
// End of the README's example.

/// The crate's registry with the example's kind added: the one line a new
/// scheme takes.
const EXTENDED: Registry = Registry(&[&initlab_init::elementwise::NORMAL, &RADEMACHER]);

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The workspace README's section on adding an initializer.
fn recipe() -> String {
    let readme = read(&crate_dir().join("../../README.md"));
    let start = readme
        .find("## Adding an initializer")
        .expect("README has `## Adding an initializer`");
    let rest = &readme[start + 3..];
    let end = rest.find("\n## ").map_or(rest.len(), |i| i);
    rest[..end].to_string()
}

#[test]
fn the_readme_example_parses_checks_and_samples_like_any_scheme() {
    let scheme = EXTENDED
        .parse("rademacher( scale = 0.50 )")
        .expect("parses");
    assert_eq!(scheme.to_string(), "rademacher(scale=0.5)");
    assert_eq!(EXTENDED.parse("rademacher").expect("default"), {
        Scheme::new(Rademacher { scale: 1.0 })
    });
    let w = scheme.sample(&[3, 4], &mut init_rng(1)).expect("samples");
    assert_eq!(w.len(), 12);
    assert!(w.iter().all(|&x| x == 0.5 || x == -0.5), "{w:?}");
    assert!(w.contains(&0.5) && w.contains(&-0.5), "{w:?}");
    assert_eq!(w, scheme.sample(&[3, 4], &mut init_rng(1)).expect("again"));
    assert!(matches!(
        EXTENDED.parse("rademacher(scale=0)"),
        Err(Error::InvalidValue { key: "scale", .. })
    ));
    assert!(matches!(
        EXTENDED.parse("rademacher(std=1)"),
        Err(Error::UnknownKey { .. })
    ));
    let unknown = EXTENDED.parse("rademachr").expect_err("unknown");
    assert!(
        unknown.to_string().contains("normal, rademacher"),
        "{unknown}"
    );
    let hand_written = Scheme::new(Rademacher { scale: -1.0 });
    assert!(hand_written.sample(&[2], &mut init_rng(0)).is_err());
    assert_eq!(
        RADEMACHER.catalogue_row(),
        "| `rademacher(scale=1)` | `±scale`, each with probability 1/2 | – | – | – |"
    );
    // Until its line is in `SCHEMES`, the crate's own parser does not know it.
    assert!("rademacher".parse::<Scheme>().is_err());
}

#[test]
fn the_readme_recipe_is_this_example_and_names_the_files_that_hold_a_scheme() {
    let recipe = recipe();
    let code = recipe
        .split("```rust\n")
        .nth(1)
        .and_then(|block| block.split("```").next())
        .expect("the recipe has a rust block");
    let this_file = read(&crate_dir().join("tests/adding_a_scheme.rs"));
    assert!(
        this_file.contains(code),
        "README's example differs from tests/adding_a_scheme.rs; update one:\n{code}"
    );
    for path in [
        "crates/init/src/lib.rs",
        "crates/init/README.md",
        "crates/init/tests/value_stability.rs",
    ] {
        assert!(recipe.contains(&format!("`{path}`")), "recipe names {path}");
        assert!(crate_dir().join("../..").join(path).exists(), "{path}");
    }
    assert!(recipe.contains("`crates/init/src/<family>.rs`"));
    assert!(recipe.contains("`SCHEMES`"));
    let lib = read(&crate_dir().join("src/lib.rs"));
    assert!(lib.contains("pub const SCHEMES: Registry = Registry(&["));
    for kind in SCHEMES.kinds() {
        // Every family file the registry points into exists.
        let line = lib
            .lines()
            .find(|l| l.trim_start().starts_with('&') && l.contains(&kind_const(kind.name)))
            .unwrap_or_else(|| panic!("no registry line for {}", kind.name));
        let family = line.trim().trim_start_matches('&');
        let family = family.split("::").next().expect("family::KIND");
        assert!(
            crate_dir().join(format!("src/{family}.rs")).exists(),
            "{line}"
        );
    }
}

/// `kaiming-normal` → `::KAIMING_NORMAL`.
fn kind_const(name: &str) -> String {
    format!("::{},", name.replace('-', "_").to_uppercase())
}

#[test]
fn the_catalogue_in_the_readme_is_the_registrys() {
    let readme = read(&crate_dir().join("README.md"));
    let table: String = readme
        .lines()
        .skip_while(|l| !l.starts_with("| spec (canonical"))
        .take_while(|l| l.starts_with('|'))
        .map(|l| format!("{l}\n"))
        .collect();
    let expected = SCHEMES.catalogue();
    assert!(
        table == expected,
        "crates/init/README.md's catalogue is not the registry's; the table is:\n{expected}"
    );
}
