//! New mail announced: which of the arrived messages are news, the hook, and the desktop or
//! terminal notification (the terminal's is written by the run loop, between frames).

use super::Effects;
use crate::app::msg::Msg;
use crate::config::{AccountConfig, NotifyConfig};
use crate::domain::MsgId;
use crate::notify::{self, Channel, Terminal};

/// What announcing needs, fixed at start.
pub struct Notify {
    accounts: Vec<AccountConfig>,
    config: NotifyConfig,
    channel: Channel,
}

impl Notify {
    pub fn new(accounts: Vec<AccountConfig>, config: NotifyConfig) -> Notify {
        let terminal = Terminal::detect(|k| std::env::var(k).ok());
        let channel = notify::channel(config.method, notify::session_bus(), terminal);
        Notify {
            accounts,
            config,
            channel,
        }
    }
}

/// Find the news among `msgs`, run the hook (in its own task) and notify.
pub async fn announce(fx: Effects, msgs: Vec<MsgId>) -> Option<Msg> {
    let how = fx.notify.clone()?;
    let mail = match fx.store.call(move |s| s.new_mail(&msgs)).await {
        Ok(m) => notify::worth_telling(&how.accounts, m),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the new mail");
            return None;
        }
    };
    let (title, body) = notify::summary(&mail)?;
    if let Some(command) = how.config.command.clone() {
        let mail = mail.clone();
        tokio::spawn(async move { notify::run_command(&command, &mail).await });
    }
    let ring = match how.channel {
        Channel::Desktop => {
            notify::desktop(&title, &body).await;
            None
        }
        Channel::Terminal(t) => Some(t.sequence(&title, &body)),
        Channel::Nothing => None,
    };
    let mail = mail
        .into_iter()
        .map(|mut m| {
            m.from = notify::clean(&m.from);
            m.subject = notify::clean(&m.subject);
            m
        })
        .collect();
    Some(Msg::NewMail { mail, ring })
}
