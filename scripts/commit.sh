#!/usr/bin/env bash
# Commit only the named paths, retrying while another commit holds the index lock.
# Usage: scripts/commit.sh "message" path [path ...]
set -u
msg=$1; shift
for i in $(seq 1 30); do
  if git add -- "$@" 2>/tmp/commit.err && git commit -q -m "$msg" -- "$@" 2>>/tmp/commit.err; then
    git log --oneline -1; exit 0
  fi
  grep -q "index.lock" /tmp/commit.err || { cat /tmp/commit.err; exit 1; }
  sleep 1
done
echo "could not get the git index lock" >&2; exit 1
