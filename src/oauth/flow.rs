//! The consent flows `tern setup` runs once per account (and again with `--reauth`):
//! - [`authorize`]: authorization code with PKCE (S256) and a loopback redirect. The address
//!   to open is said (and opened in a browser when there is a display); the provider sends
//!   the browser back to a one-request HTTP server on 127.0.0.1, whose `state` must match.
//! - [`device`]: the device code (RFC 8628), for a machine without a browser: a code to type
//!   on any other device, while tern polls the provider.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use oauth2::{
    AuthorizationCode, CsrfToken, DeviceAuthorizationUrl, PkceCodeChallenge, RedirectUrl, Scope,
    StandardDeviceAuthorizationResponse,
};

use super::tokens::Tokens;
use super::{Failure, client, http_client, token_error};
use crate::config::OAuth2Config;
use crate::domain::sanitize;

/// How long the user has to consent.
pub const CONSENT_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// Whether a browser can be opened here: a graphical session (or a system that always has
/// one). On a headless machine the address is only printed.
fn can_open_browser() -> bool {
    cfg!(any(target_os = "macos", target_os = "windows"))
        || std::env::var_os("DISPLAY").is_some()
        || std::env::var_os("WAYLAND_DISPLAY").is_some()
}

/// Authorization code with PKCE: say the address to open, wait for the redirect, trade the
/// code for tokens.
pub async fn authorize(
    cfg: &OAuth2Config,
    open_browser: bool,
    say: &mut (dyn FnMut(String) + Send),
) -> Result<Tokens, Failure> {
    let fail = |e: &dyn std::fmt::Display| Failure::Temporary(e.to_string());
    let server = tiny_http::Server::http("127.0.0.1:0")
        .map_err(|e| fail(&format!("cannot listen on 127.0.0.1 for the redirect: {e}")))?;
    let port = server
        .server_addr()
        .to_ip()
        .map(|a| a.port())
        .ok_or_else(|| fail(&"no loopback port"))?;
    // Microsoft's portal registers loopback redirects as http://localhost (any port); the
    // others take the address itself (RFC 8252 prefers it).
    let name = match cfg.provider.as_deref() {
        Some("microsoft") => "localhost",
        _ => "127.0.0.1",
    };
    let redirect = format!("http://{name}:{port}/");
    let client = client(cfg)?.set_redirect_uri(RedirectUrl::new(redirect).map_err(|e| fail(&e))?);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(CsrfToken::new_random)
        .add_scopes(cfg.scopes.iter().map(|s| Scope::new(s.clone())))
        .set_pkce_challenge(challenge)
        .add_extra_param("login_hint", cfg.email.clone());
    if cfg.provider.as_deref() == Some("google") {
        // Google gives a refresh token only when asked for offline access.
        request = request
            .add_extra_param("access_type", "offline")
            .add_extra_param("prompt", "consent");
    }
    let (url, state) = request.url();
    say(format!(
        "Open this address in a browser and allow tern to use your mail:\n  {url}"
    ));
    if open_browser && can_open_browser() && webbrowser::open(url.as_str()).is_ok() {
        say("(a browser was opened for you)".into());
    } else if !can_open_browser() {
        // The provider sends the browser back to this machine: a browser elsewhere cannot
        // finish it (short of forwarding the port over ssh).
        say(format!(
            "(no display here: the browser must run on this machine, e.g. through `ssh -L \
             {port}:127.0.0.1:{port}`; or sign in with a code on any device: `tern setup \
             --device`, where the provider has it)"
        ));
    }
    say(format!(
        "waiting for the browser to come back to {name}:{port} (up to {} minutes)...",
        CONSENT_TIMEOUT.as_secs() / 60
    ));
    let expected = state.secret().clone();
    // The wait stops soon after this future is dropped (the user left the setup screen), so
    // no thread holds the port, or tern's exit, for the rest of the five minutes.
    let stop = Arc::new(AtomicBool::new(false));
    let _stop_on_drop = StopOnDrop(Arc::clone(&stop));
    let code = tokio::task::spawn_blocking(move || wait_for_code(&server, &expected, &stop))
        .await
        .map_err(|e| fail(&e))??;
    let http = http_client(cfg)?;
    let answer = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .map_err(|e| token_error(cfg, e))?;
    Ok(Tokens::from_response(&answer, None))
}

