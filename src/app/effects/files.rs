//! Files and programs: attachments saved or opened, links opened, paths completed, the
//! private file a message is written in.

use std::path::{Path, PathBuf};

use super::super::msg::Msg;
use super::Effects;
use crate::domain::message;

/// Save attachment `index` of a message to the download dir, or (`open`) to the private
/// scratch dir and open it with the system opener.
pub async fn attachment(fx: Effects, msg: crate::domain::MsgId, index: usize, open: bool) -> Msg {
    let raw = fx.store.call(move |s| s.raw_message(msg)).await;
    let dirs = fx.dirs;
    let answer = tokio::task::spawn_blocking(move || {
        let raw = match raw {
            Ok(Some(raw)) => raw,
            Ok(None) => return Err("the message is not downloaded yet".to_string()),
            Err(e) => return Err(e.to_string()),
        };
        if open {
            // The opener is chosen before the file is written: without one, nothing is left.
            let template = super::openers::choose(
                &attachment_type(&raw, index),
                &dirs.openers,
                &super::openers::read_mailcaps(),
                super::openers::system_opener(),
            )?;
            let path = save_attachment(&raw, index, &dirs.scratch, true)?;
            let template = template.replace("%t", &attachment_type(&raw, index));
            super::openers::run_and_wait(&super::openers::command_line(&template, &path)?)?;
            Ok(path)
        } else {
            save_attachment(&raw, index, &dirs.download, false)
        }
    })
    .await
    .unwrap_or_else(|e| Err(e.to_string()));
    match answer {
        Ok(path) => Msg::AttachmentSaved { path, opened: open },
        Err(e) => Msg::Failed(format!("attachment: {e}")),
    }
}

/// Open a link in the user's browser (`$BROWSER`, else the system opener).
pub fn open_link(url: &str) -> Option<Msg> {
    open_url(url, std::env::var("BROWSER").ok().as_deref())
        .err()
        .map(|e| Msg::Failed(format!("cannot open the link: {e}")))
}

/// Complete a path typed to attach, off the async workers.
pub async fn complete(input: String) -> Msg {
    let (completed, choices) = tokio::task::spawn_blocking({
        let input = input.clone();
        move || path_choices(&input)
    })
    .await
    .unwrap_or_else(|_| (input.clone(), Vec::new()));
    Msg::PathCompleted {
        input,
        completed,
        choices,
    }
}

/// The program and arguments that open `url`: `$BROWSER` when set (its first word is the
/// program; the URL is one more argument, never passed through a shell), else the system's
/// opener. Only web and mail links are opened: a hostile message cannot make tern run
/// `file:` or other schemes.
pub fn opener(url: &str, browser: Option<&str>) -> Result<(String, Vec<String>), String> {
    let lower = url.to_ascii_lowercase();
    if !["http://", "https://", "mailto:"]
        .iter()
        .any(|s| lower.starts_with(s))
    {
        return Err(format!(
            "only http, https and mailto links are opened, not {}",
            crate::domain::sanitize::line(url)
        ));
    }
    let mut words: Vec<String> = browser
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    if words.is_empty() {
        words.push(
            if cfg!(target_os = "macos") {
                "open"
            } else {
                "xdg-open"
            }
            .to_string(),
        );
    }
    let program = words.remove(0);
    words.push(url.to_string());
    Ok((program, words))
}

/// The MIME type of attachment `index` (as the message says, else guessed from its name).
/// From mail, so hostile: only a plain `type/subtype` is taken (it reaches the status line and
/// a command line through mailcap's `%t`).
fn attachment_type(raw: &[u8], index: usize) -> String {
    let view = message::parse(raw);
    let plain = |t: &str| {
        t.split_once('/')
            .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty())
            && t.len() <= 127
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || "/+.-_".contains(c))
    };
    let said = view
        .attachments
        .get(index)
        .map(|a| {
            a.content_type
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|t| plain(t) && t != "application/octet-stream");
    said.unwrap_or_else(|| {
        let name = view.attachments.get(index).map_or("", |a| a.name.as_str());
        mime_guess::from_path(name)
            .first_or_octet_stream()
            .essence_str()
            .to_string()
    })
}

