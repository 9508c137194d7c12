//! The command line's effects: a message piped to a shell command (bounded, stoppable, never
//! blocking the UI), a message or attachment saved under a path, opened with a program, a
//! path completed, a check for new mail.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::super::msg::{LineCmd, Msg, PipePart};
use super::Effects;
use crate::domain::{MsgId, RequestId, message};

/// The most of a pipe's output kept (stdout and stderr together); past it the command stops.
pub const KEEP: usize = 1 << 20;
/// How long a piped command may run.
pub const PIPE_TIMEOUT: Duration = Duration::from_secs(30);

pub fn run(fx: &Effects, cmd: LineCmd) {
    let f = fx.clone();
    match cmd {
        LineCmd::Pipe {
            req,
            msg,
            part,
            command,
        } => fx.answer(pipe(f, req, msg, part, command)),
        LineCmd::StopPipe { req } => {
            if let Some(stop) = fx.pipes.lock().ok().and_then(|mut p| p.remove(&req)) {
                let _ = stop.send(());
            }
        }
        LineCmd::SaveMessage { msg, path } => fx.answer(save(f, msg, None, path)),
        LineCmd::SaveAttachmentAs { msg, index, path } => {
            fx.answer(save(f, msg, Some(index), path))
        }
        LineCmd::OpenWith { msg, program } => fx.answer(open_with(f, msg, program)),
        LineCmd::CompletePath { head, word } => fx.answer(async move {
            let done = super::files::complete(word).await;
            match done {
                Msg::PathCompleted { completed, .. } => Msg::LineCompleted {
                    line: format!("{head}{completed}"),
                },
                other => other,
            }
        }),
        LineCmd::SyncNow => fx.engines.sync_now(),
        LineCmd::Reload => fx.answer(reload(f)),
        LineCmd::SaveHistory(lines) => {
            if let Some(path) = fx.dirs.history.clone() {
                tokio::task::spawn_blocking(move || save_history(&path, &lines));
            }
        }
    }
}

/// Read the config file again, for what can change without a restart.
async fn reload(fx: Effects) -> Msg {
    let Some(path) = fx.dirs.config.clone() else {
        return Msg::Reloaded(Err("there is no config file to read (demo)".into()));
    };
    let read = tokio::task::spawn_blocking(move || crate::config::Config::load(&path))
        .await
        .map_err(|e| e.to_string());
    Msg::Reloaded(match read {
        Ok(Ok(c)) => Ok(Box::new(super::super::msg::Reloaded {
            keys: c.keys,
            theme: c.theme,
            warnings: c.warnings,
        })),
        Ok(Err(e)) => Err(crate::domain::sanitize::line(&e.to_string())),
        Err(e) => Err(e),
    })
}

/// The history, one line each, private to the user (a line may name a path or a search).
pub fn save_history(path: &Path, lines: &[String]) {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    if let Err(e) = super::files::write_private(path, &text) {
        tracing::warn!("command history: {e}");
    }
}