/// Sets its flag when dropped.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Answer requests on the loopback server until the redirect with our `state` comes (other
/// requests, such as a browser's favicon, get a 404), the time is up, or `stop` is set.
fn wait_for_code(
    server: &tiny_http::Server,
    state: &str,
    stop: &AtomicBool,
) -> Result<String, Failure> {
    let deadline = Instant::now() + CONSENT_TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if stop.load(Ordering::SeqCst) {
            return Err(Failure::Temporary("the sign-in was abandoned".into()));
        }
        if left.is_zero() {
            return Err(Failure::Temporary(format!(
                "no consent within {} minutes; run setup again",
                CONSENT_TIMEOUT.as_secs() / 60
            )));
        }
        let request = match server.recv_timeout(left.min(Duration::from_millis(200))) {
            Ok(Some(r)) => r,
            Ok(None) => continue,
            Err(e) => return Err(Failure::Temporary(e.to_string())),
        };
        let query = request.url().split_once('?').map(|(_, q)| q.to_string());
        let params: Vec<(String, String)> = query
            .map(|q| {
                oauth2::url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default();
        let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        if get("state").as_deref() != Some(state) {
            let _ = request.respond(tiny_http::Response::empty(404));
            continue;
        }
        let page = |text: &str| {
            let html = format!(
                "<!doctype html><title>tern</title><p>{text}</p><p>You can close this tab.</p>"
            );
            let header = tiny_http::Header::from_bytes(
                &b"Content-Type"[..],
                &b"text/html; charset=utf-8"[..],
            )
            .expect("a valid header");
            tiny_http::Response::from_string(html).with_header(header)
        };
        if let Some(code) = get("code") {
            let _ = request.respond(page("tern is signed in."));
            return Ok(code);
        }
        let error = get("error").unwrap_or_else(|| "no code".into());
        let words = get("error_description").unwrap_or_default();
        let _ = request.respond(page("tern was not allowed in."));
        return Err(Failure::Reauth(format!(
            "the provider did not give consent: {}{}",
            sanitize::line(&error),
            if words.is_empty() {
                String::new()
            } else {
                format!(" ({})", sanitize::line(&words))
            }
        )));
    }
}

/// The device code flow: say where to go and which code to type, then poll the provider
/// until the user has consented (or the code expires).
pub async fn device(
    cfg: &OAuth2Config,
    say: &mut (dyn FnMut(String) + Send),
) -> Result<Tokens, Failure> {
    let Some(device_url) = &cfg.device_url else {
        return Err(Failure::Reauth(format!(
            "{} has no device-code sign-in; use the browser sign-in (without --device)",
            cfg.provider.as_deref().unwrap_or("this provider")
        )));
    };
    let url = DeviceAuthorizationUrl::new(device_url.clone())
        .map_err(|e| Failure::Reauth(format!("device_url is not a URL: {e}")))?;
    let client = client(cfg)?.set_device_authorization_url(url);
    let http = http_client(cfg)?;
    let details: StandardDeviceAuthorizationResponse = client
        .exchange_device_code()
        .add_scopes(cfg.scopes.iter().map(|s| Scope::new(s.clone())))
        .request_async(&http)
        .await
        .map_err(|e| token_error(cfg, e))?;
    say(format!(
        "On any device, open {} and enter the code {}",
        sanitize::line(details.verification_uri().as_str()),
        sanitize::line(details.user_code().secret())
    ));
    say("waiting for the sign-in...".into());
    let answer = client
        .exchange_device_access_token(&details)
        .request_async(&http, tokio::time::sleep, Some(CONSENT_TIMEOUT))
        .await
        .map_err(|e| match e {
            oauth2::RequestTokenError::ServerResponse(r) => {
                Failure::Reauth(format!("the sign-in did not finish: {}", r.error()))
            }
            oauth2::RequestTokenError::Request(e) => Failure::Temporary(e.to_string()),
            other => Failure::Temporary(other.to_string()),
        })?;
    Ok(Tokens::from_response(&answer, None))
}
