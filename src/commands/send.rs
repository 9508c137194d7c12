//! `tern send` and `tern send --flush`: a message from stdin through the outbox to SMTP,
//! and its Sent copy filed.

use super::*;

/// Options of `tern send`.
#[derive(Debug, Clone, Default)]
pub struct SendOpts {
    pub account: Option<String>,
    pub attach: Vec<std::path::PathBuf>,
    pub queue_only: bool,
    pub json: bool,
}

/// Exit codes of `tern send`: sent (0), failed (1), queued for a retry (75, EX_TEMPFAIL).
pub const EXIT_TEMPFAIL: i32 = 75;

/// The header block of `raw` with every `name:` field (and its folded lines) left out.
pub(super) fn without_header(raw: &[u8], name: &str) -> Vec<u8> {
    let text = String::from_utf8_lossy(raw).replace("\r\n", "\n");
    let (head, body) = match text.find("\n\n") {
        Some(i) => (&text[..i + 1], &text[i + 1..]),
        None => (text.as_str(), ""),
    };
    let mut out = String::new();
    let mut skipping = false;
    for line in head.split_inclusive('\n') {
        let folded = line.starts_with(' ') || line.starts_with('\t');
        if !folded {
            skipping = line
                .split_once(':')
                .is_some_and(|(n, _)| n.trim().eq_ignore_ascii_case(name));
        }
        if !skipping {
            out.push_str(line);
        }
    }
    out.push_str(body);
    out.replace('\n', "\r\n").into_bytes()
}

/// The addresses of a header field; an entry that is not an address an SMTP server can take
/// (`al`, `<<<@@@>>>`) is an error naming it, never dropped or queued.
pub(super) fn addresses(
    a: &mail_parser::HeaderValue<'_>,
) -> Result<Vec<crate::domain::Address>, String> {
    let Some(list) = a.as_address() else {
        return match a.as_text() {
            Some(t) if !t.trim().is_empty() => {
                Err(format!("not an address: {}", sanitize::line(t)))
            }
            _ => Ok(Vec::new()),
        };
    };
    let mut out = Vec::new();
    for x in list.iter() {
        match x.address() {
            Some(e) if crate::send::is_address(e) => out.push(crate::domain::Address {
                name: x.name().map(str::to_string),
                email: e.to_string(),
            }),
            other => {
                let what = other.or(x.name()).unwrap_or("");
                return Err(format!("not an address: {}", sanitize::line(what)));
            }
        }
    }
    Ok(out)
}

