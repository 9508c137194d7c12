//! Which program opens a file of a MIME type: `[openers]` in the config (exact type, then
//! `type/*`), then mailcap (`$MAILCAPS`, else ~/.mailcap and /etc/mailcap), then the system
//! opener (xdg-open, open). The command line is built here with the path quoted for `sh`.
//!
//! mailcap is read by a small parser here: no maintained Rust crate reads it (the `mailcap`
//! crate is unmaintained and pulls in more than the few lines needed), and only the type and
//! the view command of each entry are used.

use std::collections::BTreeMap;
use std::path::Path;

/// One mailcap entry: its type (`image/*` for a whole type) and view command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailcapEntry {
    pub mime: String,
    pub command: String,
}

/// The mailcap entries of `text`. Entries that need a terminal (tern's screen is in use),
/// that only print text (`copiousoutput`), or that run a `test` command are left out.
pub fn parse_mailcap(text: &str) -> Vec<MailcapEntry> {
    let mut out = Vec::new();
    let mut entry = String::new();
    for line in text.lines() {
        if entry.is_empty() && (line.trim_start().starts_with('#') || line.trim().is_empty()) {
            continue;
        }
        if let Some(head) = line.strip_suffix('\\') {
            entry.push_str(head);
            continue;
        }
        entry.push_str(line);
        let fields = split_fields(&std::mem::take(&mut entry));
        let [mime, command, flags @ ..] = fields.as_slice() else {
            continue;
        };
        let skip = flags.iter().any(|f| {
            let name = f
                .split('=')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            matches!(name.as_str(), "needsterminal" | "copiousoutput" | "test")
        });
        if skip || command.trim().is_empty() {
            continue;
        }
        let mime = mime.trim().to_ascii_lowercase();
        let mime = if mime.contains('/') {
            mime
        } else {
            format!("{mime}/*")
        };
        out.push(MailcapEntry {
            mime,
            command: command.trim().to_string(),
        });
    }
    out
}

/// Split on `;` not escaped with a backslash (`\;` stays, as a `;`).
fn split_fields(entry: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = entry.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(';') => fields.last_mut().unwrap().push(';'),
                Some(n) => {
                    let f = fields.last_mut().unwrap();
                    f.push('\\');
                    f.push(n);
                }
                None => {}
            },
            ';' => fields.push(String::new()),
            c => fields.last_mut().unwrap().push(c),
        }
    }
    fields
}

/// Whether `pattern` (`type/sub`, `type/*`) covers `mime`.
fn covers(pattern: &str, mime: &str) -> bool {
    pattern == mime
        || pattern
            .strip_suffix("/*")
            .is_some_and(|t| mime.split('/').next() == Some(t))
}

/// The command template for `mime`: the config's (exact, then `type/*`), then mailcap's (in
/// file order), then the system opener. Err: how to configure one.
pub fn choose(
    mime: &str,
    openers: &BTreeMap<String, String>,
    mailcap: &[MailcapEntry],
    system: Option<&str>,
) -> Result<String, String> {
    let mime = mime.to_ascii_lowercase();
    let configured = openers.get(&mime).or_else(|| {
        let whole = format!("{}/*", mime.split('/').next().unwrap_or(""));
        openers.get(&whole)
    });
    if let Some(c) = configured {
        return Ok(c.clone());
    }
    if let Some(e) = mailcap.iter().find(|e| covers(&e.mime, &mime)) {
        return Ok(e.command.clone());
    }
    system.map(str::to_string).ok_or_else(|| {
        format!("no opener for {mime}: add [openers] \"{mime}\" = \"...\" to the config")
    })
}

/// The shell line that runs `template` on `path`: each `%s` (with any quotes around it
/// dropped) becomes the path quoted for `sh`; without `%s` the quoted path is appended.
/// (mailcap's `%t` is filled in before, with a type checked to be plain.)
pub fn command_line(template: &str, path: &Path) -> Result<String, String> {
    let p = path.to_string_lossy();
    let quoted =
        shlex::try_quote(&p).map_err(|_| format!("cannot pass {} to a shell", p.escape_debug()))?;
    if template.contains("%s") {
        let t = template.replace("'%s'", "%s").replace("\"%s\"", "%s");
        Ok(t.replace("%s", &quoted))
    } else {
        Ok(format!("{template} {quoted}"))
    }
}

