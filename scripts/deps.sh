#!/usr/bin/env bash
# Install the Debian packages Umbra needs, when they are missing.
#   deps.sh build   compiler side: nasm, GRUB (BIOS + UEFI), xorriso, mtools
#   deps.sh run     build + emulators
#   deps.sh test    run + OVMF, clang (libFuzzer)
#   deps.sh bench   test + gnuplot
set -euo pipefail

build_pkgs=(gcc make binutils nasm grub-common grub-pc-bin grub-efi-amd64-bin xorriso mtools)
run_pkgs=(bochs bochsbios vgabios bochs-sdl qemu-system-x86)
test_pkgs=(ovmf clang libclang-rt-14-dev python3)
bench_pkgs=(gnuplot-nox valgrind)

case "${1:-test}" in
build) want=("${build_pkgs[@]}") ;;
run) want=("${build_pkgs[@]}" "${run_pkgs[@]}") ;;
test) want=("${build_pkgs[@]}" "${run_pkgs[@]}" "${test_pkgs[@]}") ;;
bench) want=("${build_pkgs[@]}" "${run_pkgs[@]}" "${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
*) echo "usage: $0 build|run|test|bench" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing missing Debian packages: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || { echo "deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
	sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done"
