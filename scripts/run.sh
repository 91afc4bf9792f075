#!/usr/bin/env bash
# run.sh EMU ISO [--cpu BOCHS_MODEL] [--qemu-cpu QEMU_MODEL] [--timeout SECONDS]
#        [--serial FILE] [--quiet] [--megs N] [--debug-rc FILE]
#
# Boots ISO headless and streams its serial console to stdout until the
# machine powers off. EMU: bochs | qemu (SeaBIOS) | qemu-uefi (OVMF) |
# qemu-kvm (-accel kvm -cpu host) | auto (qemu-kvm where /dev/kvm exposes
# VMX, else bochs). Exit status: 0 when the machine powered off by itself
# (the verdict is in the serial log), 124 on timeout, 2 on usage errors.
# For QEMU the isa-debug-exit status is printed as "run: qemu exit status N".
# --debug-rc FILE (bochs): run the Bochs debugger commands in FILE instead of
# "c" and "quit", with magic_break on (the guest's `xchg %bx,%bx` stops into
# the debugger), and keep the debugger's output (e.g. `trace on` instruction
# traces) in FILE.out. Used by scripts/bench.sh to profile exit paths.
set -uo pipefail

emu=${1:-}; iso=${2:-}
[ -n "$emu" ] && [ -n "$iso" ] || { sed -n '2,14p' "$0" >&2; exit 2; }
shift 2
cpu=corei7_skylake_x qemu_cpu=max timeout=120 serial="" quiet=0 megs=512 debug_rc=""
while [ $# -gt 0 ]; do
	case "$1" in
	--cpu) cpu=$2; shift 2 ;;
	--qemu-cpu) qemu_cpu=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--serial) serial=$2; shift 2 ;;
	--megs) megs=$2; shift 2 ;;
	--debug-rc) debug_rc=$2; shift 2 ;;
	--quiet) quiet=1; shift ;;
	*) echo "run: unknown option $1" >&2; exit 2 ;;
	esac
done
[ -f "$iso" ] || { echo "run: $iso not found (run make first)" >&2; exit 2; }

kvm_has_vmx() {
	[ -r /dev/kvm ] && [ -w /dev/kvm ] && grep -qw vmx /proc/cpuinfo
}
if [ "$emu" = auto ]; then
	if kvm_has_vmx; then emu=qemu-kvm; else emu=bochs; fi
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ -n "$serial" ] || serial=$work/serial.txt
mkdir -p "$(dirname "$serial")"
: > "$serial"

qemu_common=(-m "$megs" -display none -no-reboot -serial "file:$serial"
	-device isa-debug-exit,iobase=0xf4,iosize=4 -cdrom "$iso")
case "$emu" in
bochs)
	command -v bochs-bin >/dev/null || { echo "run: bochs-bin not installed (bash scripts/deps.sh run)" >&2; exit 2; }
	cat > "$work/bochsrc" <<EOB
megs: $megs
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/bochs/VGABIOS-lgpl-latest
display_library: sdl2
cpu: model=$cpu, count=1, ips=50000000, reset_on_triple_fault=0, ignore_bad_msrs=0
ata0: enabled=1, ioaddr1=0x1f0, ioaddr2=0x3f0, irq=14
ata0-master: type=cdrom, path=$(realpath "$iso"), status=inserted
boot: cdrom
com1: enabled=1, mode=file, dev=$serial
clock: sync=none, time0=local
log: $work/bochs.log
panic: action=fatal
error: action=report
info: action=report
debug: action=ignore
mouse: enabled=0
speaker: enabled=0
sound: driver=dummy
EOB
	printf 'c\nquit\n' > "$work/dbg.rc"
	if [ -n "$debug_rc" ]; then
		cp "$debug_rc" "$work/dbg.rc"
		echo "magic_break: enabled=1" >> "$work/bochsrc"
	fi
	cmd=(env SDL_VIDEODRIVER=dummy bochs-bin -q -f "$work/bochsrc" -rc "$work/dbg.rc") ;;
qemu)
	cmd=(qemu-system-x86_64 -M pc -cpu "$qemu_cpu" "${qemu_common[@]}") ;;
qemu-uefi)
	fw=/usr/share/ovmf/OVMF.fd
	[ -f "$fw" ] || { echo "run: $fw not found (bash scripts/deps.sh test)" >&2; exit 2; }
	cmd=(qemu-system-x86_64 -M q35 -cpu "$qemu_cpu" -bios "$fw" "${qemu_common[@]}") ;;
qemu-kvm)
	kvm_has_vmx || echo "run: warning: /dev/kvm does not expose VMX; Umbra will refuse to start guests" >&2
	cmd=(qemu-system-x86_64 -M q35 -accel kvm -cpu host "${qemu_common[@]}") ;;
*) echo "run: unknown EMU '$emu' (bochs|qemu|qemu-uefi|qemu-kvm|auto)" >&2; exit 2 ;;
esac

[ $quiet -eq 1 ] || echo "run: booting $iso in $emu$([ "$emu" = bochs ] && echo " ($cpu)")" >&2
timeout --foreground -k 5 "$timeout" "${cmd[@]}" </dev/null >"$work/emu.out" 2>&1 &
pid=$!
if [ $quiet -eq 0 ]; then
	tail -n +1 -f --pid=$pid "$serial" 2>/dev/null &
	tailpid=$!
fi
wait $pid
status=$?
[ -z "$debug_rc" ] || cp "$work/emu.out" "$debug_rc.out"
[ $quiet -eq 1 ] || { sleep 0.3; kill $tailpid 2>/dev/null; wait $tailpid 2>/dev/null; }
if [ $status -eq 124 ] || [ $status -eq 137 ]; then
	echo "run: timeout: the machine did not power off within ${timeout}s; stopped it" >&2
	exit 124
fi
case "$emu" in
bochs)
	if grep -q "3rd (13) exception with no resolution\|3rd (14) exception" "$work/bochs.log" 2>/dev/null; then
		echo "run: bochs: the machine triple-faulted" >&2
	fi
	grep -E '^[0-9]+[ei]?.*\[(CPU0|BIOS|GRUB)? *\].*(PANIC|panic)' "$work/bochs.log" 2>/dev/null | head -3 >&2 ;;
qemu*)
	echo "run: qemu exit status $status" >&2 ;;
esac
exit 0