/// Write attachment `index` of a raw message into `dir` (created if missing; `private`: only
/// the user may read it) under its sanitised name, never over an existing file: a taken name
/// gets " (1)", " (2)", ... before the extension. Returns the path written.
pub fn save_attachment(
    raw: &[u8],
    index: usize,
    dir: &Path,
    private: bool,
) -> Result<PathBuf, String> {
    use std::io::Write;
    let (name, bytes) = message::attachment(raw, index)
        .ok_or_else(|| "the message has no such attachment".to_string())?;
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    let name = crate::domain::sanitize::file_name(&name);
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name.as_str(), ""),
    };
    for n in 0..1000 {
        let candidate = if n == 0 {
            name.clone()
        } else {
            format!("{stem} ({n}){ext}")
        };
        let path = dir.join(candidate);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut f) => {
                f.write_all(&bytes)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                return Ok(path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(format!("{}: {e}", path.display())),
        }
    }
    Err(format!("too many files named {name} in {}", dir.display()))
}

/// Start the opener without waiting for it (a thread reaps it), its output discarded so it
/// cannot draw over the screen.
fn open_url(url: &str, browser: Option<&str>) -> Result<(), String> {
    let (program, args) = opener(url, browser)?;
    let mut child = std::process::Command::new(&program)
        .args(&args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("{program}: {e}"))?;
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    Ok(())
}

/// A private file for the text being written (in the scratch dir, only the user may read it).
pub fn compose_file(dirs: &super::Dirs) -> Result<PathBuf, String> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(&dirs.scratch)
        .map_err(|e| format!("{}: {e}", dirs.scratch.display()))?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    Ok(dirs.scratch.join(format!("message-{nanos}.txt")))
}

pub fn write_private(path: &Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// `~/x` is the home dir's x.
pub fn expand_home(p: &Path) -> PathBuf {
    match (p.strip_prefix("~"), std::env::var_os("HOME")) {
        (Ok(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => p.to_path_buf(),
    }
}

/// Complete a path being typed: to the longest prefix the matching names share (a directory
/// gets its slash). Reads the directory: a small, bounded look at the user's own files.
pub fn complete_path(input: &str) -> String {
    path_choices(input).0
}

/// The most paths offered to choose from.
const MAX_CHOICES: usize = 200;

/// [`complete_path`], and the paths that complete it when there are several (sorted, a
/// directory with its slash, at most 200).
// Long: the directory read and the common prefix, one walk over the names.
pub fn path_choices(input: &str) -> (String, Vec<String>) {
    let expanded = match (input.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(input),
    };
    let (dir, prefix) = if input.ends_with('/') {
        (expanded.clone(), String::new())
    } else {
        (
            expanded
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from(".")),
            expanded
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default(),
        )
    };
    let dir_for_read = if dir.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        dir.clone()
    };
    let Ok(entries) = std::fs::read_dir(&dir_for_read) else {
        return (input.to_string(), Vec::new());
    };
    let names: Vec<(String, bool)> = entries
        .flatten()
        .take(10_000)
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            (n.starts_with(&prefix) && (!n.starts_with('.') || prefix.starts_with('.')))
                .then(|| (n, e.path().is_dir()))
        })
        .collect();
    let Some((first, _)) = names.first() else {
        return (input.to_string(), Vec::new());
    };
    let head = &input[..input.len() - prefix.len()];
    let mut choices: Vec<String> = if names.len() > 1 {
        names
            .iter()
            .map(|(n, d)| format!("{head}{n}{}", if *d { "/" } else { "" }))
            .collect()
    } else {
        Vec::new()
    };
    choices.sort();
    choices.truncate(MAX_CHOICES);
    let mut common = first.clone();
    for (n, _) in &names[1..] {
        while !n.starts_with(&common) {
            common.pop();
        }
    }
    if common.len() <= prefix.len() && names.len() > 1 {
        return (input.to_string(), choices);
    }
    let slash = if names.len() == 1 && names[0].1 {
        "/"
    } else {
        ""
    };
    (format!("{head}{common}{slash}"), choices)
}

