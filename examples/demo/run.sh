#!/usr/bin/env bash
# One-command loopback demo of a DANE rollover (real BIND + postfix/nginx, all in temp dirs):
#   bash examples/demo/run.sh [--service=postfix|nginx]     (also: npm run demo)
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/../.."

# 1. Debian packages (named, dig, postfix, nginx, openssl, ...), only when something is missing.
#    test/setup-debian.sh uses sudo when not root; it stops the packages' own services.
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }
missing=""
for b in named dig openssl postfix nginx; do have "$b" || missing="$missing $b"; done
if [ -n "$missing" ]; then
  echo "demo: missing programs:$missing — installing the Debian packages (test/setup-debian.sh)"
  bash test/setup-debian.sh
fi

# 2. Node dependencies (npm ci also builds dist/ via the prepare script); rebuild a stale dist/.
command -v node >/dev/null || { echo "demo: Node.js 20+ is required (apt-get install nodejs npm)" >&2; exit 1; }
if [ ! -d node_modules ]; then
  npm ci
fi
if [ ! -f dist/cli.js ] || [ -n "$(find src -newer dist/cli.js -print -quit)" ]; then
  npm run --silent build
fi

# 3. The demo itself; it cleans up after itself, also on Ctrl-C.
exec npx --no-install tsx examples/demo/demo.ts "$@"
