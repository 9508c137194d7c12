//! What benches/memory.rs and benches/engine_memory.rs share: the big messages they build and
//! a process's memory as /proc reports it.

pub const MB: usize = 1024 * 1024;

/// A figure of /proc/self/status (`VmRSS:`, `VmHWM:`), in MiB.
pub fn status_mib(key: &str) -> f64 {
    proc_status_mib("/proc/self/status", key)
}

/// A figure of a /proc/<pid>/status file, in MiB (NaN when it cannot be read).
pub fn proc_status_mib(path: &str, key: &str) -> f64 {
    let status = std::fs::read_to_string(path).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

/// Append the Content-Type and body of a big message of this `kind` (`normal`, `html-5mb`,
/// `line-5mb`, `html-50mb`, `text-50mb`, `attach-50mb`) to `raw`, which holds its other header
/// fields.
pub fn append_body(kind: &str, raw: &mut Vec<u8>) {
    match kind {
        "normal" => {
            raw.extend_from_slice(b"Content-Type: text/plain; charset=utf-8\r\n\r\n");
            for i in 0..50 {
                raw.extend_from_slice(
                    format!("Line {i} of an ordinary message, > not a quote, see https://example.com/{i}\r\n")
                        .as_bytes(),
                );
            }
        }
        "html-5mb" => {
            raw.extend_from_slice(
                b"Content-Type: text/html; charset=utf-8\r\n\r\n<html><body>\r\n",
            );
            let mut i = 0;
            while raw.len() < 5 * MB {
                raw.extend_from_slice(
                    format!("<p>Paragraph {i} with <b>bold</b> and a <a href=\"https://example.com/{i}\">link</a> in it.</p>\r\n<table><tr><td>cell</td><td>{i}</td></tr></table>\r\n")
                        .as_bytes(),
                );
                i += 1;
            }
            raw.extend_from_slice(b"</body></html>\r\n");
        }
        "line-5mb" => {
            raw.extend_from_slice(b"Content-Type: text/plain; charset=utf-8\r\n\r\n");
            let mut i = 0u64;
            while raw.len() < 5 * MB {
                raw.extend_from_slice(format!("word{} ", i % 1000).as_bytes());
                i += 1;
            }
            raw.extend_from_slice(b"\r\n");
        }
        "html-50mb" => {
            raw.extend_from_slice(
                b"Content-Type: text/html; charset=utf-8\r\n\r\n<html><body>\r\n",
            );
            let mut i = 0;
            while raw.len() < 50 * MB {
                raw.extend_from_slice(
                    format!("<p>Paragraph {i} with <b>bold</b> and <a href=\"https://example.com/{i}\">a link</a>.</p>\r\n")
                        .as_bytes(),
                );
                i += 1;
            }
            raw.extend_from_slice(b"</body></html>\r\n");
        }
        "text-50mb" => {
            raw.extend_from_slice(
                b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n",
            );
            // "A line of text, number ...\n" in base64, 76 characters a line.
            let line =
                b"QSBsaW5lIG9mIHRleHQgdGhhdCBnb2VzIG9uIGFuZCBvbiBhbmQgb24gYW5kIG9uIGFuZCBvbi4K\r\n";
            while raw.len() < 50 * MB {
                raw.extend_from_slice(line);
            }
        }
        "attach-50mb" => {
            raw.extend_from_slice(
                b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
Content-Type: text/plain; charset=utf-8\r\n\r\nSee the attached archive.\r\n\r\n--b\r\n\
Content-Type: application/octet-stream\r\n\
Content-Disposition: attachment; filename=big.bin\r\n\
Content-Transfer-Encoding: base64\r\n\r\n",
            );
            let line = b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2\r\n";
            while raw.len() < 50 * MB {
                raw.extend_from_slice(line);
            }
            raw.extend_from_slice(b"--b--\r\n");
        }
        other => panic!("unknown message {other}"),
    }
}