#[cfg(test)]
mod tests {
    #[test]
    fn paths_complete_to_what_the_names_share() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("report-2026.pdf"), b"x").unwrap();
        std::fs::write(dir.path().join("report-2025.pdf"), b"x").unwrap();
        std::fs::create_dir(dir.path().join("photos")).unwrap();
        std::fs::write(dir.path().join(".hidden"), b"x").unwrap();
        let d = dir.path().display().to_string();
        assert_eq!(
            complete_path(&format!("{d}/rep")),
            format!("{d}/report-202")
        );
        assert_eq!(complete_path(&format!("{d}/ph")), format!("{d}/photos/"));
        assert_eq!(complete_path(&format!("{d}/zz")), format!("{d}/zz"));
        assert_eq!(complete_path(&format!("{d}/.h")), format!("{d}/.hidden"));
        // Several: the choices, sorted, each a whole path.
        assert_eq!(
            super::path_choices(&format!("{d}/")).1,
            [
                format!("{d}/photos/"),
                format!("{d}/report-2025.pdf"),
                format!("{d}/report-2026.pdf")
            ]
        );
        assert!(
            super::path_choices(&format!("{d}/ph")).1.is_empty(),
            "one: none to choose"
        );
    }

    use super::{complete_path, opener};

    #[test]
    fn links_open_with_the_browser_or_the_system_opener_and_no_shell() {
        let (p, args) = opener("https://example.com/a?b=c;d", None).unwrap();
        assert_eq!(
            p,
            if cfg!(target_os = "macos") {
                "open"
            } else {
                "xdg-open"
            }
        );
        assert_eq!(args, ["https://example.com/a?b=c;d"]);
        let (p, args) = opener("http://x.example", Some("firefox --new-tab")).unwrap();
        assert_eq!(p, "firefox");
        assert_eq!(args, ["--new-tab", "http://x.example"]);
        assert!(opener("mailto:a@b.example", None).is_ok());
        // A hostile message cannot have tern open local files or run other schemes.
        assert!(opener("file:///etc/passwd", None).is_err());
        assert!(opener("javascript:alert(1)", None).is_err());
    }
}

#[cfg(test)]
mod save_tests {
    use super::save_attachment;

    const WITH_PDF: &[u8] = b"From: a@b.example\r\nSubject: s\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n\
--b\r\nContent-Type: application/pdf; name=\"../../report.pdf\"\r\n\
Content-Disposition: attachment; filename=\"../../report.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJcOkw7zDtsOf\r\n--b--\r\n";

    #[test]
    fn an_attachment_is_saved_decoded_under_a_safe_name_and_never_over_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("downloads");
        let first = save_attachment(WITH_PDF, 0, &target, false).unwrap();
        assert_eq!(
            first,
            target.join("report.pdf"),
            "the path in the name is dropped"
        );
        assert!(std::fs::read(&first).unwrap().starts_with(b"%PDF-1.4"));
        let second = save_attachment(WITH_PDF, 0, &target, false).unwrap();
        assert_eq!(second, target.join("report (1).pdf"));
        assert!(save_attachment(WITH_PDF, 5, &target, false).is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let private = dir.path().join("open");
            save_attachment(WITH_PDF, 0, &private, true).unwrap();
            let mode = std::fs::metadata(&private).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
    }
}

#[cfg(test)]
mod type_tests {
    #[test]
    fn a_hostile_content_type_is_not_taken() {
        let raw = b"From: a@b.example\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nx\r\n\
--b\r\nContent-Type: application/pdf$(id); name=\"r.pdf\"\r\n\
Content-Disposition: attachment; filename=\"r.pdf\"\r\n\r\n%PDF\r\n--b\r\n\
Content-Type: Image/PNG; name=\"p.png\"\r\nContent-Disposition: attachment\r\n\r\nx\r\n--b--\r\n";
        // Guessed from the name instead.
        assert_eq!(super::attachment_type(raw, 0), "application/pdf");
        assert_eq!(super::attachment_type(raw, 1), "image/png");
    }
}
