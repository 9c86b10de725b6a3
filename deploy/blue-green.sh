#!/usr/bin/env bash
# Blue-green deployment of Unite Hub behind nginx (docs/deploy.md).
#
#   deploy/blue-green.sh up       install nginx if missing, start the first colour, start nginx
#   deploy/blue-green.sh switch   start the other colour on its own port (same database), wait for
#                                 /health/ready, point nginx at it (reload), wait for nginx's old
#                                 workers to finish their requests, then SIGTERM the old colour and
#                                 wait for its graceful shutdown (in-flight requests and worker
#                                 batches finish)
#   deploy/blue-green.sh down     stop nginx and the live colour
#   deploy/blue-green.sh status   which colour is live
#
# Environment: the app's own variables (DATABASE_URL, APP_SECRET, …: docs/configuration.md) pass
# through to both colours. Deployment variables:
#   DEPLOY_STATE   state directory: nginx prefix, pid files, logs (default ./deploy/state)
#   NGINX_LISTEN   where nginx serves, host:port (default 127.0.0.1:8080)
#   BLUE_PORT, GREEN_PORT   the colours' ports (default 3101, 3102; bound to 127.0.0.1)
#   APP_COMMAND    how to start a colour (default: node dist/server/server.js, from the repository)
#   MIGRATE        1 (default): run migrations before starting a colour (expand steps only:
#                  docs/deploy.md#expand-and-contract); 0: skip
#   READY_TIMEOUT  seconds to wait for /health/ready (default 60)
#   DRAIN_TIMEOUT  seconds to wait for the old colour to exit (default SHUTDOWN_TIMEOUT_MS/1000 + 10)
# nginx runs as its own instance (own prefix, pid, config) and never touches a system nginx.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
STATE="${DEPLOY_STATE:-$ROOT/deploy/state}"
LISTEN="${NGINX_LISTEN:-127.0.0.1:8080}"
BLUE_PORT="${BLUE_PORT:-3101}"
GREEN_PORT="${GREEN_PORT:-3102}"
APP_COMMAND="${APP_COMMAND:-node dist/server/server.js}"
READY_TIMEOUT="${READY_TIMEOUT:-60}"
DRAIN_TIMEOUT="${DRAIN_TIMEOUT:-$(( ${SHUTDOWN_TIMEOUT_MS:-15000} / 1000 + 10 ))}"

