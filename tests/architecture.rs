//! The import rules from the architecture: the view and the domain never touch I/O crates,
//! and only the store names rusqlite.

use std::fs;
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn offenders(dirs: &[&str], crates: &[&str], except: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for d in dirs {
        let p = root.join(d);
        if p.is_dir() {
            rust_files(&p, &mut files);
        } else {
            files.push(p);
        }
    }
    let mut bad = Vec::new();
    for f in files {
        let rel = f.strip_prefix(root).unwrap().to_string_lossy().into_owned();
        if except.iter().any(|e| rel.starts_with(e)) {
            continue;
        }
        for (n, line) in fs::read_to_string(&f).unwrap().lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for c in crates {
                if code.contains(&format!("{c}::")) || code.contains(&format!("use {c}")) {
                    bad.push(format!("{rel}:{}: {}", n + 1, line.trim()));
                }
            }
        }
    }
    bad
}

#[test]
fn ui_and_domain_use_no_io_crates() {
    let bad = offenders(
        &["src/ui", "src/domain"],
        &["tokio", "rusqlite", "async_imap", "lettre"],
        &[],
    );
    assert!(
        bad.is_empty(),
        "I/O crates in the view or the domain:\n{}",
        bad.join("\n")
    );
}

#[test]
fn only_the_store_names_rusqlite() {
    let bad = offenders(&["src"], &["rusqlite"], &["src/store/"]);
    assert!(
        bad.is_empty(),
        "rusqlite outside src/store:\n{}",
        bad.join("\n")
    );
}

#[test]
fn update_is_pure() {
    let bad = offenders(
        &["src/app/update.rs", "src/app/update"],
        &["tokio", "std::fs", "std::net"],
        &[],
    );
    assert!(bad.is_empty(), "I/O in update:\n{}", bad.join("\n"));
}

#[test]
fn update_and_the_view_speak_the_domain_not_the_store_or_the_engines() {
    let bad = offenders(
        &[
            "src/app/update.rs",
            "src/app/update",
            "src/app/msg.rs",
            "src/app/state.rs",
            "src/ui",
        ],
        &[
            "crate::store",
            "tern::store",
            "crate::worker",
            "crate::sync",
            "crate::pop3",
        ],
        &[],
    );
    assert!(
        bad.is_empty(),
        "update or the view names the store or an engine (use the domain types):\n{}",
        bad.join("\n")
    );
}
