//! OAuth2 access tokens for IMAP and SMTP.
//!
//! [`access_token`] is what the engines call before logging in: the stored token while it is
//! good for another minute, else one refreshed with the refresh token (and stored again), or
//! the output of `token_command` for an external broker. A refresh the provider refuses
//! (`invalid_grant`: the consent was revoked or has expired) is [`Failure::Reauth`], which the
//! engines report once as an authentication failure and do not retry. [`flow`] has the
//! consent flows `tern setup` runs (authorization code with PKCE and a loopback redirect, and
//! the device code); [`tokens`] keeps the tokens. The HTTP requests go through the `oauth2`
//! crate over our reqwest client (verified TLS, no redirects followed).

pub mod flow;
pub mod tokens;

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{
    AuthUrl, ClientId, ClientSecret, HttpRequest, HttpResponse, RefreshToken, RequestTokenError,
    StandardErrorResponse, TokenUrl,
};

use crate::config::{OAuth2Config, Secret};
use tokens::Tokens;

/// How long before its expiry a token is refreshed.
const REFRESH_MARGIN: Duration = Duration::from_secs(60);
/// Each request to the provider.
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Why there is no token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// Only a new consent helps: there is no token, or the provider refused the refresh.
    #[error("{0}")]
    Reauth(String),
    /// The provider could not be reached or answered strangely: try again later.
    #[error("{0}")]
    Temporary(String),
}

/// The error that tells the user to consent again.
fn reauth(cfg: &OAuth2Config, why: &str) -> Failure {
    Failure::Reauth(format!(
        "{why}: run `tern setup --reauth {}` to sign in again",
        cfg.account
    ))
}

/// One refresh at a time per account (the IMAP engine and the outbox may both want one).
fn account_lock(account: &str) -> Arc<tokio::sync::Mutex<()>> {
    static LOCKS: LazyLock<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>> =
        LazyLock::new(Default::default);
    let mut locks = LOCKS.lock().unwrap_or_else(|e| e.into_inner());
    Arc::clone(locks.entry(account.to_string()).or_default())
}

/// A token to log in with. `force`: the server refused the last one, so refresh even if it
/// looks good still (it may have been revoked, or the clocks differ).
pub async fn access_token(cfg: &OAuth2Config, force: bool) -> Result<Secret, Failure> {
    if let Some(command) = &cfg.token_command {
        let source = crate::config::PasswordSource::Command(command.clone());
        return tokio::task::spawn_blocking(move || source.resolve())
            .await
            .map_err(|e| Failure::Temporary(e.to_string()))?
            .map_err(|e| {
                Failure::Temporary(e.to_string().replace("password_command", "token_command"))
            })?
            .ok_or_else(|| Failure::Temporary("token_command printed nothing".into()));
    }
    let lock = account_lock(&cfg.account);
    let _one = lock.lock().await;
    let stored = tokens::load(cfg).await?;
    let Some(stored) = stored else {
        return Err(reauth(
            cfg,
            &format!("no OAuth2 token for account `{}`", cfg.account),
        ));
    };
    if !force && stored.good_for(REFRESH_MARGIN) {
        return Ok(stored.access);
    }
    let Some(refresh) = stored.refresh.clone() else {
        return Err(reauth(
            cfg,
            "the OAuth2 token has expired and there is no refresh token",
        ));
    };
    let fresh = refresh_tokens(cfg, &refresh).await?;
    tokens::save(cfg, &fresh).await?;
    tracing::info!(account = %cfg.account, "OAuth2 token refreshed");
    Ok(fresh.access)
}

/// Trade the refresh token for a new access token.
async fn refresh_tokens(cfg: &OAuth2Config, refresh: &Secret) -> Result<Tokens, Failure> {
    let client = client(cfg)?;
    let http = http_client(cfg)?;
    let refresh_token = RefreshToken::new(refresh.expose().to_string());
    let answer = client
        .exchange_refresh_token(&refresh_token)
        .request_async(&http)
        .await;
    match answer {
        Ok(t) => Ok(Tokens::from_response(&t, Some(refresh))),
        Err(e) => Err(token_error(cfg, e)),
    }
}

