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

/// The best target of a service's SRV records (lowest priority, then highest weight); None
/// when there is none or the domain says the service is not offered (target ".").
async fn srv(r: &TokioResolver, name: &str) -> Option<(String, u16)> {
    let lookup = r.srv_lookup(name).await.ok()?;
    let mut records: Vec<_> = lookup
        .answers()
        .iter()
        .filter_map(|rec| match &rec.data {
            RData::SRV(s) => Some(s.clone()),
            _ => None,
        })
        .collect();
    records.sort_by_key(|s| (s.priority, std::cmp::Reverse(s.weight)));
    let best = records.into_iter().next()?;
    let host = best.target.to_utf8();
    let host = host.trim_end_matches('.');
    (!host.is_empty()).then(|| (host.to_string(), best.port))
}

/// The first service of `services` (name, security) with an SRV record under `domain`.
async fn first(r: &TokioResolver, domain: &str, services: &[(&str, &str)]) -> Option<Server> {
    for (service, security) in services {
        if let Some((host, port)) = srv(r, &format!("{service}.{domain}.")).await {
            return Some(Server {
                host,
                port,
                security: (*security).into(),
            });
        }
    }
    None
}

/// The servers an address's domain publishes in SRV records (RFC 6186, RFC 8314): IMAP
/// (else POP3) and submission, implicit TLS preferred.
pub async fn from_srv(r: &TokioResolver, email: &str) -> Option<Found> {
    let domain = discover::domain_of(email)?;
    let imap = first(
        r,
        domain,
        &[("_imaps._tcp", "tls"), ("_imap._tcp", "starttls")],
    )
    .await;
    let (incoming, pop3) = match imap {
        Some(s) => (s, false),
        None => (
            first(
                r,
                domain,
                &[("_pop3s._tcp", "tls"), ("_pop3._tcp", "starttls")],
            )
            .await?,
            true,
        ),
    };
    let smtp = first(
        r,
        domain,
        &[
            ("_submissions._tcp", "tls"),
            ("_submission._tcp", "starttls"),
        ],
    )
    .await;
    Some(Found {
        source: format!("the SRV records of {domain}"),
        incoming,
        pop3,
        smtp,
        username: None,
        save_sent: true,
        note: None,
        oauth2_only: false,
    })
}

/// The provider an address's domain hands its mail to (its MX records), if tern knows it.
pub async fn from_mx(r: &TokioResolver, email: &str) -> Option<Found> {
    let domain = discover::domain_of(email)?;
    let lookup = r.mx_lookup(format!("{domain}.")).await.ok()?;
    let hosts: Vec<String> = lookup
        .answers()
        .iter()
        .filter_map(|rec| match &rec.data {
            RData::MX(mx) => Some(mx.exchange.to_utf8().trim_end_matches('.').to_lowercase()),
            _ => None,
        })
        .collect();
    let mut found = discover::from_mx_hosts(&hosts)?;
    found.source = format!("the MX records of {domain} ({})", found.source);
    Some(found)
}
