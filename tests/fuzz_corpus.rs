//! Every file under `tests/fuzz-corpus/<target>/` (the seeds, and under `crashes/` the inputs
//! the fuzzer once broke tern with) replayed through the same check the fuzz target runs
//! (`tern::fuzzing`), so a fixed crash stays fixed. See README "Fuzzing".

use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else if p.file_name().is_some_and(|n| n != "README.txt") {
            out.push(p);
        }
    }
}

#[test]
fn every_corpus_file_passes_its_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus");
    let mut failed = Vec::new();
    for (name, check) in tern::fuzzing::TARGETS {
        let mut inputs = Vec::new();
        files(&root.join(name), &mut inputs);
        assert!(!inputs.is_empty(), "no corpus for the {name} target");
        inputs.sort();
        for path in inputs {
            let data = std::fs::read(&path).unwrap();
            if std::panic::catch_unwind(|| check(&data)).is_err() {
                failed.push(path.display().to_string());
            }
        }
    }
    assert!(failed.is_empty(), "corpus files that fail: {failed:#?}");
}
