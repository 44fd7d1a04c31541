#!/usr/bin/env bash
# The man pages render without a groff warning, and every long option that a
# program's --help lists is documented in its page.
# Usage: check-man.sh PAGE [PROGRAM [SUBCOMMAND]...]
set -uo pipefail
page=$1 prog=${2:-}; shift; [[ $# -gt 0 ]] && shift
fail=0

warnings=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
if [[ -n $warnings ]]; then
  echo "$page: groff warnings:"; echo "$warnings"; fail=1
fi

text=$(groff -man -Tutf8 "$page" 2>/dev/null | col -b)
[[ -n $prog ]] && for sub in "" "$@"; do
  # shellcheck disable=SC2086
  for opt in $("$prog" $sub --help | grep -oE -- '--[a-z][a-z0-9-]+' | sort -u); do
    if ! grep -qF -- "$opt" <<<"$text"; then
      echo "$page: option $opt of '$(basename "$prog") $sub' is not documented"; fail=1
    fi
  done
done
[[ $fail == 0 ]] && echo "$page: ok"
exit $fail