log() { printf '%s blue-green: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

port_of() { if [ "$1" = blue ]; then echo "$BLUE_PORT"; else echo "$GREEN_PORT"; fi; }
other() { if [ "$1" = blue ]; then echo green; else echo blue; fi; }
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
nginx_cmd() { nginx -p "$STATE/" -e "$STATE/error.log" -c "$STATE/nginx.conf" "$@"; }

ensure_nginx() {
  command -v nginx >/dev/null 2>&1 && return
  log "nginx is missing; installing Debian's package"
  if [ "$(id -u)" -ne 0 ]; then die "nginx is not installed and installing it needs root (apt-get install nginx)"; fi
  apt-get update -qq
  # policy-rc.d keeps the package from starting the system nginx service where one is configured.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null
}

render_config() {
  mkdir -p "$STATE/tmp"
  sed -e "s|@PREFIX@|$STATE|g" -e "s|@LISTEN@|$LISTEN|g" "$ROOT/deploy/nginx.conf" >"$STATE/nginx.conf"
}

write_upstream() {
  printf 'upstream unite_hub {\n  server 127.0.0.1:%s;\n}\n' "$(port_of "$1")" >"$STATE/upstream.conf.new"
  mv "$STATE/upstream.conf.new" "$STATE/upstream.conf"
}

migrate() {
  [ "${MIGRATE:-1}" = 1 ] || return 0
  [ -n "${DATABASE_URL:-}" ] || die "DATABASE_URL is required (both colours share one PostgreSQL database)"
  log "applying migrations"
  (cd "$ROOT" && node dist/server/cli/migrate.js) >&2
}

start_colour() {
  local colour="$1" port
  port="$(port_of "$colour")"
  log "starting $colour on 127.0.0.1:$port"
  # setsid: the colour outlives this script and gets no signal meant for it.
  (cd "$ROOT" && PORT="$port" HOST=127.0.0.1 exec setsid $APP_COMMAND >>"$STATE/$colour.log" 2>&1 </dev/null) &
  echo $! >"$STATE/$colour.pid"
  local deadline=$(( $(date +%s) + READY_TIMEOUT ))
  until curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/health/ready"; do
    alive "$(cat "$STATE/$colour.pid")" || die "$colour exited before it was ready; see $STATE/$colour.log"
    [ "$(date +%s)" -lt "$deadline" ] || die "$colour not ready within ${READY_TIMEOUT}s; see $STATE/$colour.log"
    sleep 0.2
  done
  log "$colour is ready"
}

# SIGTERM, then wait for the graceful shutdown to finish; fails if it timed out or was not clean.
drain_colour() {
  local colour="$1" pid
  pid="$(cat "$STATE/$colour.pid" 2>/dev/null || true)"
  alive "$pid" || { log "$colour was not running"; return 0; }
  local lines_before
  lines_before="$(wc -l <"$STATE/$colour.log")"
  log "draining $colour (SIGTERM $pid)"
  kill -TERM "$pid"
  local deadline=$(( $(date +%s) + DRAIN_TIMEOUT ))
  while alive "$pid"; do
    [ "$(date +%s)" -lt "$deadline" ] || { kill -KILL "$pid"; die "$colour did not stop within ${DRAIN_TIMEOUT}s; killed"; }
    sleep 0.1
  done
  rm -f "$STATE/$colour.pid"
  tail -n +"$((lines_before + 1))" "$STATE/$colour.log" | grep -q 'shutdown complete' || die "$colour did not report a clean shutdown; see $STATE/$colour.log"
  log "$colour stopped cleanly"
}

# nginx's worker processes now; after a reload, the old ones exit once their requests are done.
nginx_workers() { pgrep -P "$(cat "$STATE/nginx.pid")" 2>/dev/null | sort || true; }

reload_nginx() {
  local old
  old="$(nginx_workers)"
  nginx_cmd -t -q || die "the rendered nginx configuration is invalid"
  nginx_cmd -s reload
  # The old workers keep serving the requests they hold (on the old colour); wait for them.
  local deadline=$(( $(date +%s) + DRAIN_TIMEOUT ))
  for pid in $old; do
    while alive "$pid" && [ "$(ps -o ppid= -p "$pid" 2>/dev/null | tr -d ' ')" = "$(cat "$STATE/nginx.pid")" ]; do
      [ "$(date +%s)" -lt "$deadline" ] || die "nginx's old worker $pid still busy after ${DRAIN_TIMEOUT}s"
      sleep 0.05
    done
  done
}

cmd_up() {
  ensure_nginx
  mkdir -p "$STATE"
  render_config
  local live
  live="$(cat "$STATE/active" 2>/dev/null || echo blue)"
  if ! alive "$(cat "$STATE/$live.pid" 2>/dev/null || true)"; then
    migrate
    start_colour "$live"
  fi
  write_upstream "$live"
  echo "$live" >"$STATE/active"
  if alive "$(cat "$STATE/nginx.pid" 2>/dev/null || true)"; then
    reload_nginx
  else
    nginx_cmd -t -q || die "the rendered nginx configuration is invalid"
    nginx_cmd
  fi
  log "up: nginx on $LISTEN → $live"
}

cmd_switch() {
  [ -f "$STATE/active" ] || die "nothing is deployed; run up first"
  alive "$(cat "$STATE/nginx.pid" 2>/dev/null || true)" || die "nginx is not running; run up first"
  local from to
  from="$(cat "$STATE/active")"
  to="$(other "$from")"
  if alive "$(cat "$STATE/$to.pid" 2>/dev/null || true)"; then die "$to is already running (a switch in progress?)"; fi
  migrate
  start_colour "$to"
  write_upstream "$to"
  reload_nginx
  echo "$to" >"$STATE/active"
  log "nginx → $to"
  drain_colour "$from"
  log "switched $from → $to"
}

cmd_down() {
  if alive "$(cat "$STATE/nginx.pid" 2>/dev/null || true)"; then
    local pid
    pid="$(cat "$STATE/nginx.pid")"
    nginx_cmd -s quit
    while alive "$pid"; do sleep 0.05; done
  fi
  for colour in blue green; do drain_colour "$colour"; done
  rm -f "$STATE/active"
  log "down"
}

case "${1:-}" in
  up) cmd_up ;;
  switch) cmd_switch ;;
  down) cmd_down ;;
  status) echo "live: $(cat "$STATE/active" 2>/dev/null || echo none)" ;;
  *) echo "usage: $0 up|switch|down|status" >&2; exit 2 ;;
esac
