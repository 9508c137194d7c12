//! A small OAuth2 authorization server on loopback, for Dovecot's `oauth2` passdb to validate
//! tokens against (RFC 7662 introspection) and for tern to get them from:
//! - `GET /authorize`: authorization code with PKCE (S256 only); consent is given at once for
//!   the `login_hint` user (the test plays the browser with [`AuthServer::consent`]);
//! - `POST /token`: `authorization_code` (PKCE checked), `refresh_token`, and the device code;
//! - `POST /device`: device authorization (RFC 8628); [`AuthServer::approve`] consents;
//! - `POST /introspect`: `{"active": ..., "username": ...}` for Dovecot.
//!
//! The test controls what a real provider does on its own: access tokens that expire
//! ([`AuthServer::expire_access_tokens`]) and a revoked consent ([`AuthServer::revoke`]).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use sha2::Digest as _;

/// The client id the server knows.
pub const CLIENT_ID: &str = "tern-test-client";

#[derive(Default)]
struct State {
    /// code -> (user, challenge, redirect_uri)
    codes: HashMap<String, (String, String, String)>,
    /// access token -> (user, active)
    access: HashMap<String, (String, bool)>,
    /// refresh token -> (user, active)
    refresh: HashMap<String, (String, bool)>,
    /// device code -> (user code, consenting user once approved)
    devices: HashMap<String, (String, Option<String>)>,
    next: u64,
    /// How many times each grant was used.
    grants: HashMap<String, usize>,
    /// How many times each grant was asked for, refused or not.
    attempts: HashMap<String, usize>,
    introspections: usize,
    /// Seconds an access token is said to live.
    lifetime: u64,
}

impl State {
    fn token(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}-{}-{:x}", self.next, rand_u64())
    }
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(42);
    h.finish()
}

