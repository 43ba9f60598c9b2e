#!/bin/bash
# build-guest.sh - build the vmbalance lab guest: kernel + initramfs.
#
# Kernel: the image package that linux-image-cloud-amd64 depends on, fetched
# with `apt-get download` and unpacked with `dpkg-deb -x` (never installed).
# Initramfs: busybox-static, the virtio modules (+ their dependencies, with a
# modules.dep made by busybox depmod), an /init script and the static
# workload (workload.c).
#
# Output goes to a cache directory keyed by a hash of every input (workload.c,
# this script (which contains /init and the module list), the busybox version,
# the kernel package name+version, the gcc version).  A cache hit takes
# ~0.05 s: the apt-cache answer (~1 s here) is remembered until the files in
# /var/lib/apt/lists change.  Prints shell-evaluable lines at the end:
#   VMB_KERNEL=/path/vmlinuz
#   VMB_INITRD=/path/initramfs.img
#   VMB_GUEST_DIR=/path
#
# Environment:
#   VMB_LAB_CACHE       cache dir (default /var/cache/vmbalance-lab)
#   VMB_LAB_KERNEL_PKG  kernel image package (default: the dependency of
#                       linux-image-cloud-amd64)
#   VMB_LAB_OFFLINE=1   do not ask apt; use the newest cached kernel
# Options: --force (rebuild even on a cache hit), -q (only the output lines)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SELF="$HERE/$(basename "${BASH_SOURCE[0]}")"
CACHE=${VMB_LAB_CACHE:-/var/cache/vmbalance-lab}
WORKLOAD_SRC="$HERE/workload.c"
MODULES="virtio_pci virtio_balloon virtio_console"   # + dependencies
OPTIONAL_MODULES="virtio_mem"   # loaded when the kernel has them (virtio-mem guests, s15c)
FORCE=0 QUIET=0

for a in "$@"; do
	case $a in
	--force) FORCE=1 ;;
	-q) QUIET=1 ;;
	-h|--help) sed -n '2,/^set -euo/p' "$SELF" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "build-guest.sh: unknown argument: $a" >&2; exit 2 ;;
	esac
done

say() { [ "$QUIET" = 1 ] || echo "build-guest: $*" >&2; }
die() { echo "build-guest: error: $*" >&2; exit 1; }

for t in busybox gcc dpkg-deb apt-get sha256sum flock; do
	command -v "$t" >/dev/null || die "missing tool '$t'"
done
[ -x /bin/busybox ] || die "/bin/busybox missing (Debian package busybox-static)"
busybox --list | grep -x depmod >/dev/null || die "busybox has no depmod applet (need busybox-static)"

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9            # one build at a time (several `lab.sh start` in parallel)

# ---- which kernel ---------------------------------------------------------
kernel_pkg_version() {   # "PKG VERSION" of the kernel image package
	local pkg=${VMB_LAB_KERNEL_PKG:-} ver
	if [ -z "$pkg" ]; then
		# The metapackage pins its image: "Depends: linux-image-X (= VER)".
		read -r pkg ver < <(apt-cache show --no-all-versions linux-image-cloud-amd64 2>/dev/null |
			sed -n 's/^Depends:.*\(linux-image-[0-9][^ ,]*\) (= \([^)]*\)).*/\1 \2/p' | head -1) || true
	else
		ver=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null | sed -n 's/^Version: //p' | head -1)
	fi
	[ -n "$pkg" ] && [ -n "$ver" ] || return 1
	echo "$pkg $ver"
}

