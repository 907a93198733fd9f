//! `reproduce --shard I/N`: which of a study's runs one process of N trains.
//!
//! Sharding chooses runs and never changes them: a run's id, seed and config
//! come from the study alone, so a sharded grid stores the same run files as a
//! single process, and `cargo xtask merge` puts them back together.
//!
//! The choice is round-robin over the study's run ids sorted: the run at
//! position p belongs to shard p mod N. The ids are sha256 digests, so their
//! order is unrelated to the grid's, and every shard gets a fair mix of cheap
//! and expensive grid points, its size within one of every other's. Sorting
//! makes the choice independent of the order the study file lists its grid.

use std::fmt;
use std::str::FromStr;

use initlab_train::RunSpec;

/// Shard `index` of `count`, 0-based (`1/3` is the second of three).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// Which shard, `0..count`.
    pub index: usize,
    /// How many shards the grid is split into, at least 1.
    pub count: usize,
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let usage = "expected I/N, shard I of N counted from 0 (0/3, 1/3, 2/3)";
        let (i, n) = s.split_once('/').ok_or_else(|| format!("`{s}`: {usage}"))?;
        let number = |part: &str, what: &str| {
            part.trim()
                .parse::<usize>()
                .map_err(|_| format!("`{s}`: {what} `{part}` is not a number; {usage}"))
        };
        let (index, count) = (number(i, "I")?, number(n, "N")?);
        if count == 0 {
            return Err(format!("`{s}`: N must be at least 1; {usage}"));
        }
        if index >= count {
            return Err(format!(
                "`{s}`: shard {index} does not exist, shards of {count} are 0..={}; {usage}",
                count - 1
            ));
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The runs of `shard` (all of them for `None`), in the grid's order: those
/// whose position among the sorted run ids is `index` mod `count`.
pub fn select(runs: Vec<RunSpec>, shard: Option<Shard>) -> Vec<RunSpec> {
    let Some(shard) = shard else {
        return runs;
    };
    let mut ids: Vec<&str> = runs.iter().map(|r| r.id.as_str()).collect();
    ids.sort_unstable();
    let mine: std::collections::HashSet<String> = ids
        .iter()
        .skip(shard.index)
        .step_by(shard.count)
        .map(|id| id.to_string())
        .collect();
    runs.into_iter().filter(|r| mine.contains(&r.id)).collect()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use initlab_train::{BackendKind, Profile, Study};

    use super::*;

    fn paper_runs() -> Vec<RunSpec> {
        let experiments = Path::new(env!("CARGO_MANIFEST_DIR")).join("../experiments");
        Study::find(&experiments, "mlp-keras")
            .expect("experiments/mlp-keras.toml")
            .runs(Profile::Paper, BackendKind::DEFAULT)
            .expect("runs")
    }

    #[test]
    fn parses_i_of_n_and_refuses_what_is_not_a_shard() {
        assert_eq!("2/3".parse(), Ok(Shard { index: 2, count: 3 }));
        assert_eq!("0/1".parse(), Ok(Shard { index: 0, count: 1 }));
        assert_eq!(Shard { index: 1, count: 4 }.to_string(), "1/4");
        for (bad, says) in [
            ("3/3", "shard 3 does not exist, shards of 3 are 0..=2"),
            ("0/0", "N must be at least 1"),
            ("x/2", "I `x` is not a number"),
            ("1/y", "N `y` is not a number"),
            ("-1/2", "I `-1` is not a number"),
            ("2", "expected I/N"),
        ] {
            let err = bad.parse::<Shard>().expect_err(bad);
            assert!(err.contains(says) && err.contains(bad), "{bad}: {err}");
        }
    }

    #[test]
    fn every_run_is_in_exactly_one_shard_unchanged() {
        let runs = paper_runs();
        assert_eq!(runs.len(), 40);
        for count in [1, 2, 3, 7, 40, 41] {
            let shards: Vec<Vec<RunSpec>> = (0..count)
                .map(|index| select(runs.clone(), Some(Shard { index, count })))
                .collect();
            let sizes: Vec<usize> = shards.iter().map(Vec::len).collect();
            let (min, max) = (sizes.iter().min(), sizes.iter().max());
            assert!(max.zip(min).is_some_and(|(a, b)| a - b <= 1), "{sizes:?}");
            let mut seen: Vec<(String, u64, String)> = shards
                .iter()
                .flatten()
                .map(|r| (r.id.clone(), r.seed, r.config_sha256.clone()))
                .collect();
            seen.sort();
            let mut all: Vec<_> = runs
                .iter()
                .map(|r| (r.id.clone(), r.seed, r.config_sha256.clone()))
                .collect();
            all.sort();
            assert_eq!(
                seen, all,
                "{count} shards: every run once, same id and seed"
            );
        }
        assert_eq!(select(runs.clone(), None).len(), runs.len());
    }

    #[test]
    fn a_shard_is_round_robin_over_sorted_ids_in_grid_order() {
        let runs = paper_runs();
        let mut ids: Vec<String> = runs.iter().map(|r| r.id.clone()).collect();
        ids.sort();
        let shard = select(runs.clone(), Some(Shard { index: 1, count: 3 }));
        let mut mine: Vec<String> = shard.iter().map(|r| r.id.clone()).collect();
        let grid_order: Vec<String> = runs
            .iter()
            .map(|r| r.id.clone())
            .filter(|id| mine.contains(id))
            .collect();
        assert_eq!(mine, grid_order, "the grid's order is kept");
        mine.sort();
        let expected: Vec<String> = ids.into_iter().skip(1).step_by(3).collect();
        assert_eq!(mine, expected);
        // The study file's order does not matter, only the ids.
        let mut reversed = runs;
        reversed.reverse();
        let mut again: Vec<String> = select(reversed, Some(Shard { index: 1, count: 3 }))
            .into_iter()
            .map(|r| r.id)
            .collect();
        again.sort();
        assert_eq!(again, mine);
    }
}
