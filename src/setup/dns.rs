//! The DNS sources of discovery, through hickory (the system's resolver, or a server the user
//! names): RFC 6186 SRV records, then MX records that point at a provider tern knows (a custom
//! domain hosted by Google or Microsoft).

use std::net::SocketAddr;
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RData;

use super::discover::{self, Found, Server};

/// How long one DNS question may take.
const DNS_TIMEOUT: Duration = Duration::from_secs(4);

/// The system's resolver, or one asking only `server`.
pub fn resolver(server: Option<SocketAddr>) -> Result<TokioResolver, String> {
    let mut opts = ResolverOpts::default();
    opts.timeout = DNS_TIMEOUT;
    opts.attempts = 1;
    let builder = match server {
        None => TokioResolver::builder_tokio().map_err(|e| format!("the system's DNS: {e}"))?,
        Some(addr) => {
            let (mut udp, mut tcp) = (ConnectionConfig::udp(), ConnectionConfig::tcp());
            udp.port = addr.port();
            tcp.port = addr.port();
            let ns = NameServerConfig::new(addr.ip(), true, vec![udp, tcp]);
            let config = ResolverConfig::from_parts(None, Vec::new(), vec![ns]);
            TokioResolver::builder_with_config(config, TokioRuntimeProvider::default())
        }
    };
    builder
        .with_options(opts)
        .build()
        .map_err(|e| format!("DNS: {e}"))
}

/// A DNS answer that says "no such record" is an empty answer; anything else (no answer, a
/// refusal) is an error worth saying.
fn answered(
    got: Result<hickory_resolver::lookup::Lookup, hickory_resolver::net::NetError>,
) -> Result<Option<hickory_resolver::lookup::Lookup>, String> {
    match got {
        Ok(lookup) => Ok(Some(lookup)),
        Err(e) if e.is_no_records_found() || e.is_nx_domain() => Ok(None),
        Err(e) => Err(format!("the DNS server did not answer: {e}")),
    }
}

/// The best target of a service's SRV records (lowest priority, then highest weight); None
/// when there is none or the domain says the service is not offered (target ".").
async fn srv(r: &TokioResolver, name: &str) -> Result<Option<(String, u16)>, String> {
    let Some(lookup) = answered(r.srv_lookup(name).await)? else {
        return Ok(None);
    };
    let mut records: Vec<_> = lookup
        .answers()
        .iter()
        .filter_map(|rec| match &rec.data {
            RData::SRV(s) => Some(s.clone()),
            _ => None,
        })
        .collect();
    records.sort_by_key(|s| (s.priority, std::cmp::Reverse(s.weight)));
    let Some(best) = records.into_iter().next() else {
        return Ok(None);
    };
    let host = best.target.to_utf8();
    let host = host.trim_end_matches('.');
    Ok((!host.is_empty()).then(|| (host.to_string(), best.port)))
}

/// The first service of `services` (name, security) with an SRV record under `domain`.
async fn first(
    r: &TokioResolver,
    domain: &str,
    services: &[(&str, &str)],
) -> Result<Option<Server>, String> {
    // A server that refuses one name may answer the next (one that is not a recursive
    // resolver refuses names it has no records for): its refusal counts only if none answers.
    let mut refused = None;
    for (service, security) in services {
        match srv(r, &format!("{service}.{domain}.")).await {
            Ok(Some((host, port))) => {
                return Ok(Some(Server {
                    host,
                    port,
                    security: (*security).into(),
                }));
            }
            Ok(None) => {}
            Err(e) => refused = refused.or(Some(e)),
        }
    }
    refused.map_or(Ok(None), Err)
}

/// The servers an address's domain publishes in SRV records (RFC 6186, RFC 8314): IMAP
/// (else POP3) and submission, implicit TLS preferred. Err: the DNS server did not answer.
pub async fn from_srv(r: &TokioResolver, email: &str) -> Result<Option<Found>, String> {
    let Some(domain) = discover::domain_of(email) else {
        return Ok(None);
    };
    let imap = [("_imaps._tcp", "tls"), ("_imap._tcp", "starttls")];
    let pop3 = [("_pop3s._tcp", "tls"), ("_pop3._tcp", "starttls")];
    let submission = [
        ("_submissions._tcp", "tls"),
        ("_submission._tcp", "starttls"),
    ];
    let (incoming, pop3) = match first(r, domain, &imap).await? {
        Some(s) => (s, false),
        None => match first(r, domain, &pop3).await? {
            Some(s) => (s, true),
            None => return Ok(None),
        },
    };
    // Submission is optional: an incoming server without it is still an account.
    let smtp = first(r, domain, &submission).await.unwrap_or(None);
    Ok(Some(Found {
        source: format!("the SRV records of {domain}"),
        incoming,
        pop3,
        smtp,
        username: None,
        save_sent: true,
        note: None,
        oauth2_only: false,
        oauth2: None,
    }))
}

/// The provider an address's domain hands its mail to (its MX records), if tern knows it.
/// Err: the DNS server did not answer.
pub async fn from_mx(r: &TokioResolver, email: &str) -> Result<Option<Found>, String> {
    let Some(domain) = discover::domain_of(email) else {
        return Ok(None);
    };
    let Some(lookup) = answered(r.mx_lookup(format!("{domain}.")).await)? else {
        return Ok(None);
    };
    let hosts: Vec<String> = lookup
        .answers()
        .iter()
        .filter_map(|rec| match &rec.data {
            RData::MX(mx) => Some(mx.exchange.to_utf8().trim_end_matches('.').to_lowercase()),
            _ => None,
        })
        .collect();
    Ok(discover::from_mx_hosts(&hosts).map(|mut found| {
        found.source = format!("the MX records of {domain} ({})", found.source);
        found
    }))
}

/// The discovery's resolver, for reqwest: the autoconfig requests ask the DNS server the user
/// named (`--dns`, `TERN_DNS`) too, not only the SRV and MX questions.
#[derive(Clone)]
pub struct ForHttp(pub TokioResolver);

impl reqwest::dns::Resolve for ForHttp {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let resolver = self.0.clone();
        let host = name.as_str().trim_end_matches('.').to_string();
        Box::pin(async move {
            let ips = resolver.lookup_ip(format!("{host}.")).await?;
            let addrs: Vec<SocketAddr> = ips.iter().map(|ip| SocketAddr::new(ip, 0)).collect();
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The DNS server named by `TERN_DNS` (IP:PORT), if set: `tern setup` and the setup on first
/// start ask it instead of the system's.
pub fn from_env() -> Result<Option<SocketAddr>, String> {
    match std::env::var("TERN_DNS") {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| format!("TERN_DNS={v:?}: not an IP:PORT (e.g. 127.0.0.1:53)")),
        _ => Ok(None),
    }
}
