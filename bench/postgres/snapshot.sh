#!/usr/bin/env bash
# Runs bench:postgres (or another bench/postgres script) on a COMMITTED state of the tree, not on
# the shared working tree's uncommitted edits: git archive of packages/core, packages/postgres
# and bench into $TMPDIR/tideq-bench-<sha>, node_modules linked to the checkout's except
# @tideq/*, which point into the snapshot.
#
#   bash bench/postgres/snapshot.sh [<rev>] [-- <bench.ts options>]
#   TIDEQ_BENCH_SCRIPT=roundtrips.ts bash bench/postgres/snapshot.sh HEAD
set -euo pipefail
rev=HEAD
if [ $# -gt 0 ] && [ "$1" != "--" ]; then rev=$1; shift; fi
if [ $# -gt 0 ] && [ "$1" = "--" ]; then shift; fi
root=$(git rev-parse --show-toplevel)
sha=$(git -C "$root" rev-parse --short "$rev")
dir=${TMPDIR:-/tmp}/tideq-bench-$sha
if [ ! -d "$dir" ]; then
  tmp=$(mktemp -d "$dir.XXXX")
  git -C "$root" archive "$rev" packages/core packages/postgres bench package.json | tar -x -C "$tmp"
  mkdir "$tmp/node_modules"
  for entry in "$root"/node_modules/* "$root"/node_modules/.bin; do
    name=$(basename "$entry")
    [ "$name" = "@tideq" ] && continue
    ln -s "$entry" "$tmp/node_modules/$name"
  done
  mv "$tmp" "$dir"
  mkdir "$dir/node_modules/@tideq"
  for name in core postgres; do ln -s "$dir/packages/$name" "$dir/node_modules/@tideq/$name"; done
  ln -s "$dir/bench" "$dir/node_modules/@tideq/bench"
fi
cd "$dir"
export TIDEQ_BENCH_COMMIT=$(git -C "$root" rev-parse --short "$rev")
exec node --conditions=source --import tsx "bench/postgres/${TIDEQ_BENCH_SCRIPT:-bench.ts}" "$@"