/// What `tern send` read on stdin, made ready for the outbox: a whole MIME message goes as it
/// is (without its Bcc field, with a Date and Message-ID if missing); headers and a plain
/// body are built into a message (with `attach` as attachments).
// Long: two ways in (a whole MIME message, or header fields and a plain body), each a
// short list of checks.
pub fn message_from_input(
    input: &[u8],
    from_default: &crate::domain::Address,
    attach: &[crate::domain::compose::Attachment],
    now: i64,
    unique: &str,
) -> Result<crate::domain::compose::Built, String> {
    use crate::domain::compose::{self, Draft};
    let parsed = mail_parser::MessageParser::default()
        .parse_headers(input)
        .ok_or("the message on stdin has no header fields")?;
    let get = |h: mail_parser::HeaderName<'static>| {
        Ok::<_, String>(
            parsed
                .header(h)
                .map(addresses)
                .transpose()?
                .unwrap_or_default(),
        )
    };
    use mail_parser::HeaderName as H;
    let (to, cc, bcc) = (get(H::To)?, get(H::Cc)?, get(H::Bcc)?);
    if to.is_empty() && cc.is_empty() && bcc.is_empty() {
        return Err("no recipients: give To, Cc or Bcc".into());
    }
    let from = get(H::From)?
        .into_iter()
        .next()
        .unwrap_or_else(|| from_default.clone());
    let mime = parsed.header(H::MimeVersion).is_some() || parsed.header(H::ContentType).is_some();
    if mime {
        if !attach.is_empty() {
            return Err("--attach goes with headers and a plain body, not a MIME message".into());
        }
        let mut raw = without_header(input, "Bcc");
        let mut extra = String::new();
        let message_id = match parsed.message_id() {
            Some(id) => id.to_string(),
            None => {
                let id = compose::message_id_for(&from.email, unique);
                extra += &format!("Message-ID: <{id}>\r\n");
                id
            }
        };
        if parsed.date().is_none() {
            let d = chrono::DateTime::from_timestamp(now, 0).unwrap_or_default();
            extra += &format!("Date: {}\r\n", d.to_rfc2822());
        }
        if parsed.header(H::From).is_none() {
            extra += &format!("From: {}\r\n", from.email);
        }
        let mut full = extra.into_bytes();
        full.append(&mut raw);
        let d = Draft {
            from: from.clone(),
            to,
            cc,
            bcc,
            ..Draft::default()
        };
        return Ok(compose::Built {
            raw: full,
            mail_from: from.email,
            rcpt: compose::envelope_recipients(&d),
            message_id,
        });
    }
    let text = String::from_utf8_lossy(input).replace("\r\n", "\n");
    let body = text.find("\n\n").map_or("", |i| &text[i + 2..]).to_string();
    let draft = Draft {
        from,
        to,
        cc,
        bcc,
        subject: parsed.subject().unwrap_or_default().to_string(),
        body,
        in_reply_to: parsed.in_reply_to().as_text().map(str::to_string),
        references: parsed
            .references()
            .as_text_list()
            .map(|l| l.iter().map(|s| s.to_string()).collect())
            .unwrap_or_default(),
        attachments: attach.to_vec(),
    };
    Ok(compose::build(&draft, now, unique))
}

