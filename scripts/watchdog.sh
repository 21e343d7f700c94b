#!/usr/bin/env bash
# Cron watchdog for opentracker-deno: checks that the tracker answers over HTTP and UDP and
# restarts it when it does not. Replaces the seed's "killall -9 and start again" cron jobs:
# with the state file, a restart keeps every swarm.
#
#   * * * * * root /usr/local/sbin/opentracker-watchdog
#
# Settings come from the environment or from /etc/opentracker/watchdog.conf (shell syntax):
#   OT_HOST=127.0.0.1        address to probe
#   OT_HTTP_PORT=6969        TCP port (empty: skip the HTTP probe)
#   OT_UDP_PORT=6969         UDP port (empty: skip the UDP probe)
#   OT_TIMEOUT=5             seconds per probe
#   OT_SERVICE=opentracker   systemd unit restarted when systemd runs it
#   OT_RESTART_CMD=          without systemd: command that starts the tracker in the background
#                            and writes its pid to OT_PIDFILE
#   OT_PIDFILE=/run/opentracker.pid
#   OT_STOP_WAIT=30          seconds a stopping tracker gets to write its state before SIGKILL
#   OT_LOCK=/run/lock/opentracker-watchdog.lock
#   OT_LOG=                  log file (default: stderr, and syslog through logger)
# Exit status: 0 healthy or restarted, 1 restart impossible or failed, 2 another watchdog runs
# (or an unknown argument).
set -uo pipefail

# Arguments: only help. Anything else is refused before the watchdog touches the service.
case "${1-}" in
  "") ;;
  -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
  *)
    echo "opentracker-watchdog: unknown argument: $1 (it takes none: settings come from the" \
      "environment or /etc/opentracker/watchdog.conf; -h lists them)" >&2
    exit 2 ;;
esac

[ -f /etc/opentracker/watchdog.conf ] && . /etc/opentracker/watchdog.conf
OT_HOST=${OT_HOST:-127.0.0.1}
OT_HTTP_PORT=${OT_HTTP_PORT-6969}
OT_UDP_PORT=${OT_UDP_PORT-6969}
OT_TIMEOUT=${OT_TIMEOUT:-5}
OT_SERVICE=${OT_SERVICE:-opentracker}
OT_RESTART_CMD=${OT_RESTART_CMD:-}
OT_PIDFILE=${OT_PIDFILE:-/run/opentracker.pid}
OT_STOP_WAIT=${OT_STOP_WAIT:-30}
OT_LOCK=${OT_LOCK:-/run/lock/opentracker-watchdog.lock}
OT_LOG=${OT_LOG:-}

log() {
  local line
  line="$(date '+%Y-%m-%dT%H:%M:%S%z') opentracker-watchdog: $*"
  if [ -n "$OT_LOG" ]; then echo "$line" >> "$OT_LOG"; else echo "$line" >&2; fi
  command -v logger >/dev/null 2>&1 && logger -t opentracker-watchdog -- "$*" 2>/dev/null
  return 0
}

# One watchdog at a time: a slow restart must not overlap with the next cron run.
mkdir -p "$(dirname "$OT_LOCK")" 2>/dev/null
exec 9>"$OT_LOCK" || { log "cannot open lock $OT_LOCK"; exit 1; }
if ! flock -n 9; then log "another watchdog is running"; exit 2; fi

probe_http() {
  local reply
  reply=$(timeout "$OT_TIMEOUT" bash -c '
    exec 3<>"/dev/tcp/$1/$2" || exit 1
    printf "GET /stats?mode=version HTTP/1.0\r\nConnection: close\r\n\r\n" >&3
    head -c 12 <&3' _ "$OT_HOST" "$OT_HTTP_PORT" 2>/dev/null)
  # Any HTTP status proves the event loop runs (403 when stats are restricted).
  [[ $reply == HTTP/1.[01]\ [2345]* ]]
}

probe_udp() {
  local reply
  # A BEP 15 connect with transaction id "WDOG"; the reply echoes action 0 and the id.
  reply=$(timeout "$OT_TIMEOUT" bash -c '
    exec 3<>"/dev/udp/$1/$2" || exit 1
    printf "\x00\x00\x04\x17\x27\x10\x19\x80\x00\x00\x00\x00WDOG" >&3
    head -c 8 <&3 | od -An -tx1' _ "$OT_HOST" "$OT_UDP_PORT" 2>/dev/null | tr -d ' \n')
  [ "$reply" = "0000000057444f47" ]
}

problems=()
if [ -n "$OT_HTTP_PORT" ] && ! probe_http; then problems+=("no HTTP answer on $OT_HOST:$OT_HTTP_PORT"); fi
if [ -n "$OT_UDP_PORT" ] && ! probe_udp; then problems+=("no UDP answer on $OT_HOST:$OT_UDP_PORT"); fi
if [ ${#problems[@]} -eq 0 ]; then exit 0; fi
log "unhealthy: ${problems[*]} (timeout ${OT_TIMEOUT}s)"

if [ -z "$OT_RESTART_CMD" ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ] \
  && systemctl cat "$OT_SERVICE" >/dev/null 2>&1; then
  # systemd stops the old process (SIGTERM, then SIGKILL after TimeoutStopSec) before starting
  # one new instance.
  if systemctl restart "$OT_SERVICE"; then log "restarted $OT_SERVICE through systemd"; exit 0; fi
  log "systemctl restart $OT_SERVICE failed"
  exit 1
fi

if [ -z "$OT_RESTART_CMD" ]; then
  log "cannot restart: no systemd unit $OT_SERVICE and no OT_RESTART_CMD"
  exit 1
fi

# Never a second instance: stop the recorded one first (SIGCONT wakes a stopped process so it
# can handle SIGTERM and write its state; SIGKILL if it does not finish in time).
if [ -f "$OT_PIDFILE" ]; then
  pid=$(cat "$OT_PIDFILE" 2>/dev/null)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    log "stopping unresponsive tracker pid $pid"
    kill -TERM "$pid" 2>/dev/null
    kill -CONT "$pid" 2>/dev/null
    waited=0
    while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt $((OT_STOP_WAIT * 10)) ]; do
      sleep 0.1
      waited=$((waited + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "pid $pid did not stop within ${OT_STOP_WAIT}s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null
      while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    fi
  fi
fi
# The started tracker must not inherit the lock (fd 9), or it would hold it forever.
if sh -c "$OT_RESTART_CMD" 9>&-; then
  log "restarted the tracker with: $OT_RESTART_CMD"
  exit 0
fi
log "restart command failed: $OT_RESTART_CMD"
exit 1