/// The client for the token endpoint.
pub(crate) fn client(
    cfg: &OAuth2Config,
) -> Result<
    BasicClient<
        oauth2::EndpointSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointSet,
    >,
    Failure,
> {
    let bad = |what: &str, e: &dyn std::fmt::Display| {
        Failure::Reauth(format!("the OAuth2 {what} URL is not a URL: {e}"))
    };
    let mut client = BasicClient::new(ClientId::new(cfg.client_id.clone()))
        .set_auth_uri(AuthUrl::new(cfg.auth_url.clone()).map_err(|e| bad("authorization", &e))?)
        .set_token_uri(TokenUrl::new(cfg.token_url.clone()).map_err(|e| bad("token", &e))?);
    if let Some(secret) = &cfg.client_secret {
        client = client.set_client_secret(ClientSecret::new(secret.expose().to_string()));
    }
    Ok(client)
}

/// What a failed token request means for the user.
pub(crate) fn token_error<RE: std::error::Error + 'static>(
    cfg: &OAuth2Config,
    e: RequestTokenError<RE, StandardErrorResponse<BasicErrorResponseType>>,
) -> Failure {
    let host = host_of(&cfg.token_url);
    match e {
        RequestTokenError::ServerResponse(r) => {
            let words = r
                .error_description()
                .map(|d| format!(" ({})", crate::domain::sanitize::line(d)))
                .unwrap_or_default();
            match r.error() {
                BasicErrorResponseType::InvalidGrant
                | BasicErrorResponseType::InvalidClient
                | BasicErrorResponseType::UnauthorizedClient => reauth(
                    cfg,
                    &format!("{host} refused the OAuth2 grant: {}{words}", r.error()),
                ),
                other => {
                    Failure::Temporary(format!("{host} refused the token request: {other}{words}"))
                }
            }
        }
        RequestTokenError::Request(e) => Failure::Temporary(format!(
            "could not reach {host}: {}",
            crate::net::with_causes(&e)
        )),
        RequestTokenError::Parse(e, _) => {
            Failure::Temporary(format!("{host} gave an answer tern cannot read: {e}"))
        }
        RequestTokenError::Other(e) => {
            Failure::Temporary(format!("{host}: {}", crate::domain::sanitize::line(&e)))
        }
    }
}

fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split(['/', '?', '#'])
        .next()
        .unwrap_or(rest)
        .to_string()
}

/// The HTTP client for the provider: verified TLS (system roots), bounded, never following
/// a redirect (the oauth2 crate's advice against request forgery).
pub(crate) fn http_client(_cfg: &OAuth2Config) -> Result<Http, Failure> {
    let tls = crate::net::tls_config(None).map_err(|e| Failure::Temporary(e.to_string()))?;
    reqwest::Client::builder()
        .tls_backend_preconfigured((*tls).clone())
        .timeout(HTTP_TIMEOUT)
        .connect_timeout(HTTP_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map(Http)
        .map_err(|e| Failure::Temporary(e.to_string()))
}

/// Our reqwest client as the oauth2 crate's HTTP client (the crate's own reqwest support is
/// for another reqwest version).
pub(crate) struct Http(reqwest::Client);

impl<'c> oauth2::AsyncHttpClient<'c> for Http {
    type Error = HttpError;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>,
    >;
    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(send(&self.0, request))
    }
}

/// Error of [`send`]: the request failed (its text carries the causes).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HttpError(String);

/// One request of the oauth2 crate, sent with reqwest.
async fn send(http: &reqwest::Client, request: HttpRequest) -> Result<HttpResponse, HttpError> {
    let request =
        reqwest::Request::try_from(request).map_err(|e| HttpError(crate::net::with_causes(&e)))?;
    let response = http
        .execute(request)
        .await
        .map_err(|e| HttpError(crate::net::with_causes(&e)))?;
    let mut builder = oauth2::http::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        builder = builder.header(name, value);
    }
    // Token answers are small; a provider sending more is not believed.
    const MAX: usize = 1 << 20;
    let body = response
        .bytes()
        .await
        .map_err(|e| HttpError(crate::net::with_causes(&e)))?;
    if body.len() > MAX {
        return Err(HttpError("the answer is too large".into()));
    }
    builder
        .body(body.to_vec())
        .map_err(|e| HttpError(e.to_string()))
}