# apt-cache takes ~1 s here (the pkgcache is disabled), so remember its answer
# until the package lists (or the override) change.
apt_stamp() {
	{ echo "${VMB_LAB_KERNEL_PKG:-}"
	  stat -c '%n %Y %s' /var/lib/apt/lists/*Packages* /etc/apt/preferences* 2>/dev/null
	} | sha256sum | cut -c1-16
}

if [ "${VMB_LAB_OFFLINE:-0}" != 1 ]; then
	stamp=$(apt_stamp)
	memo="$CACHE/kernel/resolved"
	if [ -f "$memo" ] && read -r s pv <"$memo" && [ "$s" = "$stamp" ]; then
		:
	elif pv=$(kernel_pkg_version); then
		mkdir -p "$CACHE/kernel"
		echo "$stamp $pv" >"$memo"
	else
		pv=
	fi
fi
if [ "${VMB_LAB_OFFLINE:-0}" != 1 ] && [ -n "${pv:-}" ]; then
	KPKG=${pv% *} KVER=${pv#* }
else
	# Offline / apt not usable: the newest kernel already in the cache.
	kd=$(ls -1dt "$CACHE"/kernel/*_*/ 2>/dev/null | head -1 || true)
	[ -n "$kd" ] || die "cannot resolve the kernel package (apt-cache) and none is cached;
  run 'apt-get update' or set VMB_LAB_KERNEL_PKG"
	kd=$(basename "$kd")
	KPKG=${kd%%_*} KVER=${kd#*_}
	say "offline: using cached kernel $KPKG $KVER"
fi
KDIR="$CACHE/kernel/${KPKG}_${KVER}"

# ---- the /init script (part of this file, so part of the hash) ------------
read -r -d '' INIT_SCRIPT <<'EOF' || true
#!/bin/busybox sh
# vmbalance lab guest /init (PID 1).
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# modprobe reads /lib/modules/$(uname -r)/modules.dep and loads the
# dependencies first, in modules.dep order.
# vmb.nomod=NAME on the kernel command line leaves a module out (a guest without its
# balloon driver, for instance).
for m in $(cat /etc/vmb-modules); do
	case " $(cat /proc/cmdline) " in
	*" vmb.nomod=$m "*) echo "vmb-init: $m left out (vmb.nomod)"; continue ;;
	esac
	modprobe "$m" || echo "vmb-init: modprobe $m failed"
done
# devtmpfs creates /dev/vport*p* asynchronously; the workload waits for it.
echo "vmb-init: ready kernel=$(uname -r) cpus=$(grep -c ^processor /proc/cpuinfo) $(grep MemTotal /proc/meminfo | tr -s ' ')"
while true; do
	/bin/vmb-workload
	echo "vmb-init: vmb-workload exited rc=$?, restarting in 1 s"
	sleep 1
done
EOF

# ---- cache key --------------------------------------------------------------
BB_VER=$(dpkg-query -W -f='${Version}' busybox-static 2>/dev/null || busybox | head -1)
GCC_VER=$(gcc -dumpfullversion 2>/dev/null || gcc -dumpversion)
[ -f "$WORKLOAD_SRC" ] || die "missing $WORKLOAD_SRC"
KEY=$( {
	echo "kernel $KPKG $KVER"
	echo "busybox $BB_VER"
	echo "gcc $GCC_VER"
	sha256sum <"$WORKLOAD_SRC"
	sha256sum <"$SELF"
} | sha256sum | cut -c1-16)
OUT="$CACHE/guest-$KEY"

emit() {
	echo "VMB_KERNEL=$OUT/vmlinuz"
	echo "VMB_INITRD=$OUT/initramfs.img"
	echo "VMB_GUEST_DIR=$OUT"
}

if [ "$FORCE" = 0 ] && [ -f "$OUT/.complete" ]; then
	say "cache hit: $OUT"
	emit
	exit 0
fi

T0=$(date +%s.%N)
TMP=$(mktemp -d "$CACHE/.build.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# ---- kernel: download + unpack (cached per package version) ---------------
if [ ! -f "$KDIR/.complete" ]; then
	say "fetching $KPKG $KVER"
	mkdir -p "$TMP/deb"
	# apt-get download writes to the cwd; _apt cannot write to TMP (0700),
	# so the "unsandboxed" warning is expected.
	(cd "$TMP/deb" && apt-get download -q "$KPKG=$KVER" >&2 2>"$TMP/apt.err") || {
		cat "$TMP/apt.err" >&2
		die "apt-get download $KPKG=$KVER failed"
	}
	deb=$(ls "$TMP"/deb/*.deb)
	dpkg-deb -x "$deb" "$TMP/kroot"
	krel=$(ls "$TMP/kroot/lib/modules")
	[ -f "$TMP/kroot/boot/vmlinuz-$krel" ] || die "no vmlinuz in $deb"
	rm -rf "$KDIR.new"
	mkdir -p "$KDIR.new"
	cp "$TMP/kroot/boot/vmlinuz-$krel" "$KDIR.new/vmlinuz"
	cp "$TMP/kroot/boot/config-$krel" "$KDIR.new/config"
	# Keep only the module tree (small enough, and any module list change
	# then needs no new download).
	mkdir -p "$KDIR.new/lib/modules"
	cp -a "$TMP/kroot/lib/modules/$krel" "$KDIR.new/lib/modules/"
	echo "$krel" >"$KDIR.new/release"
	touch "$KDIR.new/.complete"
	rm -rf "$KDIR"
	mv "$KDIR.new" "$KDIR"
	rm -rf "$TMP/deb" "$TMP/kroot"
fi
KREL=$(cat "$KDIR/release")
KMOD="$KDIR/lib/modules/$KREL"

# ---- initramfs tree -----------------------------------------------------------
R="$TMP/root"
mkdir -p "$R"/{bin,dev,proc,sys,etc,tmp,lib/modules/"$KREL"}
cp /bin/busybox "$R/bin/busybox"
printf '%s\n' "$INIT_SCRIPT" >"$R/init"
chmod 0755 "$R/init"
# The kernel opens /dev/console before /init runs (devtmpfs is not yet mounted).
mknod -m 0600 "$R/dev/console" c 5 1
mknod -m 0666 "$R/dev/null" c 1 3

# Modules: the wanted ones plus their dependencies (the .ko's "depends="
# modinfo field); built-in ones (modules.builtin) need nothing.
modpath() { (cd "$KMOD" && find kernel -name "$1.ko" -o -name "$1.ko.xz" -o -name "$1.ko.zst" | head -1); }
declare -A seen=()
want=()
add_mod() {
	local m=${1//-/_} p dep
	[ -n "${seen[$m]:-}" ] && return 0
	seen[$m]=1
	if grep -q "/$m.ko\$" "$KMOD/modules.builtin" 2>/dev/null; then
		say "module $m is built in"
		return 0
	fi
	p=$(modpath "$m")
	[ -n "$p" ] || die "module $m not found in $KREL"
	case $p in *.ko) ;; *) die "compressed module $p: not supported" ;; esac
	for dep in $(tr '\0' '\n' <"$KMOD/$p" | sed -n 's/^depends=//p' | tr ',' ' '); do
		add_mod "$dep"
	done
	mkdir -p "$R/lib/modules/$KREL/$(dirname "$p")"
	cp "$KMOD/$p" "$R/lib/modules/$KREL/$p"
	want+=("$m")
}
for m in $OPTIONAL_MODULES; do
	if [ -n "$(modpath "$m")" ] || grep -q "/$m.ko\$" "$KMOD/modules.builtin" 2>/dev/null; then
		MODULES+=" $m"
	else
		say "optional module $m not in $KREL: left out"
	fi
done
for m in $MODULES; do add_mod "$m"; done
cp "$KMOD/modules.builtin" "$KMOD/modules.order" "$R/lib/modules/$KREL/" 2>/dev/null || true
busybox depmod -b "$R" "$KREL"
[ -s "$R/lib/modules/$KREL/modules.dep" ] || die "depmod produced no modules.dep"
echo "$MODULES" >"$R/etc/vmb-modules"
say "modules: ${want[*]}"

# The workload, static.
gcc -static -O2 -pthread -Wall -Wextra -Werror -o "$R/bin/vmb-workload" "$WORKLOAD_SRC"
strip "$R/bin/vmb-workload" 2>/dev/null || true

# ---- pack ---------------------------------------------------------------------
mkdir -p "$TMP/out"
(cd "$R" && find . -mindepth 1 | LC_ALL=C sort | busybox cpio -o -H newc 2>/dev/null) |
	gzip -1 >"$TMP/out/initramfs.img"
cp "$KDIR/vmlinuz" "$TMP/out/vmlinuz"
chmod 0644 "$TMP/out/vmlinuz" "$TMP/out/initramfs.img"
{
	echo "key=$KEY"
	echo "kernel_pkg=$KPKG"
	echo "kernel_version=$KVER"
	echo "kernel_release=$KREL"
	echo "busybox=$BB_VER"
	echo "gcc=$GCC_VER"
	echo "modules=${want[*]}"
	echo "built=$(date -u +%FT%TZ)"
} >"$TMP/out/manifest"
touch "$TMP/out/.complete"
chmod 0755 "$TMP/out"
rm -rf "$OUT"
mv "$TMP/out" "$OUT"
ln -sfn "guest-$KEY" "$CACHE/current"

# Drop older guest builds (not the kernel downloads).
for d in "$CACHE"/guest-*; do
	[ "$d" = "$OUT" ] || rm -rf "$d"
done

say "built $OUT in $(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}') s"
emit
