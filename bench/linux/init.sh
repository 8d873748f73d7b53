#!/bin/busybox sh
# /init of `npm run bench:linux`: the workloads of ../shared/bench/qemu-tcg-anchor.sh, unchanged
# (SHA_MIB=32, LOOP_N=200000): mount, the uptime marker, dd 32 MiB to tmpfs, busybox sha256sum of
# it, a 200,000-step busybox sh loop (and the parallel loop when there is more than one CPU),
# poweroff. Each ANCHOR- line carries the guest's own timing; the host timestamps them as well.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
read up idle < /proc/uptime
echo "ANCHOR-BOOTED uptime=$up"
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs -o size=64m tmpfs /tmp
now() { read u i < /proc/uptime; echo $u; }
el() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
ncpu=$(grep -c '^processor' /proc/cpuinfo)
model=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: *//; s/ /_/g')
cs=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)
echo "ANCHOR-INFO cpus=$ncpu kernel=$(uname -r) clocksource=$cs model=$model"
t0=$(now); dd if=/dev/zero of=/tmp/z bs=1M count=32 2>/dev/null; t1=$(now)
echo "ANCHOR-DD $(el $t0 $t1)"
t0=$(now); sum=$(busybox sha256sum /tmp/z); t1=$(now)
echo "ANCHOR-SHA $(el $t0 $t1) ${sum%% *}"
t0=$(now); i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; t1=$(now)
echo "ANCHOR-LOOP $(el $t0 $t1) i=$i"
if [ "$ncpu" -gt 1 ]; then
    t0=$(now)
    k=0; while [ $k -lt $ncpu ]; do
        ( i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done ) &
        k=$((k+1))
    done
    wait; t1=$(now)
    echo "ANCHOR-LOOPPAR $(el $t0 $t1) copies=$ncpu"
fi
echo "ANCHOR-DONE uptime=$(now)"
poweroff -f
