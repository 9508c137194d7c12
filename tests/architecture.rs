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
        &["src/ui", "src/ui.rs", "src/domain", "src/domain.rs"],
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
    let bad = offenders(&["src"], &["rusqlite"], &["src/store/", "src/store.rs"]);
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

/// The lines of `text` with comments, string literals and char literals blanked, so braces in
/// them do not count. Strings (and block comments) may span lines; lifetimes are left alone.
fn code_lines(text: &str) -> Vec<String> {
    let s: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    // Blank s[from..to], keeping its line ends.
    let skip = |out: &mut String, from: usize, to: usize| {
        out.extend(s[from..to.min(s.len())].iter().filter(|&&c| c == '\n'));
    };
    while i < s.len() {
        let c = s[i];
        let next = s.get(i + 1).copied();
        let ident_before = i > 0 && (s[i - 1].is_alphanumeric() || s[i - 1] == '_');
        if c == '/' && next == Some('/') {
            while i < s.len() && s[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut j = i + 2;
            while j + 1 < s.len() && !(s[j] == '*' && s[j + 1] == '/') {
                j += 1;
            }
            skip(&mut out, i, j + 2);
            i = j + 2;
        } else if !ident_before && (c == 'r' || (c == 'b' && next == Some('r'))) && {
            let mut j = i + if c == 'b' { 2 } else { 1 };
            while s.get(j) == Some(&'#') {
                j += 1;
            }
            s.get(j) == Some(&'"')
        } {
            // A raw string: r"..." or r#"..."#.
            let mut j = i + if c == 'b' { 2 } else { 1 };
            let mut hashes = 0;
            while s[j] == '#' {
                hashes += 1;
                j += 1;
            }
            j += 1;
            while j < s.len()
                && !(s[j] == '"' && (0..hashes).all(|h| s.get(j + 1 + h) == Some(&'#')))
            {
                j += 1;
            }
            skip(&mut out, i, j + 1 + hashes);
            i = j + 1 + hashes;
        } else if c == '"' {
            let mut j = i + 1;
            while j < s.len() && s[j] != '"' {
                j += if s[j] == '\\' { 2 } else { 1 };
            }
            skip(&mut out, i, j + 1);
            i = j + 1;
        } else if c == '\'' && next == Some('\\') {
            // An escaped char literal: '\n', '\'', '\u{7f}'.
            let mut j = i + 3;
            while j < s.len() && s[j] != '\'' {
                j += 1;
            }
            i = j + 1;
        } else if c == '\'' && s.get(i + 2) == Some(&'\'') {
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out.split('\n').map(str::to_owned).collect()
}

/// The lines of a file before its `#[cfg(test)]` module: the code that ships.
fn shipped_lines(text: &str) -> Vec<&str> {
    text.lines()
        .take_while(|l| l.trim() != "#[cfg(test)]")
        .collect()
}

fn src_files() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let rel = f
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            (rel, fs::read_to_string(&f).unwrap())
        })
        .collect()
}

/// Files that are a `#[cfg(test)] mod tests;` of their parent: tests only, no limits.
const TEST_ONLY: &[&str] = &[
    "src/app/update/tests.rs",
    "src/store/tests.rs",
    "src/sync/imap/gmail_tests.rs",
    "src/sync/wire_tests.rs",
];

#[test]
fn no_file_has_over_600_lines_of_code() {
    const ALLOWED: &[&str] = &[];
    let mut bad = Vec::new();
    for (rel, text) in src_files() {
        if TEST_ONLY.contains(&rel.as_str()) || ALLOWED.contains(&rel.as_str()) {
            continue;
        }
        let n = shipped_lines(&text).len();
        if n > 600 {
            bad.push(format!("{rel}: {n} lines before #[cfg(test)]"));
        }
    }
    assert!(
        bad.is_empty(),
        "files over 600 lines of code (split them by concern: foo.rs + foo/bar.rs):\n{}",
        bad.join("\n")
    );
}

