#!/bin/sh
# memreg testbed stage 2 (PID 1 after switch_root, running from the host's root mounted read-only).
# Mounts the writable shares, brings up Soft-RoCE (rxe0 on a guest-only veth pair), then runs the
# command with stdout/stderr on virtio-serial ports (the serial console only carries kernel noise).
# The host writes spec.sh next to this file: variables, share/user_env calls and `set -- argv`.
R=/run/memreg
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
OUT=/dev/console
ERR=/dev/console

finish() {
  echo "$1" >"$R/rc"
  sync
  /bin/busybox poweroff -f || echo o >/proc/sysrq-trigger
  sleep 30
}
fail() {
  echo "memreg-testbed: $*" >/dev/console
  [ "$ERR" = /dev/console ] || echo "memreg-testbed: $*" >"$ERR"
  finish "error $*"
}
# Writable 9p shares (the project, the caller's cwd) mounted at the same paths as on the host.
# cache=loose: with cache=none every stat/readlink is a 9p round trip and `deno run` took minutes;
# the guest is short-lived and `sync`s before powering off, so its writes still reach the host.
share() {
  mkdir -p "$2" 2>/dev/null # only needed (and possible) below the guest's own tmpfs /tmp or /run
  mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=loose "$1" "$2" || fail "mounting $2"
}

mkdir -p /dev/pts /dev/shm /dev/hugepages
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
hostname memreg-testbed

