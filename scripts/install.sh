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
# Without --binary the installed `opentracker` is a wrapper that runs a copy of this checkout's
# main.ts and src/ with `deno run` and the same permission set `deno task compile` embeds; a deno
# outside /usr, /opt, /bin and /snap (npm's, under a home directory) is copied beside them, since
# the unit's ProtectHome hides /home, /root and /run/user from the service.
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
    --binary)
      if [ $# -lt 2 ] || [ -z "$2" ]; then
        echo "install.sh: --binary needs a file: the executable deno task compile built (./opentracker)" >&2
        exit 2
      fi
      binary=$2; shift 2 ;;
    --uninstall) uninstall=1; shift ;;
    --purge) purge=1; shift ;;
    --no-ffi) ffi=false; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
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

# Checked before anything is created: a failed install leaves nothing behind.
if [ "$uninstall" = 0 ] && [ -n "$binary" ]; then
  if [ ! -f "$binary" ]; then
    echo "install.sh: --binary $binary: no such file (build it with deno task compile)" >&2
    exit 1
  fi
fi
if [ "$uninstall" = 0 ] && [ -z "$binary" ]; then
  deno=${DENO:-$(command -v deno || true)}
  if [ -z "$deno" ]; then
    echo "install.sh: no compiled executable given (--binary) and no deno on PATH (or in DENO)" >&2
    exit 1
  fi
  deno=$(readlink -f "$deno")
fi

# Installs $1 as $2 with mode $3 unless it is there already; $4 says what it is.
put() {
  if [ -f "$2" ] && cmp -s "$1" "$2"; then
    log "$4 $2 is up to date"
  else
    install -m "$3" "$1" "$2"
    log "installed $4 $2"
  fi
}

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
  put "$binary" "$bin" 0755 "the executable $binary as"
else
  # The program: a fresh copy of main.ts and src/ (files no longer in the checkout go too).
  stage=$(mktemp -d)
  cp -R "$repo/main.ts" "$repo/src" "$repo/deno.json" "$stage/"
  if [ -f "$repo/deno.lock" ]; then cp "$repo/deno.lock" "$stage/"; fi
  run_deno="$deno"
  case "$deno" in
    /usr/*|/opt/*|/bin/*|/snap/*) ;;
    *) cp "$deno" "$stage/deno"; run_deno="$PREFIX/lib/opentracker-deno/deno" ;;
  esac
  if [ -d "$lib" ] && diff -rq "$stage" "$lib" >/dev/null 2>&1; then
    log "the program $lib is up to date"
  else
    rm -rf "$lib"
    install -d -m 0755 "$(dirname "$lib")"
    cp -R "$stage" "$lib"
    chmod -R u=rwX,go=rX "$lib"
    log "installed the program in $lib"
  fi
  rm -rf "$stage"
  if [ "$run_deno" != "$deno" ]; then
    log "with a copy of $deno (the service cannot see home directories)"
  fi
  # The one definition of the permission set (src/config/permission_flags.ts).
  flags=$("$deno" eval --quiet \
    "import { INSTALL_DIRS, permissionFlags } from '$repo/src/config/permission_flags.ts'; console.log(permissionFlags({ ...INSTALL_DIRS, ffi: $ffi, source: '$PREFIX/lib/opentracker-deno/src' }).join(' '))")
  tmp=$(mktemp)
  cat > "$tmp" <<EOF
#!/bin/sh
# opentracker-deno wrapper written by scripts/install.sh: deno run with the installed permission set.
exec "$run_deno" run $flags --unstable-net "$PREFIX/lib/opentracker-deno/main.ts" "\$@"
EOF
  put "$tmp" "$bin" 0755 "the deno run wrapper ($flags) as"
  rm -f "$tmp"
fi

put "$here/watchdog.sh" "$watchdog" 0755 "the watchdog"

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
