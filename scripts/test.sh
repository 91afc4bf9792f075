#!/usr/bin/env bash
# The test runner behind `make test`: host unit tests, a bounded fuzzing pass
# and emulator tests (tests/emu/*.test). Ends with "N passed, N failed" and
# exits non-zero when anything failed.
#
# A tests/emu/NAME.test file is a bash snippet that sets:
#   EMU=bochs|qemu|qemu-uefi     CPU=<bochs model>  QEMU_CPU=<qemu model>
#   CMDLINE="umbra options"      MODULES=(file "module args" ...)
#   NATIVE=(file "args")         instead of Umbra, boot this Multiboot test
#                                kernel on the bare (emulated) CPU
#   EXPECT=(regex ...)           each must match a serial line, in this order
#   REJECT=(regex ...)           none may match any serial line
#   TIMEOUT=seconds              QEMU_STATUS=N (isa-debug-exit status, qemu only)
# Filters: TESTS="regex" selects emulator tests by name; FUZZ_SECONDS (default 20).
# The paging conformance stage (scripts/conformance.sh, small set) runs when
# TESTS is unset or matches "conformance"; CONFORMANCE=0 skips it.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}

if [ "${1:-}" = --case ]; then
	# One emulator test; prints "PASS name" or "FAIL name: reason" (+ log tail).
	file=$2
	name=$(basename "$file" .test)
	EMU=bochs CPU=corei7_skylake_x QEMU_CPU=max CMDLINE="" TIMEOUT=60 QEMU_STATUS=""
	MODULES=() NATIVE=() EXPECT=() REJECT=()
	# shellcheck disable=SC1090
	source "$file"
	dir=$BUILD/emu/$name
	rm -rf "$dir"; mkdir -p "$dir"
	if [ ${#NATIVE[@]} -gt 0 ]; then
		isoargs=(--native "$dir/umbra.iso" "${NATIVE[0]}" "${NATIVE[1]:-}")
	else
		isoargs=("$dir/umbra.iso" "$BUILD/umbra.elf" "$CMDLINE" "${MODULES[@]}")
	fi
	if ! bash scripts/mkiso.sh "${isoargs[@]}" >"$dir/mkiso.log" 2>&1; then
		echo "FAIL $name: ISO build failed: $(tail -1 "$dir/mkiso.log")"; exit 0
	fi
	start=$(date +%s)
	bash scripts/run.sh "$EMU" "$dir/umbra.iso" --cpu "$CPU" --qemu-cpu "$QEMU_CPU" \
		--timeout "$TIMEOUT" --serial "$dir/serial.raw" --quiet >"$dir/run.log" 2>&1
	rc=$?
	secs=$(($(date +%s) - start))
	label=$EMU
	[ "$EMU" = bochs ] && label="bochs $CPU"
	tr -d '\r' < "$dir/serial.raw" > "$dir/serial.txt"
	fail() {
		echo "FAIL $name ($label): $*"
		echo "  --- last serial lines ($dir/serial.txt) ---"
		tail -n 15 "$dir/serial.txt" | sed 's/^/  | /'
		exit 0
	}
	[ $rc -eq 124 ] && fail "timed out after ${TIMEOUT}s"
	[ $rc -ne 0 ] && fail "run.sh failed ($rc): $(tail -1 "$dir/run.log")"
	if [ -n "$QEMU_STATUS" ]; then
		got=$(sed -n 's/^run: qemu exit status //p' "$dir/run.log")
		[ "$got" = "$QEMU_STATUS" ] || fail "qemu exit status $got, expected $QEMU_STATUS"
	fi
	line=0
	for re in "${EXPECT[@]}"; do
		n=$(tail -n +$((line + 1)) "$dir/serial.txt" | grep -n -m1 -E -- "$re" | cut -d: -f1)
		[ -n "$n" ] || fail "expected /$re/ after serial line $line"
		line=$((line + n))
	done
	for re in "${REJECT[@]}"; do
		hit=$(grep -n -m1 -E -- "$re" "$dir/serial.txt")
		[ -z "$hit" ] || fail "rejected /$re/ matched line $hit"
	done
	echo "PASS $name ($label, ${secs}s)"
	exit 0
fi

passed=0 failed=0
count() { passed=$((passed + $1)); failed=$((failed + $2)); }

echo "== host unit tests"
for t in "$BUILD"/host/test_*; do
	[ -x "$t" ] || continue
	out=$("$t" 2>&1); rc=$?
	last=$(printf '%s\n' "$out" | tail -n 1)
	if [[ $last =~ ^([A-Za-z0-9_-]+):\ ([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
		p=${BASH_REMATCH[2]} f=${BASH_REMATCH[3]}
		[ $rc -ne 0 ] && [ "$f" -eq 0 ] && f=1
		count "$p" "$f"
		[ "$f" -eq 0 ] || printf '%s\n' "$out" | tail -n 30
		echo "$last"
	else
		count 0 1
		printf '%s\n' "$out" | tail -n 30
		echo "$(basename "$t"): crashed or printed no summary (exit $rc)"
	fi
done

fuzzers=$(ls -d "$BUILD"/fuzz/fuzz_* 2>/dev/null | grep -v '\.' || true)
if [ -n "$fuzzers" ]; then
	echo "== fuzzing (${FUZZ_SECONDS:-20}s per target)"
	for f in $fuzzers; do
		corpus=$f.corpus
		mkdir -p "$corpus"
		if "$f" -max_total_time="${FUZZ_SECONDS:-20}" -seed=1 -print_final_stats=1 "$corpus" \
			>"$f.log" 2>&1; then
			count 1 0
			echo "$(basename "$f"): clean after $(sed -n 's/^stat::number_of_executed_units: *//p' "$f.log") inputs"
		else
			count 0 1
			tail -n 30 "$f.log"
			echo "$(basename "$f"): FAILED (log: $f.log)"
		fi
	done
fi

echo "== emulator tests"
cases=$(ls tests/emu/*.test 2>/dev/null | grep -E -- "${TESTS:-.}" || true)
if [ -n "$cases" ]; then
	results=$(printf '%s\n' $cases | xargs -P 2 -I{} bash scripts/test.sh --case {})
	printf '%s\n' "$results"
	count "$(grep -c '^PASS' <<<"$results")" "$(grep -c '^FAIL' <<<"$results")"
fi

# ---- paging conformance: native vs Umbra (scripts/conformance.sh) ----
if [ "${CONFORMANCE:-1}" != 0 ] && { [ -z "${TESTS:-}" ] || [[ conformance =~ ${TESTS} ]]; }; then
	echo "== paging conformance (native Bochs vs Umbra)"
	# Every suite of every guest paging mode (one seed of the random suite)
	# under EPT, shadow paging and the identity-table path (ug=off), in one
	# conformance run so the two emulator slots stay busy; the longest run
	# (shadow paging through the 4-level access suite) is queued first.
	cases="4level:access 2level:access 2level:scenarios 2level:random:1 2level-pse:access
	       2level-pse:scenarios 2level-pse:random:1 pae:access pae:scenarios pae:random:1
	       4level:scenarios 4level:random:1"
	# Then Tiger Lake, whose Bochs model advertises MTF but never delivers
	# the MTF exit: shadow paging must notice and single-step with TF (the
	# PAE access suite steps CR0.WP = 0 writes under SMAP).
	for run in "${UMBRA_MODES:-ept shadow ept-noug}|corei7_skylake_x|$(echo $cases)" \
		   "shadow|tigerlake|pae:access 2level-pse:random:7"; do
		IFS='|' read -r modes cpu list <<<"$run"
		out=$(UMBRA_MODES=$modes bash scripts/conformance.sh --cpus "$cpu" --cases "$list" 2>&1)
		printf '%s\n' "$out" | grep -v '^conformance: \(building\|[0-9]* emulator runs\)'
		if [[ $(tail -n 1 <<<"$out") =~ ^conformance:\ ([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
			count "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
		else
			count 0 1
			echo "conformance: no summary (setup failed)"
		fi
	done
fi
# ---- end of paging conformance ----

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
