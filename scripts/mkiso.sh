#!/usr/bin/env bash
# mkiso.sh OUT.iso KERNEL.elf "UMBRA CMDLINE" [MODULE.elf "MODULE CMDLINE"]...
# mkiso.sh --native OUT.iso GUEST.elf "GUEST CMDLINE"
# Builds one hybrid BIOS+UEFI ISO with grub-mkrescue. Each module is loaded
# by GRUB's module2 with its file name as the first word of its command line.
# --native boots a Multiboot (v1) test kernel directly with GRUB's multiboot
# command, no hypervisor: the bare-CPU reference run of a test guest.
set -euo pipefail
if [ "${1:-}" = --native ]; then
	[ $# -eq 4 ] || { echo "usage: $0 --native OUT.iso GUEST.elf CMDLINE" >&2; exit 2; }
	out=$2
	stage=$(mktemp -d)
	trap 'rm -rf "$stage"' EXIT
	mkdir -p "$stage/iso/boot/grub"
	name=$(basename "$3")
	cp "$3" "$stage/iso/boot/$name"
	cat > "$stage/iso/boot/grub/grub.cfg" <<EOC
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial
set gfxpayload=keep
set timeout=0
menuentry "native" {
	multiboot /boot/$name $name $4
	boot
}
EOC
	mkdir -p "$(dirname "$out")"
	grub-mkrescue -o "$out" "$stage/iso" >"$stage/mkrescue.log" 2>&1 || {
		cat "$stage/mkrescue.log" >&2; exit 1; }
	exit 0
fi
[ $# -ge 3 ] && [ $((($# - 3) % 2)) -eq 0 ] || {
	echo "usage: $0 OUT.iso KERNEL.elf CMDLINE [MODULE MODULE_CMDLINE]..." >&2; exit 2; }
out=$1 kernel=$2 cmdline=$3
shift 3
root=$(dirname "$0")/..
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/iso/boot/grub" "$stage/iso/boot/mods"
cp "$kernel" "$stage/iso/boot/umbra.elf"
modules=""
while [ $# -gt 0 ]; do
	[ -f "$1" ] || { echo "mkiso: module $1 not found" >&2; exit 1; }
	name=$(basename "$1")
	cp "$1" "$stage/iso/boot/mods/$name"
	modules+="	module2 /boot/mods/$name $name${2:+ $2}"$'\n'
	shift 2
done
# Substitute with awk: command lines may hold characters sed would interpret.
CMDLINE="$cmdline" MODULES="$modules" awk '{
	gsub(/@CMDLINE@/, ENVIRON["CMDLINE"]);
	if ($0 ~ /@MODULES@/) { printf "%s", ENVIRON["MODULES"]; next }
	print }' "$root/iso/grub.cfg" > "$stage/iso/boot/grub/grub.cfg"
mkdir -p "$(dirname "$out")"
grub-mkrescue -o "$out" "$stage/iso" >"$stage/mkrescue.log" 2>&1 || {
	cat "$stage/mkrescue.log" >&2; exit 1; }
