#!/usr/bin/env bash
# Installs opentracker-deno as a systemd service. Idempotent: running it again changes nothing
# that is already right, and never overwrites /etc/opentracker/opentracker.conf.
#
#   scripts/install.sh [--binary ./opentracker]     install (compiled executable, or a deno wrapper)
#   scripts/install.sh --no-ffi                      the wrapper may not call the C library through
#                                                    FFI (then UDP takes the portable path)
#   scripts/install.sh --uninstall [--purge]         remove (keep config and state unless --purge)
#
# Environment: DESTDIR (install into a staging root, e.g. for packaging or tests), PREFIX
# (default /usr/local), DENO (deno executable for the wrapper; default: the one on PATH).
# Without --binary the installed `opentracker` is a wrapper that runs this checkout's main.ts
# with `deno run` and the same permission set `deno task compile` embeds.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr/local}
binary=""
uninstall=0
purge=0
ffi=true
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary=$2; shift 2 ;;
    --uninstall) uninstall=1; shift ;;
    --purge) purge=1; shift ;;
    --no-ffi) ffi=false; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done

bin="$DESTDIR$PREFIX/bin/opentracker"
lib="$DESTDIR$PREFIX/lib/opentracker-deno"
watchdog="$DESTDIR$PREFIX/sbin/opentracker-watchdog"
confdir="$DESTDIR/etc/opentracker"
conf="$confdir/opentracker.conf"
statedir="$DESTDIR/var/lib/opentracker"
unit="$DESTDIR/etc/systemd/system/opentracker.service"

log() { echo "install.sh: $*"; }

systemd_here() { [ -z "$DESTDIR" ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; }

if [ "$uninstall" = 1 ]; then
  if systemd_here; then systemctl disable --now opentracker.service 2>/dev/null || true; fi
  rm -f "$bin" "$unit" "$watchdog"
  rm -rf "$lib"
  if [ "$purge" = 1 ]; then
    rm -rf "$confdir" "$statedir"
    log "removed everything, configuration and state included"
  else
    log "removed the program and the unit; kept $conf and $statedir (--purge removes them)"
  fi
  if systemd_here; then systemctl daemon-reload; fi
  exit 0
fi

install -d -m 0755 "$(dirname "$bin")" "$(dirname "$watchdog")" "$(dirname "$unit")" "$confdir"
install -d -m 0750 "$statedir"

if [ -n "$binary" ]; then
  install -m 0755 "$binary" "$bin"
  log "installed $binary as $bin"
else
  deno=${DENO:-$(command -v deno || true)}
  if [ -z "$deno" ]; then
    echo "install.sh: no compiled executable given (--binary) and no deno on PATH" >&2
    exit 1
  fi
  install -d -m 0755 "$lib"
  cp -R "$repo/main.ts" "$repo/src" "$repo/deno.json" "$lib/"
  [ -f "$repo/deno.lock" ] && cp "$repo/deno.lock" "$lib/"
  # The one definition of the permission set (src/config/permission_flags.ts).
  flags=$("$deno" eval --quiet \
    "import { INSTALL_DIRS, permissionFlags } from '$repo/src/config/permission_flags.ts'; console.log(permissionFlags({ ...INSTALL_DIRS, ffi: $ffi, source: '$PREFIX/lib/opentracker-deno/src' }).join(' '))")
  tmp=$(mktemp)
  cat > "$tmp" <<EOF
#!/bin/sh
# opentracker-deno wrapper written by scripts/install.sh: deno run with the installed permission set.
exec "$deno" run $flags --unstable-net "$PREFIX/lib/opentracker-deno/main.ts" "\$@"
EOF
  install -m 0755 "$tmp" "$bin"
  rm -f "$tmp"
  log "installed a deno run wrapper as $bin ($flags)"
fi

install -m 0755 "$here/watchdog.sh" "$watchdog"

if [ -f "$conf" ]; then
  log "kept the existing $conf"
else
  install -m 0644 "$repo/opentracker.conf.sample" "$conf"
  log "created $conf from the sample"
fi

# Capabilities: none, unless the configuration binds a port below 1024 (the address forms of
# opentracker's listen lines: a.b.c.d[:port], [v6][:port], v6.port; no port means 6969).
listen_port() {
  local v=$1
  if [[ $v =~ ^\[[^]]*\]:([0-9]+) ]]; then echo "${BASH_REMATCH[1]}"
  elif [[ $v =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+:([0-9]+) ]]; then echo "${BASH_REMATCH[1]}"
  elif [[ $v =~ ^[0-9a-fA-F:]*:[0-9a-fA-F]*\.([0-9]+)$ ]]; then echo "${BASH_REMATCH[1]}"
  else echo 6969
  fi
}
low_port=0
while read -r key value _; do
  case "$key" in
    listen.tcp|listen.udp|listen.tcp_udp)
      port=$(listen_port "$value")
      if [ "${port:0:5}" -lt 1024 ] 2>/dev/null; then low_port=1; fi ;;
  esac
done < "$conf"
tmp=$(mktemp)
if [ "$low_port" = 1 ]; then
  sed -e 's/^CapabilityBoundingSet=$/CapabilityBoundingSet=CAP_NET_BIND_SERVICE/' \
      -e 's/^AmbientCapabilities=$/AmbientCapabilities=CAP_NET_BIND_SERVICE/' \
      -e "s#/usr/local/bin/opentracker#$PREFIX/bin/opentracker#" "$here/opentracker.service" > "$tmp"
  log "a listen line uses a port below 1024: the unit gets CAP_NET_BIND_SERVICE"
else
  sed -e "s#/usr/local/bin/opentracker#$PREFIX/bin/opentracker#" "$here/opentracker.service" > "$tmp"
fi
if [ -f "$unit" ] && cmp -s "$tmp" "$unit"; then
  log "unit $unit is up to date"
else
  install -m 0644 "$tmp" "$unit"
  log "installed $unit"
fi
rm -f "$tmp"

if systemd_here; then
  systemctl daemon-reload
  log "run: systemctl enable --now opentracker   (reload the access list: systemctl reload opentracker)"
fi
