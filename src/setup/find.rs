//! Which source knows an address's servers. The provider's autoconfig files, tern's provider
//! list, the SRV records and the MX records are all asked at once, each under its own
//! timeout; the answer is picked by that order (a higher source wins even when it answered
//! later), and each source's outcome is said as it comes. Probing the usual host names is the
//! fallback, tried only when none of them knew.

use std::time::Duration;

use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;

use super::Request;
use super::discover::{self, Found};
use super::{dns, probe};
use crate::domain::sanitize;

/// How long one source may take in all (an SRV source asks up to six questions).
const SOURCE_TIMEOUT: Duration = Duration::from_secs(15);

/// What a source came to: its servers, none, or why it could not say.
type Outcome = Result<Option<Found>, String>;

/// A source under its timeout.
async fn bounded(fut: impl Future<Output = Outcome>) -> Outcome {
    tokio::time::timeout(SOURCE_TIMEOUT, fut)
        .await
        .unwrap_or_else(|_| Err(format!("no answer in {} s", SOURCE_TIMEOUT.as_secs())))
}

/// The servers found, in a few words.
fn summary(f: &Found) -> String {
    let incoming = format!(
        "{} {}:{}",
        if f.pop3 { "pop3" } else { "imap" },
        f.incoming.host,
        f.incoming.port
    );
    match &f.smtp {
        Some(s) => format!("{incoming}, smtp {}:{}", s.host, s.port),
        None => incoming,
    }
}

/// What a source's outcome is said as.
fn line(label: &str, outcome: &Outcome) -> String {
    let said = match outcome {
        Ok(Some(f)) => summary(f),
        Ok(None) if label.starts_with("tern's") => "not there".into(),
        Ok(None) if label.starts_with("MX") => "no provider tern knows".into(),
        Ok(None) => "none".into(),
        Err(e) => e.clone(),
    };
    format!("{label}: {}", sanitize::line(&said))
}

/// The answer, once every source above the best one found has answered: the first in order
/// that found servers.
fn decided(results: &[Option<Outcome>]) -> Option<Found> {
    for r in results {
        match r {
            None => return None,
            Some(Ok(Some(f))) => return Some(f.clone()),
            Some(_) => {}
        }
    }
    None
}

/// The first source (in order) that knows the address's servers; what each one said goes to
/// `say` as it comes.
pub async fn find(req: &Request, say: &mut impl FnMut(String)) -> Result<Found, String> {
    // Without a resolver (no DNS configured) the other sources still answer.
    let resolver = dns::resolver(req.dns);
    let http = req
        .dns
        .and(resolver.as_ref().ok())
        .map(|r| dns::ForHttp(r.clone()));
    let mut labels = Vec::new();
    let mut tasks: FuturesUnordered<BoxFuture<'_, (usize, Outcome)>> = FuturesUnordered::new();
    for url in discover::autoconfig_urls(&req.email, req.autoconfig.as_deref()) {
        let rank = labels.len();
        labels.push(format!("autoconfig {url}"));
        let http = http.clone();
        tasks.push(Box::pin(async move {
            let got = bounded(async {
                let xml = discover::fetch(&url, req.ca_file.as_deref(), http).await?;
                discover::parse_autoconfig(&xml, &req.email, &url).map(Some)
            });
            (rank, got.await)
        }));
    }
    let rank = labels.len();
    labels.push("tern's provider list".into());
    tasks.push(Box::pin(async move {
        (rank, Ok(discover::from_providers(&req.email)))
    }));
    let rank = labels.len();
    labels.push("SRV records".into());
    let r = resolver.as_ref();
    tasks.push(Box::pin(async move {
        let got = match r {
            Ok(r) => bounded(dns::from_srv(r, &req.email)).await,
            Err(e) => Err(e.clone()),
        };
        (rank, got)
    }));
    let rank = labels.len();
    labels.push("MX records".into());
    tasks.push(Box::pin(async move {
        let got = match r {
            Ok(r) => bounded(dns::from_mx(r, &req.email)).await,
            Err(e) => Err(e.clone()),
        };
        (rank, got)
    }));

    let mut results: Vec<Option<Outcome>> = vec![None; labels.len()];
    while let Some((rank, outcome)) = tasks.next().await {
        say(line(&labels[rank], &outcome));
        results[rank] = Some(outcome);
        if let Some(found) = decided(&results) {
            for (label, r) in labels.iter().zip(&results) {
                if r.is_none() {
                    say(format!("{label}: not waited for (a source above it knew)"));
                }
            }
            return Ok(found);
        }
    }
    drop(tasks);

    let domain = discover::domain_of(&req.email).unwrap_or_default();
    if let Ok(resolver) = &resolver {
        say(format!("probing the usual host names of {domain}..."));
        if let Some(found) = probe_for(resolver, req, say).await {
            return Ok(found);
        }
    }
    Err(format!(
        "no servers found for {}: write the account by hand (see config.example.toml)",
        req.email
    ))
}

/// The fallback: the usual host names; the servers that answered there.
async fn probe_for(
    resolver: &hickory_resolver::TokioResolver,
    req: &Request,
    say: &mut impl FnMut(String),
) -> Option<Found> {
    match probe::probe(resolver, &req.email, req.ca_file.as_deref()).await {
        Ok(probed) => {
            for l in probed.lines {
                say(format!("probe: {l}"));
            }
            probed.found
        }
        Err(e) => {
            say(format!("probe: {}", sanitize::line(&e)));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_higher_source_wins_even_when_it_answers_later() {
        let gmail = discover::from_providers("a@gmail.com").unwrap();
        let mut other = gmail.clone();
        other.source = "SRV".into();
        // The autoconfig has not answered: nothing is decided yet.
        let mut results = vec![None, Some(Ok(Some(other.clone()))), None];
        assert!(decided(&results).is_none());
        // It failed: the next one that knew is the answer.
        results[0] = Some(Err("HTTP 404".into()));
        assert_eq!(decided(&results).unwrap().source, "SRV");
        // It knew: it wins.
        results[0] = Some(Ok(Some(gmail.clone())));
        assert_eq!(decided(&results).unwrap(), gmail);
        assert!(decided(&[Some(Ok(None)), Some(Err("x".into()))]).is_none());
        assert_eq!(
            line("SRV records", &Ok(None)),
            "SRV records: none".to_string()
        );
        assert!(line("MX records", &Ok(None)).contains("no provider tern knows"));
    }
}
