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
	stage=$(mktemp -d) log=$(mktemp)
	trap 'rm -rf "$stage" "$log"' EXIT
	mkdir -p "$stage/boot/grub"
	name=$(basename "$3")
	cp "$3" "$stage/boot/$name"
	cat > "$stage/boot/grub/grub.cfg" <<EOC
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
	grub-mkrescue -o "$out" "$stage" >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
	exit 0
fi
[ $# -ge 3 ] && [ $((($# - 3) % 2)) -eq 0 ] || {
	echo "usage: $0 OUT.iso KERNEL.elf CMDLINE [MODULE MODULE_CMDLINE]..." >&2; exit 2; }
out=$1 kernel=$2 cmdline=$3
shift 3
root=$(dirname "$0")/..
stage=$(mktemp -d) log=$(mktemp)
trap 'rm -rf "$stage" "$log"' EXIT
mkdir -p "$stage/boot/grub" "$stage/boot/mods"
cp "$kernel" "$stage/boot/umbra.elf"
modules=""
while [ $# -gt 0 ]; do
	[ -f "$1" ] || { echo "mkiso: module $1 not found" >&2; exit 1; }
	name=$(basename "$1")
	cp "$1" "$stage/boot/mods/$name"
	modules+="	module2 /boot/mods/$name $name${2:+ $2}"$'\n'
	shift 2
done
# Substitute with awk: command lines may hold characters sed would interpret.
CMDLINE="$cmdline" MODULES="$modules" awk '{
	gsub(/@CMDLINE@/, ENVIRON["CMDLINE"]);
	if ($0 ~ /@MODULES@/) { printf "%s", ENVIRON["MODULES"]; next }
	print }' "$root/iso/grub.cfg" > "$stage/boot/grub/grub.cfg"
mkdir -p "$(dirname "$out")"
# The log stays outside the tree being packed: xorriso fails ("MISHAP")
# when a file changes while it is added.
grub-mkrescue -o "$out" "$stage" >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
