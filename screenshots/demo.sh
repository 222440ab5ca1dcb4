# The small workload the screenshots show: a "shop" (supervisor, web, queue
# worker) and a Kubernetes-shaped nginx pod.  Not run directly:
# regenerate.sh starts each role as `ROLE=... exec -a NAME bash < demo.sh`,
# so a process's command line is just NAME (bash reads this script from
# stdin) and looks like what it stands for.
#
# Environment: ROLE, DEMO (this file), FIFO (a named pipe), POD_CGROUP (the
# pod container's cgroup directory), CONTAINER_ID.  The cwd is the shop's
# directory; the console's filter picks the demo out by it.
set -u

# A pause without a child process (a `sleep` would add rows to the tree).
idle() { read -r -t "$1" _ <>"$FIFO" || true; }

# Burns a little CPU so the CPU% column and the detail graphs show something.
work() { for ((i = 0; i < $1; i++)); do :; done; }

# start ROLE NAME [USER]: a child running ROLE, titled NAME.
start() {
  if [ -n "${3:-}" ]; then
    # shellcheck disable=SC2016 # expanded by the inner bash
    ROLE=$1 setpriv --reuid="$3" --regid="$3" --clear-groups \
      bash -c 'exec -a "$0" bash <"$DEMO"' "$2" </dev/null &
  else
    (ROLE=$1 exec -a "$2" bash <"$DEMO") &
  fi
}

case "$ROLE" in
  supervisor)
    seq -f 'order-%06g,widget,3,19.99' 1 40000 >orders.csv
    start web "shop-web --listen 127.0.0.1:8080 --workers 2" 33
    start queue "shop-worker --queue orders --batch 500" 33
    start shim "containerd-shim-runc-v2 -namespace k8s.io -id $CONTAINER_ID -address /run/containerd/containerd.sock"
    wait
    ;;
  web)
    while :; do work 40000; idle 0.5; done
    ;;
  queue)
    # One short-lived child per batch: exec and exit events for the tree.
    while :; do gzip -6 -c orders.csv </dev/null >/dev/null; idle 4; done
    ;;
  shim)
    # The pod's main process goes into the container's cgroup, so it and
    # its children carry the container id and pod uid.
    (echo "$BASHPID" >"$POD_CGROUP/cgroup.procs" &&
      ROLE=nginx exec -a "nginx: master process nginx -g daemon off;" bash <"$DEMO") &
    wait
    ;;
  nginx)
    start nginx-worker "nginx: worker process" 33
    start nginx-worker "nginx: worker process" 33
    wait
    ;;
  nginx-worker)
    while :; do work $((RANDOM % 12000)); idle 1; done
    ;;
  *)
    echo "demo.sh: unknown ROLE '$ROLE'" >&2
    exit 2
    ;;
esac
