#!/usr/bin/env bash
# Coverage-guided fuzzing of tern's parsers with AFL++ on stable Rust.
#   fuzz/run.sh TARGET SECONDS   one target (message skeleton html search config mutf7 pop3 imap_wire compose)
#   fuzz/run.sh all SECONDS      every target in turn, SECONDS each
# Needs cargo-afl (`cargo install cargo-afl --locked`, then `cargo afl config --build` once).
# Seeds come from tests/fuzz-corpus/TARGET/ (crashes/ included); AFL's work goes to
# fuzz/out/TARGET (not committed). After a run the corpus AFL grew is minimised (afl-cmin) into
# tests/fuzz-corpus/TARGET/queue/ (replacing the one there), and each new crash is copied to
# tests/fuzz-corpus/TARGET/crashes/crash-SHA1: commit both; tests/fuzz_corpus.rs replays them.
# Runs under `nice -n 10`.
set -euo pipefail
cd "$(dirname "$0")"
targets=(message skeleton html search config mutf7 pop3 imap_wire compose)

if [ $# -ne 2 ] || ! [[ $2 =~ ^[0-9]+$ ]]; then
  echo "usage: fuzz/run.sh TARGET|all SECONDS (targets: ${targets[*]})" >&2
  exit 2
fi
if [ "$1" = all ]; then
  run=("${targets[@]}")
elif [[ " ${targets[*]} " == *" $1 "* ]]; then
  run=("$1")
else
  echo "fuzz/run.sh: no target $1 (targets: ${targets[*]})" >&2
  exit 2
fi
seconds=$2

# cargo-afl turns on debug assertions everywhere; dependencies' are not what release tern runs
# (mail-parser 0.11.9 has a `debug_assert!(false)` hostile MIME reaches, which it then recovers
# from): off, after cargo-afl's flags. Overflow checks stay on. tern itself has no debug_assert.
export RUSTFLAGS="${RUSTFLAGS:-} -C debug-assertions=off"
nice -n 10 cargo afl build --release --locked

# No UI, no CPU-governor or core-pattern demands (containers cannot change either).
export AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
export AFL_NO_AFFINITY=1 AFL_SKIP_CRASHES=1

# AFL++'s tools as cargo-afl installed them.
afl_bin=$(dirname "$(find "$HOME/.local/share/afl.rs" -path '*afl.rs-*/afl/bin/afl-cmin.bash' | head -1)")
export AFL_PATH=$afl_bin PATH=$afl_bin:$PATH

status=0
for t in "${run[@]}"; do
  corpus=../tests/fuzz-corpus/$t
  seeds=$(mktemp -d)
  find "$corpus" -type f ! -name README.txt -exec cp {} "$seeds/" \;
  rm -rf "out/$t"
  mkdir -p out
  echo "== $t: ${seconds}s"
  nice -n 10 cargo afl fuzz -V "$seconds" -t 2000 -i "$seeds" -o "out/$t" \
    "target/release/$t" > "out/$t.log" 2>&1 || { echo "afl-fuzz failed, see fuzz/out/$t.log"; tail -20 "out/$t.log"; status=1; }
  rm -rf "$seeds"
  stats=out/$t/default/fuzzer_stats
  if [ -f "$stats" ]; then
    awk -F' *: *' '/^(run_time|execs_done|execs_per_sec|corpus_count|saved_crashes|saved_hangs|edges_found) / { printf "  %s=%s", $1, $2 } END { print "" }' "$stats"
  fi
  if [ -d "out/$t/default/queue" ]; then
    rm -rf "out/$t.cmin"
    # The shell afl-cmin: the Python one (`cargo afl cmin`) sometimes records no coverage at all.
    if nice -n 10 "$afl_bin/afl-cmin.bash" -i "out/$t/default/queue" -o "out/$t.cmin" -- "target/release/$t" > "out/$t.cmin.log" 2>&1; then
      rm -rf "$corpus/queue"
      mkdir -p "$corpus/queue"
      for q in "out/$t.cmin"/*; do
        [ -f "$q" ] && cp "$q" "$corpus/queue/q-$(sha1sum "$q" | cut -c1-16)"
      done
      echo "  corpus: $(ls "$corpus/queue" | wc -l) inputs kept in tests/fuzz-corpus/$t/queue/"
    else
      echo "  afl-cmin failed, see fuzz/out/$t.cmin.log"
    fi
  fi
  new=0
  for c in "out/$t/default/crashes"/id:*; do
    [ -f "$c" ] || continue
    mkdir -p "$corpus/crashes"
    sum=$(sha1sum "$c" | cut -c1-16)
    if [ ! -f "$corpus/crashes/crash-$sum" ]; then
      cp "$c" "$corpus/crashes/crash-$sum"
      new=$((new + 1))
    fi
  done
  if [ "$new" -gt 0 ]; then
    echo "  $new new crash(es) in tests/fuzz-corpus/$t/crashes/: replay with cargo test --test fuzz_corpus"
    status=1
  fi
done
exit "$status"