/// Whether a line (trimmed) starts a function item: `fn`, with any of `pub(..)`, `const`,
/// `async`, `unsafe`, `extern "C"` before it.
fn starts_fn(line: &str) -> Option<&str> {
    let mut rest = line.trim_start();
    loop {
        if let Some(r) = rest.strip_prefix("pub(") {
            rest = r.split_once(')')?.1.trim_start();
        } else if let Some(r) = ["pub ", "const ", "async ", "unsafe ", "extern \"C\" "]
            .iter()
            .find_map(|p| rest.strip_prefix(p))
        {
            rest = r.trim_start();
        } else {
            break;
        }
    }
    let name = rest.strip_prefix("fn ")?;
    Some(
        name.split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .next()
            .unwrap_or(""),
    )
}

/// Functions of the shipped code over `max` lines: (file, line, name, lines, whether the
/// line(s) just above it, past its doc comment and attributes, hold a `// Long:` comment).
fn long_fns(max: usize) -> Vec<(String, usize, String, usize, bool)> {
    let mut found = Vec::new();
    for (rel, text) in src_files() {
        if TEST_ONLY.contains(&rel.as_str()) {
            continue;
        }
        let lines = shipped_lines(&text);
        let code = code_lines(&lines.join("\n"));
        for (i, line) in lines.iter().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            let Some(name) = starts_fn(line) else {
                continue;
            };
            let (mut depth, mut opened, mut end) = (0i64, false, None);
            for (j, c) in code.iter().enumerate().skip(i) {
                if !opened && c.contains(';') && !c.contains('{') {
                    break; // a declaration without a body
                }
                depth += c.matches('{').count() as i64 - c.matches('}').count() as i64;
                opened |= c.contains('{');
                if opened && depth <= 0 {
                    end = Some(j);
                    break;
                }
            }
            let Some(end) = end else { continue };
            let n = end - i + 1;
            if n <= max {
                continue;
            }
            let why = lines[..i]
                .iter()
                .rev()
                .map(|l| l.trim())
                .take_while(|l| l.starts_with("//") || l.starts_with("#["))
                .any(|l| l.starts_with("// Long:"));
            found.push((rel.clone(), i + 1, name.to_owned(), n, why));
        }
    }
    found
}

#[test]
fn no_function_over_80_lines_without_a_reason() {
    const ALLOWED: &[(&str, &str)] = &[];
    let bad: Vec<String> = long_fns(80)
        .into_iter()
        .filter(|(rel, _, name, _, why)| !why && !ALLOWED.contains(&(rel.as_str(), name.as_str())))
        .map(|(rel, line, name, n, _)| format!("{rel}:{line}: fn {name}: {n} lines"))
        .collect();
    assert!(
        bad.is_empty(),
        "functions over 80 lines: split them, or say why not in a `// Long: ...` comment on the \
         line just above the fn (after its doc comment):\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_function_scan_sees_strings_and_braces_right() {
    let code = code_lines(
        "let a = \"{\"; let b = '}';\nlet c = r#\"{\n}\"#; // {\nfn f<'a>(x: &'a str) {}",
    );
    assert_eq!(code.len(), 4);
    assert!(
        code.iter()
            .take(3)
            .all(|l| !l.contains('{') && !l.contains('}')),
        "{code:?}"
    );
    assert_eq!(
        starts_fn("    pub(crate) async fn send_one<T>("),
        Some("send_one")
    );
    assert_eq!(starts_fn("let x = fn_name();"), None);
    // A known long function, with its reason, is found whole.
    let found = long_fns(80);
    assert!(
        found
            .iter()
            .any(|(rel, _, name, n, why)| rel == "src/sync/replay/moves.rs"
                && name == "replay_move"
                && *n > 150
                && *why),
        "{found:?}"
    );
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
            "src/ui.rs",
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

/// One module-file convention: a module with submodules is `foo.rs` beside `foo/`, never
/// `foo/mod.rs`.
#[test]
fn no_mod_rs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let bad: Vec<String> = files
        .iter()
        .filter(|f| f.file_name().is_some_and(|n| n == "mod.rs"))
        .map(|f| f.strip_prefix(root).unwrap().display().to_string())
        .collect();
    assert!(
        bad.is_empty(),
        "mod.rs files (use foo.rs beside foo/): {bad:?}"
    );
}
