#!/usr/bin/env bash
# Refuses unsafe libc calls in the C sources (as curl's checksrc does):
# unbounded copies and formatting, and conversions without error reporting.
set -uo pipefail
cd "$(dirname "$0")/.."
banned='\b(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|atoll|atof|strtok|strncpy|strncat)[[:space:]]*\('
hits=$(grep -rnE "$banned" backend/src backend/tests/unit backend/tools backend/fuzz 2>/dev/null | grep -vE '^\S+:[0-9]+:\s*(//|/?\*)')
if [ -n "$hits" ]; then
  echo "checksrc: banned functions used:"
  echo "$hits"
  exit 1
fi
echo "checksrc: $(find backend/src backend/tests/unit backend/tools backend/fuzz -name '*.[ch]' | wc -l) files clean"
