#!/usr/bin/env bash
# The shipped alert rules pass promtool's checks and their unit tests, run
# by Prometheus's own rule engine on synthetic series.
# Usage: check-alerts.sh RULES TESTS
# promtool comes with the package prometheus (scripts/setup installs it);
# without it the test is skipped (77), except in CI (CI=true), where it fails.
set -uo pipefail
rules=$1 tests=$2

if ! command -v promtool >/dev/null; then
  if [[ ${CI:-} == true ]]; then
    echo "cannot run in CI: promtool (package prometheus) is not installed" >&2; exit 1
  fi
  echo "skipped: promtool (package prometheus) is not installed"; exit 77
fi
promtool check rules "$rules" || exit 1
# rule_files in the tests name the rules relative to the tests' directory
promtool test rules "$tests"
