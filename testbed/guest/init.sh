#!/bin/busybox sh
# memreg testbed stage 1 (/init of the busybox initramfs). It only loads virtio + 9p, mounts the host's
# root read-only over 9p and switch_roots into it: the real root is needed so that the kernel's module
# auto-loading (crc32 for rdma_rxe...) finds the host's modprobe. Stage 2 comes from the run's 9p share.
/bin/busybox mkdir -p /proc /sys /dev /newroot
/bin/busybox mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys

fail() {
  echo "memreg-testbed: stage1: $*"
  poweroff -f
  sleep 10
}

while read -r m; do
  insmod "/modules/$m" || fail "insmod $m"
done </modules/order

opts=trans=virtio,version=9p2000.L,msize=512000
mount -t 9p -o "$opts,ro,cache=loose" root /newroot || fail "mounting the host root over 9p"
mount -t tmpfs -o mode=1777 tmpfs /newroot/tmp || fail "tmpfs /tmp"
mount -t tmpfs -o mode=755 tmpfs /newroot/run || fail "tmpfs /run"
mkdir -p /newroot/run/memreg
mount -t 9p -o "$opts" memreg /newroot/run/memreg || fail "mounting the run share"
for d in dev proc sys; do mount --move "/$d" "/newroot/$d" || fail "moving /$d"; done
exec switch_root /newroot /bin/sh /run/memreg/stage2.sh
