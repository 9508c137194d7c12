//! The first start's setup, in a task: `crate::setup::run` (discovery, the live check, the
//! account written: the same code as `tern setup`), each line it says sent to the app as it
//! comes, then how it ended.

use std::time::Duration;

use tokio::sync::mpsc;

use super::Effects;
use crate::app::firststart::{SetupCmd, SetupMsg, SignIn};
use crate::app::msg::Msg;

pub(super) fn run(fx: &Effects, cmd: SetupCmd) {
    match cmd {
        SetupCmd::OpenAfter { ms } => fx.answer(async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Msg::Setup(SetupMsg::Open)
        }),
        SetupCmd::Run {
            email,
            display_name,
            sign_in,
        } => {
            let Some(start) = fx.setup.clone() else {
                fx.answer(std::future::ready(Msg::Setup(SetupMsg::Done(Err(
                    "there is a config already".into(),
                )))));
                return;
            };
            let mut req = crate::setup::Request {
                email,
                display_name,
                ..start.base.clone()
            };
            match sign_in {
                SignIn::Password(p) => req.password = Some(p),
                SignIn::Command(c) => req.password_command = c,
                SignIn::OAuth2 { client_id } => {
                    req.oauth2.enabled = true;
                    req.oauth2.client_id = Some(client_id);
                }
            }
            let tx = fx.tx.clone();
            tokio::spawn(async move {
                // The lines go through a queue of their own (`say` cannot wait), in order,
                // and all of them before the end.
                let (lines_tx, mut lines_rx) = mpsc::unbounded_channel::<String>();
                let app = tx.clone();
                let forward = tokio::spawn(async move {
                    while let Some(line) = lines_rx.recv().await {
                        let _ = app.send(Msg::Setup(SetupMsg::Said(line))).await;
                    }
                });
                let mut say = |line| {
                    let _ = lines_tx.send(line);
                };
                // The app quit (esc): the setup stops where it is. It writes the config in one
                // step with no wait inside, so the file is either whole or not there.
                let done = tokio::select! {
                    done = crate::setup::run(&start.config, &req, &mut say) => done,
                    () = tx.closed() => return,
                };
                drop(lines_tx);
                let _ = forward.await;
                let _ = tx.send(Msg::Setup(SetupMsg::Done(done))).await;
            });
        }
    }
}