/// `tern send`: queue the message on stdin, send it, file the Sent copy. Returns the exit code.
// Long: the steps of `tern send` in order (read, pick the account, queue, send, file the
// Sent copy), each ending with its own exit code and message.
pub async fn send(cfg: &Config, store: StoreHandle, input: &[u8], opts: &SendOpts) -> i32 {
    use crate::store::OutState;
    let fail = |e: String| {
        eprintln!("tern: {e}");
        1
    };
    let mut attach = Vec::new();
    for p in &opts.attach {
        match std::fs::read(p) {
            Ok(data) => attach.push(crate::domain::compose::Attachment {
                name: p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "attachment".into()),
                content_type: String::new(),
                data,
            }),
            Err(e) => return fail(format!("{}: {e}", p.display())),
        }
    }
    let now = chrono::Utc::now().timestamp();
    // The account: asked for, else the one the From address belongs to, else the first.
    let from_header = mail_parser::MessageParser::default()
        .parse_headers(input)
        .and_then(|m| {
            m.from()
                .and_then(|f| f.first())
                .and_then(|a| a.address().map(str::to_string))
        });
    let account = match &opts.account {
        Some(name) => cfg.accounts.iter().find(|a| &a.name == name),
        None => from_header
            .as_deref()
            .and_then(|f| {
                cfg.accounts.iter().find(|a| {
                    a.email.eq_ignore_ascii_case(f)
                        || a.aliases.iter().any(|x| x.eq_ignore_ascii_case(f))
                })
            })
            .or(cfg.accounts.first()),
    };
    let Some(account) = account else {
        return fail(match &opts.account {
            Some(n) => format!("no account `{n}` in the config"),
            None => "no account in the config".into(),
        });
    };
    if account.smtp.is_none() {
        return fail(format!(
            "account {} has no [account.smtp]: it cannot send",
            account.name
        ));
    }
    let me = crate::domain::Address {
        name: account.display_name.clone(),
        email: account.email.clone(),
    };
    let built = match message_from_input(input, &me, &attach, now, &crate::send::unique_token()) {
        Ok(b) => b,
        Err(e) => return fail(e),
    };
    let acc = match crate::send::account_id(&store, account).await {
        Ok(id) => id,
        Err(e) => return fail(e),
    };
    let (from, rcpt, raw) = (
        built.mail_from.clone(),
        built.rcpt.clone(),
        built.raw.clone(),
    );
    let id = match store
        .call(move |s| s.enqueue(acc, &from, &rcpt, &raw))
        .await
    {
        Ok(id) => id,
        Err(e) => return fail(format!("the outbox: {e}")),
    };
    let print = |state: &str, reply: &str, extra: serde_json::Value| {
        if opts.json {
            let mut v = serde_json::json!({
                "id": id,
                "state": state,
                "message_id": built.message_id,
                "reply": reply,
            });
            if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
                o.extend(e.clone());
            }
            println!("{}", sanitize::json(v));
        }
    };
    if opts.queue_only {
        print("queued", "", serde_json::json!({}));
        if !opts.json {
            println!("queued #{id}: the running tern sends it");
        }
        return 0;
    }
    let password = match crate::send::smtp_password(account).await {
        Ok(p) => p,
        Err(e) => {
            let _ = store
                .call(move |s| s.outbox_set(id, OutState::Failed, Some(&e), None))
                .await;
            return fail(format!(
                "the SMTP password: the message stays in the outbox (#{id})"
            ));
        }
    };
    let report = match crate::send::send_one(account, password.as_ref(), &store, id).await {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    for r in &report.refused {
        eprintln!("tern: refused {}: {}", r.rcpt, r.reply);
    }
    let mut warning = None;
    if report.state == OutState::Sent && account.save_sent && account.imap.is_some() {
        let copied = file_sent_copies(account, &store, acc, &[(id, report.sent_copy)]).await;
        if let Err(e) = copied {
            warning = Some(format!(
                "the Sent copy stays queued (it is stored with the next sync): {e}"
            ));
        }
    }
    if report.to_drafts
        && account.imap.is_some()
        && let Err(e) = file_sent_copies(account, &store, acc, &[]).await
    {
        warning = Some(format!("the draft stays queued for the Drafts folder: {e}"));
    }
    if let Some(w) = &warning {
        eprintln!("warning: {w}");
    }
    let extra = serde_json::json!({
        "refused": crate::send::refused_json(&report.refused),
        "retry_at": report.retry_at,
        "warning": warning,
    });
    print(report.state.as_str(), &report.reply, extra);
    match report.state {
        OutState::Sent => {
            if !opts.json {
                println!("sent #{id}: {}", report.reply);
            }
            0
        }
        OutState::Queued => {
            if !opts.json {
                let when = report
                    .retry_at
                    // Now, not when the command started: the attempt took its time.
                    .map(|t| crate::send::until(t, chrono::Utc::now().timestamp()))
                    .unwrap_or_default();
                eprintln!("tern: queued #{id}, retry in {when}: {}", report.reply);
            }
            EXIT_TEMPFAIL
        }
        state => {
            if !opts.json {
                eprintln!("tern: {} #{id}: {}", state.as_str(), report.reply);
            }
            1
        }
    }
}

/// Store the Sent copies of sent outbox messages ((id, whether its copy is queued already)):
/// a copy the cache could not queue (it did not know the Sent folder) is queued after asking
/// the server for its folders; then the queue is replayed.
pub(super) async fn file_sent_copies(
    account: &AccountConfig,
    store: &StoreHandle,
    acc: crate::domain::AccountId,
    sent: &[(i64, bool)],
) -> Result<(), crate::sync::SyncError> {
    let mut imap = pass::connect(account).await?;
    let result = async {
        let mut listed = false;
        for &(id, queued) in sent {
            if queued {
                continue;
            }
            if !listed {
                pass::list_into_cache(&mut imap, account, store, acc).await?;
                listed = true;
            }
            let ok = store
                .call(move |s| {
                    let Some(row) = s.outbox_get(id)? else {
                        return Ok(false);
                    };
                    let meta = crate::domain::message::parse(&row.raw).meta;
                    s.queue_sent_copy(acc, &row.raw, &meta)
                })
                .await?;
            if !ok {
                return Err(crate::sync::SyncError::new(
                    crate::sync::ErrorKind::Protocol,
                    "the server has no Sent folder (set [account.folders] sent = \"...\")",
                ));
            }
        }
        crate::sync::replay::replay(&mut imap, store, acc, true).await
    }
    .await;
    imap.logout().await;
    result.map(|_| ())
}