# Output ports first, so that later failures reach the caller's stderr.
i=0
while [ $i -lt 50 ]; do
  for p in /sys/class/virtio-ports/*; do
    case "$(cat "$p/name" 2>/dev/null)" in
    memreg.out) OUT=/dev/${p##*/} ;;
    memreg.err) ERR=/dev/${p##*/} ;;
    esac
  done
  [ "$OUT" != /dev/console ] && [ "$ERR" != /dev/console ] && break
  i=$((i + 1))
  sleep 0.1
done

. "$R/spec.sh"

# A fetched kernel's modules live in the cache, not in the host's /lib/modules.
if [ -n "$MODULES_TAG" ]; then
  mount -t tmpfs tmpfs /lib/modules || fail "tmpfs /lib/modules"
  mkdir -p "/lib/modules/$(uname -r)"
  mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,ro "$MODULES_TAG" "/lib/modules/$(uname -r)" ||
    fail "mounting the kernel modules"
fi

# Soft-iWARP on netdev $1, when the host built siw.ko for this kernel (testbed/siw.ts). Best effort: a failure
# is one line on the command's stderr, rxe0 stays.
siw_on() {
  [ -f "$R/siw.ko" ] || return
  for m in $(modinfo -F depends "$R/siw.ko" 2>/dev/null | tr , ' '); do modprobe "$m" 2>/dev/null; done
  if ! err=$(insmod "$R/siw.ko" 2>&1); then
    echo "memreg-testbed: no siw0: insmod siw.ko: $err" >"$ERR"
  elif ! err=$(rdma link add siw0 type siw netdev "$1" 2>&1); then
    echo "memreg-testbed: no siw0: rdma link add siw0: $err" >"$ERR"
  fi
}

modprobe rdma_rxe || fail "modprobe rdma_rxe"
modprobe rdma_ucm 2>/dev/null # rdma_cm for --rdma-cm (optional: nothing else needs it)
ip link set lo up
if [ -n "$PAIR_ADDR" ]; then
  # One of a pair (testbed/pair.ts): rxe0 on the virtio NIC whose wire leads to the other guest.
  modprobe virtio_net || fail "modprobe virtio_net"
  i=0
  until [ -e /sys/class/net/eth0 ]; do
    i=$((i + 1))
    [ $i -gt 100 ] && fail "no eth0 (virtio-net)"
    sleep 0.1
  done
  hostname "$PAIR_HOST"
  printf '127.0.0.1 localhost\n%s %s\n%s %s\n' "${PAIR_ADDR%/*}" "$PAIR_HOST" "$PAIR_PEER_ADDR" "$PAIR_PEER_HOST" \
    >/run/memreg-hosts && mount --bind /run/memreg-hosts /etc/hosts
  ip addr add "$PAIR_ADDR" dev eth0
  ip link set eth0 up
  rdma link add rxe0 type rxe netdev eth0 || fail "rdma link add rxe0"
  # siw0 on the second NIC (its own wire): rdma_cm finds a device by the netdev of the address it resolves,
  # and rxe0 takes the addresses of eth0's upper devices too, so siw0 needs a netdev and address of its own.
  if [ -f "$R/siw.ko" ] && [ -n "$PAIR_SIW_MAC" ]; then
    i=0
    until nic=$(grep -l "^$PAIR_SIW_MAC\$" /sys/class/net/*/address 2>/dev/null) || [ $i -gt 100 ]; do
      i=$((i + 1))
      sleep 0.1
    done
    nic=$(echo "$nic" | head -n 1)
    nic=${nic%/address}
    nic=${nic##*/}
    if [ -n "$nic" ] && ip addr add "$PAIR_SIW_ADDR" dev "$nic" && ip link set "$nic" up; then
      siw_on "$nic"
    else
      echo "memreg-testbed: no siw0: no NIC with $PAIR_SIW_MAC" >"$ERR"
    fi
  fi
else
  # Soft-RoCE: both QPs of a test use rxe0 and meet through rxe's loopback.
  ip link add veth0 type veth peer name veth1 || fail "creating the veth pair"
  ip addr add 10.0.0.1/24 dev veth0
  ip addr add 10.0.0.2/24 dev veth1
  ip link set veth0 up
  ip link set veth1 up
  rdma link add rxe0 type rxe netdev veth0 || fail "rdma link add rxe0"
  # Soft-iWARP beside it on veth1, so that rdma_cm finds rxe0 by 10.0.0.1 and siw0 by 10.0.0.2.
  siw_on veth1
fi
i=0
until grep -q ACTIVE /sys/class/infiniband/rxe0/ports/1/state 2>/dev/null; do
  i=$((i + 1))
  [ $i -gt 100 ] && fail "rxe0 port 1 did not become ACTIVE"
  sleep 0.1
done

echo "${HUGEPAGES:-0}" >/proc/sys/vm/nr_hugepages
mount -t hugetlbfs hugetlbfs /dev/hugepages
ulimit -l unlimited

# Deno needs a writable DENO_DIR: overlay a tmpfs on the host's cache (offline npm metadata, compiled
# code), or copy its npm part if overlayfs refuses the 9p lower layer. The guest's own files live in /run
# (tmpfs), never in /tmp, which may be the host's /tmp shared for a user's path.
S=/run/memreg-guest
mkdir -p $S/deno-dir $S/home
if [ -n "$HOST_DENO_DIR" ] && [ -d "$HOST_DENO_DIR" ]; then
  mkdir -p $S/.deno-upper $S/.deno-work
  mount -t overlay overlay -o "lowerdir=$HOST_DENO_DIR,upperdir=$S/.deno-upper,workdir=$S/.deno-work" \
    $S/deno-dir 2>/dev/null || cp -a "$HOST_DENO_DIR/npm" $S/deno-dir/ 2>/dev/null
fi

# Relays the host's signals (lines in $R/signals) to the command's process group, as a terminal's Ctrl-C
# would; and if the host's heartbeat ($R/alive) stops, memreg was killed: stop the command and power off.
watch_host() {
  done_n=0 last="" since=0
  while kill -0 "$1" 2>/dev/null; do
    n=0
    if [ -f "$R/signals" ]; then
      while read -r sig; do
        n=$((n + 1))
        [ $n -gt $done_n ] && /bin/kill -s "$sig" -- "-$1" 2>/dev/null
      done <"$R/signals"
      done_n=$n
    fi
    beat="" up=""
    read -r beat <"$R/alive" 2>/dev/null
    read -r up _ </proc/uptime
    up=${up%%.*}
    [ "$beat" = "$last" ] || since=$up last=$beat
    if [ $((up - since)) -ge 10 ]; then # no beat for 10 s (the host writes one a second)
      echo "memreg-testbed: the host side is gone; stopping the command" >/dev/console
      /bin/kill -s KILL -- "-$1" 2>/dev/null
      return
    fi
    sleep 0.5
  done
}

[ -n "$TESTBED_READY" ] && echo "$TESTBED_READY" >/dev/console
(
  cd "$CWD" || exit 125
  export HOME=$S/home DENO_DIR=$S/deno-dir DENO_NO_UPDATE_CHECK=1
  user_env
  export MEMREG_TESTBED=1 MEMREG_TESTBED_KERNEL="$(uname -r)"
  # Its own process group, which the relayed signals reach as a whole; and SIGINT/SIGQUIT back to their
  # defaults, which a shell without job control ignores for what it starts in the background.
  exec setsid env --default-signal=INT,TERM,QUIT "$@"
) >"$OUT" 2>"$ERR" </dev/null &
cmd=$!
watch_host $cmd &
wait $cmd
rc=$?
kill $! 2>/dev/null
finish "rc $rc"
