#!/usr/bin/env bash
# conformance.sh [--full] [--cases "MODE:SUITE[:SEED] ..."] [--cpus "MODEL ..."] [--report]
#
# Paging conformance: boots the paging test guest (tests/guest/paging) on the
# bare emulated CPU (Bochs, the reference) and as an Umbra guest under each
# memory mode in UMBRA_MODES, with the same CPU model, and compares their
# "pg:" lines (Umbra's "[paging] " prefix stripped) line by line. A
# comparison passes when the native run finished ("pg: done"), no line says
# FAIL and the Umbra run printed exactly the same lines.
#
#   UMBRA_MODES  memory modes to test, default "ept shadow"; also ept-novpid,
#                ept-noug, shadow (see umbra_cmdline)
#   JOBS         emulators run in parallel, default 2
#   TIMEOUT      seconds per emulator run, default 300
#   CONFORMANCE_OUT  work directory, default build/conformance
# Without --full: a small set (every mode x suite, one seed, Skylake-X);
# --full: more seeds and CPU models; --report: compare the runs already in
# the work directory (same options), run nothing. Prints each mismatch with
# its context (for an access-suite block, the first differing case), then a
# table per Umbra mode, CPU model and guest paging mode: suite runs
# matching, access cases and scenario checks covered, random-program seeds
# matched, the first mismatching case, native and Umbra run times. Ends with
# "conformance: N passed, N failed" (one per case, CPU model and Umbra mode)
# and exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
UMBRA_MODES=${UMBRA_MODES:-ept shadow}
JOBS=${JOBS:-2}
TIMEOUT=${TIMEOUT:-300}
GUEST=$BUILD/guests/paging.elf
OUT=${CONFORMANCE_OUT:-$BUILD/conformance}

# Umbra's command line for each memory mode.
umbra_cmdline() {
	case $1 in
	ept) echo "" ;;
	ept-novpid) echo "vpid=off" ;;
	ept-noug) echo "ug=off" ;;		# paging-off phases on Umbra's identity tables
	shadow) echo "mmu=shadow" ;;
	*) echo "conformance: unknown Umbra memory mode '$1'" >&2; return 1 ;;
	esac
}

if [ "${1:-}" = --run ]; then
	# Internal: one emulator run. --run ISO CPU SERIAL
	iso=$2 cpu=$3 serial=$4
	start=$(date +%s)
	bash scripts/run.sh bochs "$iso" --cpu "$cpu" --serial "$serial.raw" --quiet \
		--timeout "$TIMEOUT" >"$serial.log" 2>&1
	echo "$? $(($(date +%s) - start))" > "$serial.status"
	tr -d '\r' < "$serial.raw" | sed -n 's/^\(\[paging\] \)\{0,1\}\(pg: .*\)$/\2/p' > "$serial"
	exit 0
fi

MODES="2level 2level-pse pae 4level"
CASES="" CPUS="corei7_skylake_x"
full=0 report_only=0
while [ $# -gt 0 ]; do
	case $1 in
	--full) full=1; shift ;;
	--report) report_only=1; shift ;;
	--cases) CASES=$2; shift 2 ;;
	--cpus) CPUS=$2; shift 2 ;;
	*) sed -n "2,24p" "$0" >&2; exit 2 ;;
	esac
done
if [ -z "$CASES" ]; then
	seeds="1"
	[ $full -eq 1 ] && seeds="1 2 3 4 5 6 7 8"
	for m in $MODES; do
		CASES+=" $m:access $m:scenarios"
		for s in $seeds; do CASES+=" $m:random:$s"; done
	done
fi
[ $full -eq 1 ] && [ "$CPUS" = corei7_skylake_x ] &&
	CPUS="corei7_skylake_x tigerlake corei7_sandy_bridge_2600k"
[ -f "$GUEST" ] && [ -f "$BUILD/umbra.elf" ] || {
	echo "conformance: build $GUEST and $BUILD/umbra.elf first (make guests $BUILD/umbra.elf)" >&2
	exit 2; }
for um in $UMBRA_MODES; do umbra_cmdline "$um" >/dev/null || exit 2; done

mkiso() {
	local log
	log=$(bash scripts/mkiso.sh "$@" 2>&1) || { printf '%s\n' "$log" >&2; return 1; }
}

name_of() { echo "$1" | tr ':' '-'; }
args_of() {
	local mode suite seed
	IFS=: read -r mode suite seed <<<"$1"
	echo "mode=$mode suite=$suite${seed:+ seed=$seed}"
}

# An access-suite block differs: run that block again with verbose=1 on
# both sides and show the first case whose outcome differs.
drill_down() {
	local c=$1 cpu=$2 um=$3 k=$4 args d
	args="$(args_of "$c") block=$k verbose=1"
	d=$OUT/$cpu/$(name_of "$c")/block-$k-$um
	mkdir -p "$d"
	mkiso --native "$d/native.iso" "$GUEST" "$args" &&
		mkiso "$d/$um.iso" "$BUILD/umbra.elf" "$(umbra_cmdline "$um")" "$GUEST" "$args" || return
	printf '%s\n' "$d/native.iso $cpu $d/native.txt" "$d/$um.iso $cpu $d/$um.txt" |
		xargs -P "$JOBS" -L 1 bash "$0" --run
	echo "  block $k case by case ($d):"
	diff -U 2 --label native --label "$um" "$d/native.txt" "$d/$um.txt" | sed -n '3,10p' | sed 's/^/  | /'
}

