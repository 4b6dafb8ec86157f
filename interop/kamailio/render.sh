#!/bin/sh
# Renders one role's Kamailio configs (kamailio.cfg, <role>.xml, db/ tables) into OUT_DIR, filling the
# placeholders in double braces from NAME=VALUE arguments (RUN_DIR is OUT_DIR).
#   interop/kamailio/render.sh icscf /tmp/icscf ICSCF_ADDRESS=127.0.46.12 ICSCF_PORT=5060 ...
# then: kamailio -DD -E -f /tmp/icscf/kamailio.cfg -Y /tmp/icscf -P /tmp/icscf/kamailio.pid
set -eu
role=$1; out=$2; shift 2
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
script="s|{{RUN_DIR}}|$out|g;"
for kv in "$@"; do
  script="$script s|{{${kv%%=*}}}|${kv#*=}|g;"
done
(cd "$here/$role" && find . -type f) | while read -r f; do
  mkdir -p "$out/$(dirname "$f")"
  sed "$script" "$here/$role/$f" > "$out/$f"
done
if grep -rn '{{[A-Z_]*}}' "$out"; then echo "render.sh: placeholders left unfilled (above)" >&2; exit 1; fi
