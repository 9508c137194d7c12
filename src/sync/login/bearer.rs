//! Logging in with an OAuth2 access token: AUTHENTICATE OAUTHBEARER (RFC 7628) when the
//! server offers it, else XOAUTH2 (Google's and Microsoft's older mechanism).
//!
//! The SASL messages are written here: async-imap carries any mechanism through its
//! `Authenticator`, and they are two lines of text.

use async_imap::{Client, Session};

use super::{Failed, timed_out};
use crate::config::Secret;
use crate::sync::imap::{Caps, IO_TIMEOUT};
use crate::sync::wire::Wire;

/// A mechanism for a bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mechanism {
    OAuthBearer,
    XOAuth2,
}

impl Mechanism {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Mechanism::OAuthBearer => "OAUTHBEARER",
            Mechanism::XOAuth2 => "XOAUTH2",
        }
    }

    /// The one the server offers, OAUTHBEARER first.
    pub(crate) fn offered(caps: &Caps) -> Option<Mechanism> {
        if caps.has("AUTH=OAUTHBEARER") {
            Some(Mechanism::OAuthBearer)
        } else if caps.has("AUTH=XOAUTH2") {
            Some(Mechanism::XOAuth2)
        } else {
            None
        }
    }

    /// The client's first message.
    pub(crate) fn initial(self, user: &str, token: &Secret, host: &str, port: u16) -> Vec<u8> {
        let t = token.expose();
        match self {
            // gs2 header with the authorization identity, then key=value pairs (RFC 7628 3.1).
            Mechanism::OAuthBearer => format!(
                "n,a={},\x01host={host}\x01port={port}\x01auth=Bearer {t}\x01\x01",
                user.replace('=', "=3D").replace(',', "=2C")
            ),
            Mechanism::XOAuth2 => format!("user={user}\x01auth=Bearer {t}\x01\x01"),
        }
        .into_bytes()
    }
}

/// Answers the first continuation with the token; a later one carries the server's error
/// (JSON), which both mechanisms acknowledge with an empty message (a ^A for OAUTHBEARER) so
/// the server can say NO.
struct BearerAuth {
    first: Option<Vec<u8>>,
    mechanism: Mechanism,
}

impl async_imap::Authenticator for &mut BearerAuth {
    type Response = Vec<u8>;
    fn process(&mut self, _challenge: &[u8]) -> Vec<u8> {
        match self.first.take() {
            Some(first) => first,
            None if self.mechanism == Mechanism::OAuthBearer => b"\x01".to_vec(),
            None => Vec::new(),
        }
    }
}

/// AUTHENTICATE with the token.
pub(super) async fn authenticate(
    client: Client<Wire>,
    mechanism: Mechanism,
    user: &str,
    token: &Secret,
    host: &str,
    port: u16,
) -> Result<Session<Wire>, Failed> {
    let mut auth = BearerAuth {
        first: Some(mechanism.initial(user, token, host, port)),
        mechanism,
    };
    let fut = client.authenticate(mechanism.name(), &mut auth);
    match tokio::time::timeout(IO_TIMEOUT, fut).await {
        Err(_) => Err(timed_out("AUTHENTICATE")),
        Ok(Ok(session)) => Ok(session),
        Ok(Err((async_imap::error::Error::No(text), _))) => Err(Failed::Refused(text)),
        Ok(Err((async_imap::error::Error::Bad(text), _))) => Err(Failed::Refused(text)),
        Ok(Err((e, _))) => Err(Failed::Other(e.into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_of_both_mechanisms() {
        let t = Secret::new("tok");
        assert_eq!(
            Mechanism::XOAuth2.initial("a@b.c", &t, "h", 993),
            b"user=a@b.c\x01auth=Bearer tok\x01\x01"
        );
        assert_eq!(
            Mechanism::OAuthBearer.initial("a,b=c@d", &t, "imap.d", 993),
            b"n,a=a=2Cb=3Dc@d,\x01host=imap.d\x01port=993\x01auth=Bearer tok\x01\x01"
        );
        let caps = |s: &str| Caps(s.split(' ').map(str::to_string).collect());
        assert_eq!(
            Mechanism::offered(&caps("IMAP4REV1 AUTH=XOAUTH2 AUTH=OAUTHBEARER")),
            Some(Mechanism::OAuthBearer)
        );
        assert_eq!(
            Mechanism::offered(&caps("IMAP4REV1 AUTH=XOAUTH2")),
            Some(Mechanism::XOAuth2)
        );
        assert_eq!(Mechanism::offered(&caps("IMAP4REV1 AUTH=PLAIN")), None);
    }
}