# ISOs once per case and side; they serve every CPU model.
build_isos() {
	rm -rf "$OUT"; mkdir -p "$OUT/iso"
	echo "conformance: building ISOs"
	for c in $CASES; do
		n=$(name_of "$c")
		mkiso --native "$OUT/iso/$n-native.iso" "$GUEST" "$(args_of "$c")" || exit 1
		for um in $UMBRA_MODES; do
			mkiso "$OUT/iso/$n-$um.iso" "$BUILD/umbra.elf" "$(umbra_cmdline "$um")" \
				"$GUEST" "$(args_of "$c")" || exit 1
		done
	done
}

run_all() {
	local runs=() cpu c n v
	for cpu in $CPUS; do
		for c in $CASES; do
			n=$(name_of "$c")
			mkdir -p "$OUT/$cpu/$n"
			for v in native $UMBRA_MODES; do
				runs+=("$OUT/iso/$n-$v.iso $cpu $OUT/$cpu/$n/$v.txt")
			done
		done
	done
	echo "conformance: ${#runs[@]} emulator runs, $JOBS at a time"
	printf '%s\n' "${runs[@]}" | xargs -P "$JOBS" -L 1 bash "$0" --run
}

wall=$(date +%s)
if [ $report_only -eq 0 ]; then
	build_isos
	run_all
fi

# Verdict per case, CPU model and Umbra mode; tallies per guest paging mode.
passed=0 failed=0
declare -A runs match cases cases_ok seeds scen secs_n secs_u first
for um in $UMBRA_MODES; do
	for cpu in $CPUS; do
		for c in $CASES; do
			d=$OUT/$cpu/$(name_of "$c")
			IFS=: read -r pm suite seed <<<"$c"
			for k in "$um|$cpu|$pm" "$um|$cpu|all"; do
				runs[$k]=$((${runs[$k]:-0} + 1))
			done
			read -r _ sn < "$d/native.txt.status"
			read -r rc su < "$d/$um.txt.status"
			n=$(sed -n 's/^pg: done access \([0-9]*\) cases$/\1/p' "$d/native.txt")
			sc=$(sed -n 's/^pg: done scenarios \([0-9]*\)$/\1/p' "$d/native.txt")
			why="" line="" block=""
			if ! grep -q '^pg: done' "$d/native.txt"; then
				why="native run did not finish ($(tail -n 1 "$d/native.txt"))"
			elif grep -q 'FAIL' "$d/native.txt"; then
				why="native run: $(grep -m1 FAIL "$d/native.txt")"
			elif [ "$rc" = 124 ]; then
				why="Umbra run timed out"
			elif ! cmp -s "$d/native.txt" "$d/$um.txt"; then
				line=$(cmp "$d/native.txt" "$d/$um.txt" 2>&1 | sed -n 's/.* line \([0-9]*\).*/\1/p')
				why="first difference at pg: line ${line:-?} (native vs $um)"
			fi
			for k in "$um|$cpu|$pm" "$um|$cpu|all"; do
				secs_n[$k]=$((${secs_n[$k]:-0} + sn)) secs_u[$k]=$((${secs_u[$k]:-0} + su))
				cases[$k]=$((${cases[$k]:-0} + ${n:-0}))
				if [ -n "$why" ]; then
					[ -n "${first[$k]:-}" ] || first[$k]=$c
					continue
				fi
				match[$k]=$((${match[$k]:-0} + 1))
				cases_ok[$k]=$((${cases_ok[$k]:-0} + ${n:-0}))
				scen[$k]=$((${scen[$k]:-0} + ${sc:-0}))
				# random seeds: listed per paging mode, counted in "all"
				if [ "$suite" = random ] && [ "${k##*|}" = all ]; then
					seeds[$k]=$((${seeds[$k]:-0} + 1))
				elif [ "$suite" = random ]; then
					seeds[$k]="${seeds[$k]:+${seeds[$k]},}$seed"
				fi
			done
			if [ -z "$why" ]; then
				passed=$((passed + 1))
			else
				failed=$((failed + 1))
				echo "MISMATCH $c ($cpu, $um): $why"
				diff -U 3 --label native --label "$um" "$d/native.txt" "$d/$um.txt" | sed -n '3,14p' | sed 's/^/  | /'
				[ -z "$line" ] ||
					block=$(sed -n "${line}s/^pg: access [^ ]* block \([0-9]*\) .*/\1/p" "$d/native.txt")
				[ -z "$block" ] || drill_down "$c" "$cpu" "$um" "$block"
			fi
		done
	done
done

# The report: per Umbra mode, CPU model and guest paging mode, the suite
# runs that matched, the access cases and scenario checks they covered, the
# random-program seeds that matched, the first mismatching case, run times.
printf '%-9s %-26s %-10s %7s %17s %9s %-17s %-22s %7s %7s\n' umbra cpu paging runs \
	"access cases" scenarios "random seeds" "first mismatch" native umbra
for um in $UMBRA_MODES; do
	for cpu in $CPUS; do
		for pm in 2level 2level-pse pae 4level all; do
			k="$um|$cpu|$pm"
			[ -n "${runs[$k]:-}" ] || continue
			unit=""
			[ "$pm" != all ] || [ -z "${seeds[$k]:-}" ] || unit=" programs"
			printf '%-9s %-26s %-10s %7s %17s %9s %-17s %-22s %6ss %6ss\n' "$um" "$cpu" "$pm" \
				"${match[$k]:-0}/${runs[$k]}" "${cases_ok[$k]:-0}/${cases[$k]:-0}" \
				"${scen[$k]:-0}" "${seeds[$k]:--}$unit" "${first[$k]:--}" \
				"${secs_n[$k]}" "${secs_u[$k]}"
		done
	done
done
echo "conformance: wall time $(($(date +%s) - wall))s"
echo "conformance: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
