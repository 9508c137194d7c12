//! Running the tern binary of this build on a config, with what it said printed (a failing
//! test's log shows it).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The tern binary.
pub fn command() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tern"))
}

/// `cmd --config CONFIG ARGS` with `stdin` on its standard input, to its end.
pub fn run_with_input(mut cmd: Command, config: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = cmd
        .arg("--config")
        .arg(config)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    eprintln!(
        "tern {args:?}: {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `tern --config CONFIG ARGS`, with nothing on its standard input.
pub fn tern(config: &Path, args: &[&str]) -> Output {
    run_with_input(command(), config, args, "")
}

/// `DIR/config.toml` holding only `data_dir = "DIR/data"` (what `tern setup` appends to).
pub fn config_with_data_dir(dir: &Path) -> std::path::PathBuf {
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!("data_dir = {:?}\n", dir.join("data").display().to_string()),
    )
    .unwrap();
    config
}
