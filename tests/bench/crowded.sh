#!/usr/bin/env bash
# Converges new SecureQueues in a crowded account: quota.sh's run on a fresh emulator without
# quota mode (so that the account fills quickly), given keys and aliases of other teams first by
# `bench --foreign-keys`. bench prints the calls per new SecureQueue against the design's
# minimum and the tag reads of keys no alias names. Usage: tests/bench/crowded.sh [bench flags],
# e.g.
#   tests/bench/crowded.sh --queues 20 --concurrency 4 --foreign-keys 1500
#   tests/bench/crowded.sh --queues 20 --concurrency 4 --foreign-keys 15000 --foreign-aliases 5000 --keep
#   tests/bench/crowded.sh --queues 20 --concurrency 4 --foreign-keys 1500 --without-status
set -euo pipefail
SECUREQUEUE_EMULATOR_QUOTAS="" exec "$(dirname "${BASH_SOURCE[0]}")/quota.sh" "$@"
