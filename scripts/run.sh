#!/usr/bin/env bash
# The README's run command: installs and builds everything, runs the headless demo, then
# serves the web page (web/) on 127.0.0.1 (port: SLING_PORT or 8737) until interrupted.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/build.sh

cli=build/native/slingshot
echo "== demo: $cli demo"
if "$cli" demo --help >/dev/null 2>&1; then
  "$cli" demo
else
  echo "note: '$cli demo' is not available in this build yet; skipping the headless demo." >&2
fi

echo "== web: serving the page (Ctrl-C to stop)"
exec node scripts/serve.mjs --port "${SLING_PORT:-8737}"
