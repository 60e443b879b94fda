#!/usr/bin/env bash
# What a new user gets: clones the committed HEAD into a temporary folder and runs the
# README's two commands there exactly as written (`make demo`, then `make test`), then
# prints PASS/FAIL and the wall time of each. Exits non-zero when either fails.
#
#   scripts/fresh-clone-check.sh           # the temporary clone is removed on success
#   scripts/fresh-clone-check.sh --keep    # keep it (it is always kept after a failure)
#
# Uncommitted changes are not part of the check (a note says so). The clone starts with
# no virtualenv, stamps or model files; the machine's Debian packages and pip cache are
# what they are, as on any machine that ran it before.
set -uo pipefail

keep=0
[ "${1:-}" = "--keep" ] && keep=1

repo="$(cd "$(dirname "$0")/.." && pwd)"
head="$(git -C "$repo" rev-parse HEAD)"
if [ -n "$(git -C "$repo" status --porcelain)" ]; then
  echo "note: $repo has uncommitted or untracked changes; checking the committed HEAD only"
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/deid-fresh-clone.XXXXXX")"
clone="$work/deid"
git clone --quiet --no-hardlinks "$repo" "$clone"
git -C "$clone" checkout --quiet --detach "$head"
echo "fresh clone of $(git -C "$clone" log -1 --format='%h %s') in $clone"

fmt() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

commands=("make demo" "make test")
results=()
failed=0
total_start=$(date +%s)
for cmd in "${commands[@]}"; do
  log="$work/${cmd// /-}.log"
  echo "=== $cmd (log: $log)"
  start=$(date +%s)
  # A clean environment as a new user's shell would have it: no active virtualenv,
  # no model folder or import path carried over from this checkout.
  (cd "$clone" && env -u VIRTUAL_ENV -u PYTHONPATH -u DEID_MODELS_DIR $cmd) 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  secs=$(($(date +%s) - start))
  if [ "$rc" -eq 0 ]; then
    results+=("PASS  $cmd  $(fmt "$secs")")
  else
    results+=("FAIL  $cmd  $(fmt "$secs")  (exit $rc, log: $log)")
    failed=1
  fi
done

echo "=== fresh-clone check of ${head:0:12}"
printf '%s\n' "${results[@]}"
echo "total $(fmt $(($(date +%s) - total_start)))"
if [ "$failed" -eq 0 ] && [ "$keep" -eq 0 ]; then
  rm -rf "$work"
else
  echo "clone kept in $clone"
fi
if [ "$failed" -ne 0 ]; then
  echo "RESULT: FAIL"
  exit 1
fi
echo "RESULT: PASS"
