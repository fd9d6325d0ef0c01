#!/usr/bin/env bash
# What the suite needs from Debian: chromium (browser tests) and gettext (messages), plus
# any package named as an argument whose command has the same name (`make bench`: wrk).
# Installed when missing and when we may (root); otherwise say what is missing.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || missing+=(chromium)
command -v msgfmt >/dev/null 2>&1 || missing+=(gettext)
for extra in "$@"; do
  command -v "$extra" >/dev/null 2>&1 || missing+=("$extra")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing from Debian: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "Missing Debian packages: ${missing[*]} (sudo apt-get install ${missing[*]})." >&2
  echo "make run works without them; make test needs them." >&2
fi