pub struct AuthServer {
    server: Arc<tiny_http::Server>,
    port: u16,
    state: Arc<Mutex<State>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl AuthServer {
    /// Start on a free loopback port; access tokens say they live `lifetime` seconds.
    pub fn start(lifetime: u64) -> AuthServer {
        let server =
            Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind the auth server"));
        let port = server.server_addr().to_ip().expect("an IP address").port();
        let state = Arc::new(Mutex::new(State {
            lifetime,
            ..State::default()
        }));
        let thread = {
            let (server, state) = (Arc::clone(&server), Arc::clone(&state));
            std::thread::spawn(move || {
                for request in server.incoming_requests() {
                    handle(&state, request);
                }
            })
        };
        AuthServer {
            server,
            port,
            state,
            thread: Some(thread),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The `[account.oauth2]` table for this server.
    pub fn oauth2_toml(&self) -> String {
        format!(
            "[account.oauth2]\nclient_id = \"{CLIENT_ID}\"\nauth_url = \"{}\"\ntoken_url = \"{}\"\n\
             device_url = \"{}\"\nscopes = [\"mail\"]\n",
            self.url("/authorize"),
            self.url("/token"),
            self.url("/device")
        )
    }

    /// Dovecot's dovecot-oauth2.conf.ext for this server.
    pub fn dovecot_conf(&self) -> String {
        format!(
            "introspection_mode = post\nintrospection_url = {}\nusername_attribute = username\n\
             active_attribute = active\nactive_value = true\nforce_introspection = yes\n",
            self.url("/introspect")
        )
    }

    /// Play the browser: open the authorization address tern gave, consent, and follow the
    /// redirect back to tern's loopback server. Returns what that server answered.
    pub fn consent(&self, authorize_url: &str) -> String {
        let answer = http_get(authorize_url);
        let location = answer
            .lines()
            .find_map(|l| {
                l.strip_prefix("Location: ")
                    .or_else(|| l.strip_prefix("location: "))
            })
            .unwrap_or_else(|| panic!("no redirect from /authorize: {answer}"))
            .trim()
            .to_string();
        http_get(&location)
    }

    /// Consent to a device code (as the user would on their phone).
    pub fn approve(&self, user_code: &str, user: &str) {
        let mut s = self.state.lock().unwrap();
        let entry = s
            .devices
            .values_mut()
            .find(|(code, _)| code == user_code)
            .unwrap_or_else(|| panic!("no device code {user_code}"));
        entry.1 = Some(user.to_string());
    }

    /// An access token for `user`, as an external broker would have got it.
    pub fn issue(&self, user: &str) -> String {
        let mut s = self.state.lock().unwrap();
        let t = s.token("access");
        s.access.insert(t.clone(), (user.to_string(), true));
        t
    }

    /// Every access token issued so far stops working (as when its hour is up).
    pub fn expire_access_tokens(&self) {
        for v in self.state.lock().unwrap().access.values_mut() {
            v.1 = false;
        }
    }

    /// The user revokes tern's access: their refresh and access tokens stop working.
    pub fn revoke(&self, user: &str) {
        let mut guard = self.state.lock().unwrap();
        let s = &mut *guard;
        for (u, active) in s.access.values_mut().chain(s.refresh.values_mut()) {
            if u == user {
                *active = false;
            }
        }
    }

    /// How many times a grant type was used at /token.
    pub fn grants(&self, grant: &str) -> usize {
        *self.state.lock().unwrap().grants.get(grant).unwrap_or(&0)
    }

    /// How many times a grant type was asked for at /token, refused or not.
    pub fn attempts(&self, grant: &str) -> usize {
        *self.state.lock().unwrap().attempts.get(grant).unwrap_or(&0)
    }

    /// How many tokens Dovecot (or anyone) asked about.
    pub fn introspections(&self) -> usize {
        self.state.lock().unwrap().introspections
    }
}

impl Drop for AuthServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A GET over plain HTTP/1.0 (loopback only): status line, headers and body as text.
pub fn http_get(url: &str) -> String {
    let rest = url.strip_prefix("http://").expect("an http:// address");
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let mut stream = TcpStream::connect(authority).unwrap_or_else(|e| panic!("{url}: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {authority}\r\n\r\n").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

fn form(body: &str) -> HashMap<String, String> {
    url_decode_pairs(body)
}

fn url_decode_pairs(s: &str) -> HashMap<String, String> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let s = s.replace('+', " ");
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        if bytes[i] == b'%'
            && let Some(b) = hex
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn json(status: u16, body: String) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
    let header =
        tiny_http::Header::from_bytes(&b"Content-Type"[..], &b"application/json"[..]).unwrap();
    tiny_http::Response::from_string(body)
        .with_status_code(status)
        .with_header(header)
}

fn error(e: &str) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
    json(400, format!("{{\"error\":\"{e}\"}}"))
}

fn handle(state: &Mutex<State>, mut request: tiny_http::Request) {
    let url = request.url().to_string();
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    let mut body = String::new();
    let _ = request.as_reader().read_to_string(&mut body);
    let q = url_decode_pairs(query);
    let f = form(&body);
    let mut s = state.lock().unwrap();
    let response = match path {
        "/authorize" => {
            let ok = q.get("client_id").map(String::as_str) == Some(CLIENT_ID)
                && q.get("response_type").map(String::as_str) == Some("code")
                && q.get("code_challenge_method").map(String::as_str) == Some("S256");
            let (Some(user), Some(challenge), Some(redirect), Some(st), true) = (
                q.get("login_hint"),
                q.get("code_challenge"),
                q.get("redirect_uri"),
                q.get("state"),
                ok,
            ) else {
                let _ = request.respond(error("invalid_request"));
                return;
            };
            let code = s.token("code");
            s.codes.insert(
                code.clone(),
                (user.clone(), challenge.clone(), redirect.clone()),
            );
            let location = format!("{redirect}?code={code}&state={st}");
            let header =
                tiny_http::Header::from_bytes(&b"Location"[..], location.as_bytes()).unwrap();
            let _ = request.respond(tiny_http::Response::empty(302).with_header(header));
            return;
        }
        "/token" => token(&mut s, &f),
        "/device" => {
            let device = s.token("device");
            let user_code = format!("{:04}-{:04}", s.next, s.next * 7 % 10000);
            s.devices.insert(device.clone(), (user_code.clone(), None));
            json(
                200,
                format!(
                    "{{\"device_code\":\"{device}\",\"user_code\":\"{user_code}\",\
                     \"verification_uri\":\"http://127.0.0.1/device\",\"expires_in\":300,\"interval\":1}}"
                ),
            )
        }
        "/introspect" => {
            s.introspections += 1;
            match f.get("token").and_then(|t| s.access.get(t)) {
                Some((user, true)) => {
                    json(200, format!("{{\"active\":true,\"username\":\"{user}\"}}"))
                }
                _ => json(200, "{\"active\":false}".into()),
            }
        }
        _ => tiny_http::Response::from_string("not here").with_status_code(404),
    };
    let _ = request.respond(response);
}

fn token(
    s: &mut State,
    f: &HashMap<String, String>,
) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
    let grant = f.get("grant_type").cloned().unwrap_or_default();
    *s.attempts.entry(grant.clone()).or_default() += 1;
    if f.get("client_id").map(String::as_str) != Some(CLIENT_ID) {
        return error("invalid_client");
    }
    let user = match grant.as_str() {
        "authorization_code" => {
            let Some((user, challenge, redirect)) = f.get("code").and_then(|c| s.codes.remove(c))
            else {
                return error("invalid_grant");
            };
            let verifier = f.get("code_verifier").cloned().unwrap_or_default();
            let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(sha2::Sha256::digest(verifier.as_bytes()));
            if computed != challenge || f.get("redirect_uri") != Some(&redirect) {
                return error("invalid_grant");
            }
            user
        }
        "refresh_token" => match f.get("refresh_token").and_then(|r| s.refresh.get(r)) {
            Some((user, true)) => user.clone(),
            _ => return error("invalid_grant"),
        },
        "urn:ietf:params:oauth:grant-type:device_code" => {
            match f.get("device_code").and_then(|d| s.devices.get(d)) {
                None => return error("expired_token"),
                Some((_, None)) => return error("authorization_pending"),
                Some((_, Some(user))) => user.clone(),
            }
        }
        _ => return error("unsupported_grant_type"),
    };
    *s.grants.entry(grant.clone()).or_default() += 1;
    let access = s.token("access");
    s.access.insert(access.clone(), (user.clone(), true));
    let refresh = match grant.as_str() {
        "refresh_token" => f["refresh_token"].clone(),
        _ => {
            let r = s.token("refresh");
            s.refresh.insert(r.clone(), (user.clone(), true));
            r
        }
    };
    json(
        200,
        format!(
            "{{\"access_token\":\"{access}\",\"token_type\":\"Bearer\",\"expires_in\":{},\
             \"refresh_token\":\"{refresh}\"}}",
            s.lifetime
        ),
    )
}