/// The history kept by an earlier session (none when the file is missing).
pub fn load_history(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .map(|t| {
            t.lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The raw message from the cache, or why not.
async fn raw(fx: &Effects, msg: MsgId) -> Result<Vec<u8>, String> {
    match fx.store.call(move |s| s.raw_message(msg)).await {
        Ok(Some(raw)) => Ok(raw),
        Ok(None) => Err("the message is not downloaded yet".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// What the command is given.
fn input(raw: &[u8], part: PipePart) -> Result<Vec<u8>, String> {
    match part {
        PipePart::Raw => Ok(raw.to_vec()),
        PipePart::Text => Ok(message::parse(raw).body.into_bytes()),
        PipePart::Attachment(i) => message::attachment(raw, i)
            .map(|(_, bytes)| bytes)
            .ok_or_else(|| "the message has no such attachment".into()),
    }
}

async fn pipe(fx: Effects, req: RequestId, msg: MsgId, part: PipePart, command: String) -> Msg {
    let (stop_tx, stop) = tokio::sync::oneshot::channel();
    if let Ok(mut p) = fx.pipes.lock() {
        p.insert(req, stop_tx);
    }
    let result = match raw(&fx, msg).await.and_then(|r| input(&r, part)) {
        Ok(bytes) => run_pipe(&command, bytes, stop).await,
        Err(e) => Err(e),
    };
    if let Ok(mut p) = fx.pipes.lock() {
        p.remove(&req);
    }
    let (output, ended) = match result {
        Ok(done) => done,
        Err(e) => (Vec::new(), e),
    };
    Msg::Piped { req, output, ended }
}

/// Run `sh -c command` with `input` on its stdin; its stdout and stderr (at most [`KEEP`]
/// bytes, then it is stopped), and how it ended ("" for success). Killed on `stop`, after
/// [`PIPE_TIMEOUT`], or when this future is dropped.
pub async fn run_pipe(
    command: &str,
    input: Vec<u8>,
    stop: tokio::sync::oneshot::Receiver<()>,
) -> Result<(Vec<u8>, String), String> {
    // Its errors go where its output goes (one pipe, read to its end or to the bound).
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(format!("exec 2>&1\n{command}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("sh: {e}"))?;
    let mut stdin = child.stdin.take();
    // A command that does not read its input (or stops early) must not block the writer.
    tokio::spawn(async move {
        if let Some(w) = stdin.as_mut() {
            let _ = w.write_all(&input).await;
        }
    });
    let Some(out) = child.stdout.take() else {
        return Err("sh: no output pipe".into());
    };
    let read = async {
        let mut o = Vec::new();
        let _ = out.take(KEEP as u64 + 1).read_to_end(&mut o).await;
        o
    };
    let mut ended = String::new();
    let mut output = tokio::select! {
        o = read => o,
        _ = stop => { ended = "stopped".into(); Vec::new() }
        _ = tokio::time::sleep(PIPE_TIMEOUT) => {
            ended = format!("stopped after {} s", PIPE_TIMEOUT.as_secs());
            Vec::new()
        }
    };
    if output.len() > KEEP {
        output.truncate(KEEP);
        ended = format!("output cut at {} KiB", KEEP / 1024);
    }
    if ended.is_empty() {
        // Its output is closed: it is ending (bounded: a command that closed its output and
        // goes on is stopped).
        match tokio::time::timeout(Duration::from_secs(5), child.wait()).await {
            Ok(Ok(s)) if s.success() => {}
            Ok(Ok(s)) => ended = format!("ended with {s}"),
            Ok(Err(e)) => ended = e.to_string(),
            Err(_) => ended = "stopped: it closed its output but went on".into(),
        }
    }
    let _ = child.start_kill();
    Ok((output, ended))
}

/// Write the message (`index`: one of its attachments, decoded) under `path`, never over a
/// file. A directory (or a path ending in /) gets the attachment under its own safe name.
async fn save(fx: Effects, msg: MsgId, index: Option<usize>, path: PathBuf) -> Msg {
    let raw = raw(&fx, msg).await;
    let path = super::files::expand_home(&path);
    let done = tokio::task::spawn_blocking(move || {
        let raw = raw?;
        let is_dir = path.is_dir() || path.as_os_str().to_string_lossy().ends_with('/');
        match index {
            Some(i) if is_dir => super::files::save_attachment(&raw, i, &path, false),
            Some(i) => {
                let (_, bytes) = message::attachment(&raw, i)
                    .ok_or_else(|| "the message has no such attachment".to_string())?;
                write_new(&path, &bytes)
            }
            None if is_dir => Err(format!("{} is a folder: add a file name", path.display())),
            None => write_new(&path, &raw),
        }
    })
    .await
    .unwrap_or_else(|e| Err(e.to_string()));
    match done {
        Ok(path) => Msg::AttachmentSaved {
            path,
            opened: false,
        },
        Err(e) => Msg::Failed(format!("save: {e}")),
    }
}

/// Write a new file (never over one: what is there may be the user's).
fn write_new(path: &Path, bytes: &[u8]) -> Result<PathBuf, String> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => {
                format!("{} exists: tern does not write over a file", path.display())
            }
            _ => format!("{}: {e}", path.display()),
        })?;
    f.write_all(bytes)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path.to_path_buf())
}

/// Open the message's first attachment (or, without one, the message as .eml) with a program
/// the user typed: the file's path is quoted into the command (`%s`, else appended).
async fn open_with(fx: Effects, msg: MsgId, program: String) -> Msg {
    let raw = raw(&fx, msg).await;
    let dirs = fx.dirs.clone();
    let done = tokio::task::spawn_blocking(move || {
        let raw = raw?;
        let path = match message::attachment(&raw, 0) {
            Some(_) => super::files::save_attachment(&raw, 0, &dirs.scratch, true)?,
            None => {
                std::fs::create_dir_all(&dirs.scratch).map_err(|e| e.to_string())?;
                let p = dirs.scratch.join(format!("message-{}.eml", msg.0));
                let _ = std::fs::remove_file(&p);
                write_new(&p, &raw)?
            }
        };
        let line = super::openers::command_line(&program, &path)?;
        super::openers::run_and_wait(&line)?;
        Ok(path)
    })
    .await
    .unwrap_or_else(|e| Err(e.to_string()));
    match done {
        Ok(path) => Msg::AttachmentSaved { path, opened: true },
        Err(e) => Msg::Failed(format!("open-with: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn a_pipe_gives_the_output_and_how_it_ended() {
        let rt = rt();
        let (_keep, stop) = tokio::sync::oneshot::channel();
        let (out, ended) = rt
            .block_on(run_pipe("grep lunch", b"a\nlunch at 1\nb\n".to_vec(), stop))
            .unwrap();
        assert_eq!(out, b"lunch at 1\n");
        assert_eq!(ended, "");
        let (_keep, stop) = tokio::sync::oneshot::channel();
        let (_, ended) = rt.block_on(run_pipe("exit 3", Vec::new(), stop)).unwrap();
        assert!(ended.contains('3'), "{ended}");
    }

    #[test]
    fn a_saved_message_never_replaces_a_file_and_history_comes_back() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.eml");
        assert_eq!(write_new(&p, b"one").unwrap(), p);
        let e = write_new(&p, b"two").unwrap_err();
        assert!(
            e.ends_with("m.eml exists: tern does not write over a file"),
            "{e}"
        );
        assert_eq!(std::fs::read(&p).unwrap(), b"one");
        let h = dir.path().join("history");
        assert!(load_history(&h).is_empty());
        save_history(&h, &["move Archive".into(), "pipe grep x".into()]);
        assert_eq!(load_history(&h), ["move Archive", "pipe grep x"]);
    }

    #[test]
    fn a_pipe_is_bounded_and_stoppable() {
        let rt = rt();
        let (_keep, stop) = tokio::sync::oneshot::channel();
        let (out, ended) = rt.block_on(run_pipe("yes", Vec::new(), stop)).unwrap();
        assert_eq!(out.len(), KEEP);
        assert!(ended.contains("cut"), "{ended}");
        let (tx, stop) = tokio::sync::oneshot::channel();
        tx.send(()).unwrap();
        let (_, ended) = rt
            .block_on(run_pipe("sleep 600", Vec::new(), stop))
            .unwrap();
        assert_eq!(ended, "stopped");
    }
}