/// The system opener, when it is installed.
pub fn system_opener() -> Option<&'static str> {
    let name = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .any(|d| d.join(name).is_file())
        .then_some(name)
}

/// The mailcap entries of the user's files (`$MAILCAPS`, else ~/.mailcap and /etc/mailcap).
pub fn read_mailcaps() -> Vec<MailcapEntry> {
    let files: Vec<std::path::PathBuf> = match std::env::var_os("MAILCAPS") {
        Some(v) => std::env::split_paths(&v).collect(),
        None => {
            let mut f = Vec::new();
            if let Some(home) = std::env::var_os("HOME") {
                f.push(Path::new(&home).join(".mailcap"));
            }
            f.push("/etc/mailcap".into());
            f
        }
    };
    files
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .flat_map(|t| parse_mailcap(&t))
        .collect()
}

/// Run a shell line with no terminal (its output discarded so it cannot draw over the
/// screen) and wait for it.
pub fn run_and_wait(line: &str) -> Result<(), String> {
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(line)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map_err(|e| format!("sh: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{line}` ended with {status}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn openers() -> BTreeMap<String, String> {
        [("application/pdf", "zathura %s"), ("image/*", "imv")]
            .into_iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn the_config_then_mailcap_then_the_system_opener() {
        let mailcap = parse_mailcap(
            "# comment\n\
             application/pdf; evince '%s'\n\
             text/html; lynx -dump %s; copiousoutput\n\
             video/*; mpv %s; test=test -n \"$DISPLAY\"\n\
             audio; mpv \\\n  --no-video %s\n\
             text/plain; less %s; needsterminal\n",
        );
        assert_eq!(
            mailcap,
            vec![
                MailcapEntry {
                    mime: "application/pdf".into(),
                    command: "evince '%s'".into()
                },
                MailcapEntry {
                    mime: "audio/*".into(),
                    command: "mpv   --no-video %s".into()
                },
            ]
        );
        let o = openers();
        assert_eq!(
            choose("application/PDF", &o, &mailcap, None).unwrap(),
            "zathura %s"
        );
        assert_eq!(choose("image/png", &o, &mailcap, None).unwrap(), "imv");
        assert_eq!(
            choose("audio/ogg", &o, &mailcap, Some("xdg-open")).unwrap(),
            "mpv   --no-video %s"
        );
        let empty = BTreeMap::new();
        assert_eq!(
            choose("application/pdf", &empty, &mailcap, None).unwrap(),
            "evince '%s'"
        );
        assert_eq!(
            choose("text/html", &empty, &mailcap, Some("xdg-open")).unwrap(),
            "xdg-open"
        );
        assert_eq!(
            choose("application/zip", &empty, &[], None).unwrap_err(),
            "no opener for application/zip: add [openers] \"application/zip\" = \"...\" to the config"
        );
    }

    #[test]
    fn the_path_is_quoted_whatever_its_name() {
        let p = Path::new("/tmp/o/report.pdf");
        assert_eq!(
            command_line("zathura %s", p).unwrap(),
            "zathura /tmp/o/report.pdf"
        );
        assert_eq!(command_line("imv", p).unwrap(), "imv /tmp/o/report.pdf");
        assert_eq!(
            command_line("evince '%s'", p).unwrap(),
            "evince /tmp/o/report.pdf"
        );
        let hostile = Path::new("/tmp/o/a'; rm -rf ~; echo '$(id)`x` b.pdf");
        let line = command_line("open-it %s --x", hostile).unwrap();
        // The shell reads the name back as one word, exactly.
        let words = shlex::split(&line).unwrap();
        assert_eq!(words, ["open-it", hostile.to_str().unwrap(), "--x"]);
        let line = command_line("v '%s'", hostile).unwrap();
        assert_eq!(
            shlex::split(&line).unwrap(),
            ["v", hostile.to_str().unwrap()]
        );
    }
}
