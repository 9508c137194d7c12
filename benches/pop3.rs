//! POP3 download benchmark on the real Dovecot (started by the test harness), implicit TLS on
//! loopback: tern's whole first download of an N-message mailbox (connect, UIDL, LIST, RETR,
//! parse, store with bodies and the search index, QUIT) into a fresh cache, next to a bare
//! RETR loop over one connection with the same POP3 client that keeps nothing. Target: at
//! most 1.3x the bare loop.
//!
//! Run: `cargo bench --bench pop3` (N = 10000; `TERN_BENCH_N=2000` for a quicker run,
//! `TERN_BENCH_ROUNDS` rounds, default 3, the best of each reported).

#[path = "../tests/harness/mod.rs"]
mod harness;

use std::time::{Duration, Instant};

use harness::{ALICE, MailServers};
use tern::config::{AccountConfig, Config, Secret};
use tern::pop3::client::Pop3;
use tern::pop3::fetch;
use tern::store::StoreHandle;

/// Peak resident set of this process so far, in MiB.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

/// The bare loop: connect, log in, RETR 1..=n one after the other (or `window` at a time,
/// pipelined), keep nothing, QUIT. Returns the time and the bytes received.
async fn bare(account: &AccountConfig, n: u32, window: usize) -> (Duration, usize) {
    let pass = Secret::new(ALICE.password);
    let started = Instant::now();
    let mut pop: Pop3 = fetch::connect_with(account, Some(&pass)).await.unwrap();
    let mut bytes = 0;
    if window <= 1 {
        for i in 1..=n {
            bytes += pop.retr(i, 0).await.unwrap().len();
        }
    } else {
        let ns: Vec<u32> = (1..=n).collect();
        let (mut sent, mut read) = (0, 0);
        while read < ns.len() {
            if sent - read <= window / 2 && sent < ns.len() {
                let upto = (read + window).min(ns.len());
                pop.retr_send(&ns[sent..upto]).await.unwrap();
                sent = upto;
            }
            bytes += pop.retr_answer(ns[read], 0).await.unwrap().unwrap().len();
            read += 1;
        }
    }
    pop.quit().await.unwrap();
    (started.elapsed(), bytes)
}

/// tern's fetch of the whole mailbox into a fresh cache.
async fn tern_fetch(account: &AccountConfig, n: usize) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let store = StoreHandle::open_in_dir(dir.path()).unwrap();
    let started = Instant::now();
    let s = fetch::fetch_once(account, &store, &|_| {}).await.unwrap();
    let took = started.elapsed();
    assert_eq!(s.new, n, "{s:?}");
    took
}

fn main() {
    let n: usize = std::env::var("TERN_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let rounds: usize = std::env::var("TERN_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let servers = MailServers::start();
    let t = Instant::now();
    let populated = servers.populate(ALICE.email, "INBOX", n, 9);
    let total: usize = populated.messages.iter().map(|m| m.imap_size).sum();
    eprintln!(
        "populated {n} messages ({:.1} MB) in {:.1} s",
        total as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg_path = servers.write_tern_pop3_config(
        dir.path(),
        &ALICE,
        "tls",
        servers.pop3s_port(),
        ALICE.password,
        "",
    );
    let account = Config::load(&cfg_path).unwrap().accounts[0].clone();
    let count = u32::try_from(n).unwrap();
    rt.block_on(async {
        // Warm Dovecot (its first session marks every message seen) and the page cache.
        let (_, bytes) = bare(&account, count, 1).await;
        assert_eq!(bytes, total);
        let (mut seq, mut piped, mut ours) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..rounds {
            seq.push(bare(&account, count, 1).await.0);
            piped.push(bare(&account, count, 32).await.0);
            ours.push(tern_fetch(&account, n).await);
        }
        let best = |v: &[Duration]| v.iter().min().copied().unwrap_or_default();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let all = |v: &[Duration]| {
            v.iter()
                .map(|d| format!("{:.0}", ms(*d)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let (seq_best, piped_best, ours_best) = (best(&seq), best(&piped), best(&ours));
        println!(
            "pop3: {n} messages, {:.1} MB ({:.1} KB on average), real Dovecot, implicit TLS, loopback",
            total as f64 / 1e6,
            total as f64 / n as f64 / 1e3
        );
        println!(
            "  bare RETR loop, one at a time        {:>8.0} ms  (runs: {})",
            ms(seq_best),
            all(&seq)
        );
        println!(
            "  bare RETR loop, 32 pipelined         {:>8.0} ms  (runs: {})",
            ms(piped_best),
            all(&piped)
        );
        println!(
            "  tern: download into a fresh cache    {:>8.0} ms  (runs: {})",
            ms(ours_best),
            all(&ours)
        );
        println!(
            "  tern / bare loop: {:.2}x (target 1.3x); tern / pipelined bare loop: {:.2}x",
            ours_best.as_secs_f64() / seq_best.as_secs_f64(),
            ours_best.as_secs_f64() / piped_best.as_secs_f64()
        );
        println!(
            "  peak RSS {:.1} MiB (whole bench process)",
            peak_rss_mib()
        );
    });
}
