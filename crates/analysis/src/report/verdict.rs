//! Does a claimed ordering of initializers hold? A claim is a list of tiers,
//! best first ("Xavier/Kaiming > N(0,1) > zeros"); each adjacent pair of
//! tiers is judged on the worst of the upper tier against the best of the
//! lower, with one sample standard deviation over seeds on each side:
//!
//! - **holds**: the two ±1 std intervals are apart, the upper one above;
//! - **does not hold**: apart, the lower one above;
//! - **within the seed spread**: they overlap (the seeds cannot tell).
//!
//! With one seed there is no spread and the means decide alone.

use crate::Stat;

use super::render::code;

/// One tier's member: a label and its number over seeds (`None`: no
/// completed run, which the verdict names and leaves out).
pub(crate) struct Entry {
    pub label: String,
    pub stat: Option<Stat>,
}

/// The verdict on a claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Holds,
    DoesNotHold,
    WithinSpread,
    /// A tier had no completed run: nothing to judge.
    Untested,
}

impl Outcome {
    pub(crate) fn text(self) -> &'static str {
        match self {
            Outcome::Holds => "holds",
            Outcome::DoesNotHold => "does not hold",
            Outcome::WithinSpread => "within the seed spread",
            Outcome::Untested => "not tested",
        }
    }
}

/// `0.9512 ± 0.0031` (mean alone for one seed).
pub(crate) fn fmt_stat(s: &Stat) -> String {
    if s.n > 1 {
        format!("{:.4} ± {:.4}", s.mean, s.std)
    } else {
        format!("{:.4}", s.mean)
    }
}

/// Judges `tiers` (best first; `names` are how the text calls them) and
/// says why, with the numbers compared.
pub(crate) fn judge(tiers: &[Vec<Entry>], names: &[String]) -> (Outcome, String) {
    let mut outcomes = Vec::new();
    let mut parts = Vec::new();
    for (i, pair) in tiers.windows(2).enumerate() {
        let worst = pair[0]
            .iter()
            .filter_map(|e| e.stat.as_ref().map(|s| (e, s)))
            .min_by(|a, b| a.1.mean.total_cmp(&b.1.mean));
        let best = pair[1]
            .iter()
            .filter_map(|e| e.stat.as_ref().map(|s| (e, s)))
            .max_by(|a, b| a.1.mean.total_cmp(&b.1.mean));
        let upper = names.get(i).map_or("upper", String::as_str);
        let lower = names.get(i + 1).map_or("lower", String::as_str);
        let (Some((ue, us)), Some((le, ls))) = (worst, best) else {
            outcomes.push(Outcome::Untested);
            parts.push(format!("{upper} > {lower}: no completed run to compare"));
            continue;
        };
        let outcome = if us.mean - us.std > ls.mean + ls.std {
            Outcome::Holds
        } else if ls.mean - ls.std > us.mean + us.std || (us.n <= 1 && ls.n <= 1) {
            // One seed on each side: equal means do not make "above".
            Outcome::DoesNotHold
        } else {
            Outcome::WithinSpread
        };
        outcomes.push(outcome);
        parts.push(format!(
            "{upper} > {lower} {}: lowest of the first `{}` {} against highest of the second `{}` {}",
            outcome.text(),
            code(&ue.label),
            fmt_stat(us),
            code(&le.label),
            fmt_stat(ls)
        ));
    }
    let missing: Vec<String> = tiers
        .iter()
        .flatten()
        .filter(|e| e.stat.is_none())
        .map(|e| format!("`{}`", code(&e.label)))
        .collect();
    if !missing.is_empty() {
        parts.push(format!("no completed run: {}", missing.join(", ")));
    }
    let overall = if outcomes.contains(&Outcome::DoesNotHold) {
        Outcome::DoesNotHold
    } else if outcomes.is_empty() || outcomes.contains(&Outcome::Untested) {
        Outcome::Untested
    } else if outcomes.iter().all(|&o| o == Outcome::Holds) {
        Outcome::Holds
    } else {
        Outcome::WithinSpread
    };
    (overall, parts.join("; "))
}

/// The published ordering as three tiers: the labels sorted by their
/// published number, split at the two largest gaps. The published studies
/// claim groups ("the good five, then three, then the constant"), and the
/// groups are where the published numbers jump.
pub(crate) fn tiers_from_published(published: &[(String, f64)]) -> Vec<Vec<String>> {
    let mut sorted: Vec<&(String, f64)> = published.iter().filter(|(_, v)| v.is_finite()).collect();
    sorted.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    if sorted.len() < 3 {
        return Vec::new();
    }
    let mut gaps: Vec<(f64, usize)> = sorted
        .windows(2)
        .enumerate()
        .map(|(i, w)| (w[0].1 - w[1].1, i + 1))
        .collect();
    gaps.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut cuts: Vec<usize> = gaps.iter().take(2).map(|g| g.1).collect();
    cuts.sort_unstable();
    let mut tiers = Vec::new();
    let mut start = 0;
    for cut in cuts.into_iter().chain([sorted.len()]) {
        tiers.push(sorted[start..cut].iter().map(|(l, _)| l.clone()).collect());
        start = cut;
    }
    tiers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(label: &str, mean: f64, std: f64, n: usize) -> Entry {
        Entry {
            label: label.into(),
            stat: Some(Stat { mean, std, n }),
        }
    }

    fn names() -> Vec<String> {
        vec!["good".into(), "bad".into()]
    }

    #[test]
    fn apart_intervals_decide_and_overlap_is_within_spread() {
        let holds = [
            vec![entry("a", 0.9, 0.01, 3)],
            vec![entry("b", 0.5, 0.01, 3)],
        ];
        assert_eq!(judge(&holds, &names()).0, Outcome::Holds);
        let fails = [
            vec![entry("a", 0.5, 0.01, 3)],
            vec![entry("b", 0.9, 0.01, 3)],
        ];
        let (o, text) = judge(&fails, &names());
        assert_eq!(o, Outcome::DoesNotHold);
        assert!(text.contains("`a` 0.5000 ± 0.0100"), "{text}");
        let close = [
            vec![entry("a", 0.52, 0.05, 3)],
            vec![entry("b", 0.5, 0.05, 3)],
        ];
        assert_eq!(judge(&close, &names()).0, Outcome::WithinSpread);
    }

    #[test]
    fn published_numbers_split_into_three_tiers_at_the_largest_gaps() {
        let p: Vec<(String, f64)> = [
            ("x", 0.64),
            ("nx", 0.55),
            ("k", 0.53),
            ("o", 0.50),
            ("u", 0.27),
            ("n", 0.24),
            ("t", 0.24),
            ("z", 0.11),
            ("c", 0.10),
        ]
        .iter()
        .map(|(l, v)| (l.to_string(), *v))
        .collect();
        let t = tiers_from_published(&p);
        assert_eq!(
            t,
            vec![
                vec!["x", "nx", "k", "o"],
                vec!["u", "n", "t"],
                vec!["z", "c"]
            ]
        );
    }
}
