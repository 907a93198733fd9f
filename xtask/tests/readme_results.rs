//! The README's measured numbers come from a command: every results block
//! (`<!-- results: STUDY -->` … `<!-- /results: STUDY -->`) is closed, names
//! a study of `experiments/`, and opens with the line `cargo xtask report
//! --readme` writes, which says which store, commit and machine gave them.
//! Hand-edited numbers inside a block would be overwritten by the next run of
//! the command, and a block without its line was not written by it.

use std::path::Path;

const OPEN: &str = "<!-- results: ";
const CLOSE: &str = "<!-- /results: ";
const PROVENANCE: &str = "*Written by `cargo xtask report --out ";

fn readme() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace");
    std::fs::read_to_string(root.join("README.md")).expect("README.md")
}

/// `(study, body)` of every block, or what is wrong with the first bad one.
fn blocks(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(OPEN) {
        let after = &rest[at + OPEN.len()..];
        let study = after
            .split_once(" -->")
            .map(|(s, _)| s.to_string())
            .ok_or("an unterminated results marker")?;
        let close = format!("{CLOSE}{study} -->");
        let body_start = at + OPEN.len() + study.len() + " -->".len();
        let end = rest[body_start..]
            .find(&close)
            .ok_or(format!("`{study}`'s block is not closed by `{close}`"))?;
        let body = &rest[body_start..body_start + end];
        if body.contains(OPEN) {
            return Err(format!("`{study}`'s block holds another block's opening"));
        }
        out.push((study, body.trim().to_string()));
        rest = &rest[body_start + end + close.len()..];
    }
    if rest.contains(CLOSE) {
        return Err("a closing results marker without its opening".into());
    }
    Ok(out)
}

#[test]
fn every_results_block_was_written_by_report_readme() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace");
    let blocks = blocks(&readme()).unwrap_or_else(|e| panic!("README.md: {e}"));
    assert!(
        blocks.len() >= 3,
        "README.md has {} results blocks; the studies measured with `report --readme` lost theirs",
        blocks.len()
    );
    for (study, body) in &blocks {
        assert!(
            root.join("experiments")
                .join(format!("{study}.toml"))
                .is_file(),
            "README.md: results block `{study}` names no study in experiments/"
        );
        assert!(
            body.starts_with(PROVENANCE),
            "README.md: results block `{study}` does not open with the line \
             `cargo xtask report --readme` writes (store, commit, machine)"
        );
        assert!(
            body.lines().any(|l| l.starts_with('|')),
            "README.md: results block `{study}` holds no table"
        );
    }
}

#[test]
fn the_block_reader_finds_what_is_wrong() {
    let ok = "a\n<!-- results: s -->\nx\n<!-- /results: s -->\n";
    assert_eq!(blocks(ok), Ok(vec![("s".into(), "x".into())]));
    assert!(blocks("<!-- results: s -->\nx\n").is_err_and(|e| e.contains("not closed")));
    assert!(blocks("x\n<!-- /results: s -->\n").is_err_and(|e| e.contains("without")));
}
