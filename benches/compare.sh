#!/bin/bash
# Run the benchmarks of two commits back to back, in one run, on the same machine:
#   benches/compare.sh BEFORE AFTER [bench ...]
# Each commit is checked out in a worktree under $TMPDIR and built in release mode once; the
# benchmarks then alternate (BEFORE, AFTER) with quick sizes. Output: one block per bench and
# side, on stdout. Used to check that issue 16 (the structure) changed no figure.
set -euo pipefail
before=${1:?usage: benches/compare.sh BEFORE AFTER [bench ...]}
after=${2:?usage: benches/compare.sh BEFORE AFTER [bench ...]}
shift 2
benches=("$@")
[ ${#benches[@]} -gt 0 ] || benches=(tui imap_sync triage search pop3 memory engine_memory)
declare -A envs=(
  [tui]="TERN_BENCH_N=20000"
  [imap_sync]="TERN_BENCH_N=20000"
  [triage]="TERN_BENCH_N=4000 TERN_BENCH_SELECT=2000"
  [search]="TERN_BENCH_N=10000"
  [pop3]="TERN_BENCH_N=2000"
  [memory]=""
  [engine_memory]=""
)
repo=$(git rev-parse --show-toplevel)
work=$(mktemp -d "${TMPDIR:-/tmp}/tern-compare.XXXXXX")
trap 'git -C "$repo" worktree remove --force "$work/before" 2>/dev/null || true;
      git -C "$repo" worktree remove --force "$work/after" 2>/dev/null || true' EXIT
for side in before after; do
  rev=${!side}
  git -C "$repo" worktree add --detach "$work/$side" "$rev" >/dev/null
  (cd "$work/$side" && CARGO_TARGET_DIR="$work/target-$side" cargo bench --no-run >&2)
done
for b in "${benches[@]}"; do
  for side in before after; do
    bin=$(ls "$work/target-$side/release/deps/" | grep -E "^$b-[0-9a-f]+$" | head -1)
    echo "=== $b $side (${!side}) ${envs[$b]}"
    (cd "$work/$side" && env ${envs[$b]} timeout 900 "$work/target-$side/release/deps/$bin" --bench 2>&1)
  done
done