/// `tern send --flush`: send every queued message now (retry delays aside). Returns the exit
/// code: 0 when nothing is left queued.
pub async fn flush(cfg: &Config, store: StoreHandle, account: Option<&str>) -> i32 {
    flush_counted(cfg, store, account).await.0
}

/// [`flush`], also saying how many messages it tried to send (`tern outbox --flush` says so
/// when there were none).
// Long: per account, its password once, each message's outcome printed, then the Sent
// copies filed.
pub async fn flush_counted(
    cfg: &Config,
    store: StoreHandle,
    account: Option<&str>,
) -> (i32, usize) {
    use crate::store::OutState;
    let accounts = match pick(cfg, account) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("tern: {e}");
            return (1, 0);
        }
    };
    let mut code = 0;
    let mut tried = 0;
    for a in accounts {
        let Ok(acc) = crate::send::account_id(&store, a).await else {
            continue;
        };
        let due = store
            .call(move |s| s.outbox_due(Some(acc), None))
            .await
            .unwrap_or_default();
        if due.is_empty() {
            continue;
        }
        tried += due.len();
        let password = match crate::send::smtp_password(a).await {
            Ok(p) => p,
            Err(e) => {
                eprintln!("tern: {}: the SMTP password: {e}", a.name);
                code = 1;
                continue;
            }
        };
        let mut sent = Vec::new();
        for row in due {
            match crate::send::send_one(a, password.as_ref(), &store, row.id).await {
                Ok(r) => {
                    if r.state == OutState::Sent {
                        sent.push((r.id, r.sent_copy));
                    }
                    println!("{} #{}: {}", r.state.as_str(), r.id, r.reply);
                    if r.state != OutState::Sent {
                        code = if r.state == OutState::Queued {
                            EXIT_TEMPFAIL
                        } else {
                            1
                        };
                    }
                }
                Err(e) => {
                    eprintln!("tern: #{}: {e}", row.id);
                    code = 1;
                }
            }
        }
        if !sent.is_empty()
            && a.save_sent
            && a.imap.is_some()
            && let Err(e) = file_sent_copies(a, &store, acc, &sent).await
        {
            eprintln!(
                "warning: the Sent copies stay queued (they are stored with the next sync): {e}"
            );
        }
    }
    (code, tried)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_mime_message_goes_as_it_is_without_bcc() {
        let me = crate::domain::Address {
            name: None,
            email: "me@example.test".into(),
        };
        let input = b"From: me@example.test\nTo: a@example.test\nBcc: hidden@example.test,\n  \
                      other@example.test\nSubject: x\nMIME-Version: 1.0\nContent-Type: text/plain\n\nbody\nBcc: not a header\n";
        let b = message_from_input(input, &me, &[], 1_795_543_200, "tok").unwrap();
        let text = String::from_utf8(b.raw.clone()).unwrap();
        assert!(
            !text.contains("hidden@") && !text.contains("other@"),
            "{text}"
        );
        assert!(
            text.contains("Message-ID: <tok@example.test>\r\n"),
            "{text}"
        );
        assert!(text.contains("Date: "), "{text}");
        assert!(
            text.ends_with("\r\n\r\nbody\r\nBcc: not a header\r\n"),
            "the body is untouched: {text}"
        );
        assert_eq!(
            b.rcpt,
            [
                "a@example.test",
                "hidden@example.test",
                "other@example.test"
            ]
        );
        // Headers and a plain body are built into a message.
        let b = message_from_input(
            b"To: a@example.test\nSubject: hi\n\nplain body\n",
            &me,
            &[],
            1_795_543_200,
            "t2",
        )
        .unwrap();
        let m = mail_parser::MessageParser::default().parse(&b.raw).unwrap();
        assert_eq!(
            m.from().unwrap().first().unwrap().address(),
            Some("me@example.test")
        );
        assert_eq!(m.body_text(0).as_deref(), Some("plain body\r\n"));
        assert!(message_from_input(b"Subject: nobody\n\nx\n", &me, &[], 0, "t").is_err());
    }
}
