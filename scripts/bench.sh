#!/usr/bin/env bash
# bench.sh [--cpu BOCHS_MODEL] [--jobs N] [--out DIR] [--report-only] [--no-profile]
#          [--update-docs]
#
# The benchmark runner behind `make bench` (which builds build/umbra.elf,
# build/guests/bench.elf and the host benchmarks first, and writes
# DIR/host.txt). Boots the benchmark guest (tests/guest/bench) in Bochs:
# natively, under Umbra with EPT and under Umbra with shadow paging
# (mmu=shadow), each with 2-level, PAE and 4-level guest paging, N runs in
# parallel (default 2). Then runs callgrind over the host MMU benchmarks and
# writes DIR (default build/bench):
#   results.md    Markdown report: per-event ticks, workloads, exits, host side
#   results.csv   every figure, one per line, with CPU model and commit
#   events.png    per-event cost by mode (gnuplot)
#   runs/         each run's ISO command line and serial log
# A previous results.csv of the same commit and CPU is compared figure by
# figure: the report says whether the ticks are identical run to run.
#   profile/      instruction traces of one sample per event (EPT 4-level,
#                 shadow 2-level and 4-level), summarised in results.md
# --report-only rebuilds the report from the runs already in DIR;
# --no-profile skips the traced runs; --update-docs copies the report into
# docs/performance.md between its bench:begin and bench:end markers.
# Timings are reported, never asserted: the exit status is non-zero only when
# a run failed to produce its figures.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
UMBRA=${UMBRA:-$BUILD/umbra.elf}
GUEST=$BUILD/guests/bench.elf
UMBRA_OPTS="mem=128M budget=0"

if [ "${1:-}" = --run ]; then
	# One run: --run MODE PAGING CPU DIR. Writes DIR/MODE-PAGING.txt (serial
	# log without CRs) and DIR/MODE-PAGING.status (ok | na REASON | fail REASON).
	mode=$2 paging=$3 cpu=$4 dir=$5
	name=$mode-$paging
	args="paging=$paging"
	case $mode in
	native) isoargs=(--native "$dir/$name.iso" "$GUEST" "$args") ;;
	ept) isoargs=("$dir/$name.iso" "$UMBRA" "$UMBRA_OPTS" "$GUEST" "$args") ;;
	shadow) isoargs=("$dir/$name.iso" "$UMBRA" "$UMBRA_OPTS mmu=shadow" "$GUEST" "$args") ;;
	esac
	echo "${isoargs[*]}" > "$dir/$name.cmd"
	if ! bash scripts/mkiso.sh "${isoargs[@]}" >"$dir/$name.mkiso.log" 2>&1; then
		echo "fail ISO build failed" > "$dir/$name.status"; exit 0
	fi
	start=$(date +%s)
	bash scripts/run.sh bochs "$dir/$name.iso" --cpu "$cpu" --timeout 900 \
		--serial "$dir/$name.raw" --quiet >"$dir/$name.run.log" 2>&1
	rc=$?
	tr -d '\r' < "$dir/$name.raw" > "$dir/$name.txt"
	rm -f "$dir/$name.raw" "$dir/$name.iso"
	secs=$(($(date +%s) - start))
	if grep -q 'bench: done' "$dir/$name.txt"; then
		echo "ok ${secs}s" > "$dir/$name.status"
	elif grep -q 'bench: event' "$dir/$name.txt" && grep -q "guest 'bench' stopped: " "$dir/$name.txt"; then
		# Figures up to where Umbra stopped the guest: a hypervisor finding.
		why=$(sed -n "s/^vmm: guest 'bench' stopped: \(.*\) (RIP.*/\1/p" "$dir/$name.txt" | head -1)
		echo "partial stopped by Umbra: $why" > "$dir/$name.status"
	elif [ "$mode" = shadow ] && grep -q "unknown option 'mmu'\|mmu=shadow.*not\|shadow.*not available" "$dir/$name.txt"; then
		echo "na mmu=shadow not available" > "$dir/$name.status"
	elif [ $rc -eq 124 ]; then
		echo "fail timed out" > "$dir/$name.status"
	else
		echo "fail no 'bench: done' line (see $dir/$name.txt)" > "$dir/$name.status"
	fi
	echo "bench: $name: $(cat "$dir/$name.status")"
	exit 0
fi

if [ "${1:-}" = --profile-run ]; then
	# --profile-run MODE-PAGING CPU RUNS_DIR DIR: trace one sample of each
	# event; the window per event is 3x its median from the main run
	# (capped: long paths are traced in part).
	name=$2 cpu=$3 runsdir=$4 dir=$5
	mode=${name%-*} paging=${name#*-}
	opts=$UMBRA_OPTS
	[ "$mode" = shadow ] && opts="$opts mmu=shadow"
	bash scripts/mkiso.sh "$dir/$name.iso" "$UMBRA" "$opts" "$GUEST" \
		"paging=$paging profile=1 workloads=0" >/dev/null 2>&1 || exit 0
	: > "$dir/$name.rc"
	for ev in cpuid vmcall out-0x80 in-0x80 fill-4k invlpg guest-pf cr3-cached cr3-uncached \
		pt-write pd-write; do
		med=$(sed -n "s/^\(\[bench\] \)\{0,1\}bench: event $ev min [0-9]* median \([0-9]*\) .*/\2/p" \
			"$runsdir/$name.txt")
		[ -n "$med" ] || break
		steps=$((3 * med + 200))
		[ $steps -ge 4000 ] || steps=4000
		[ $steps -le 40000 ] || steps=40000
		printf 'c\ntrace on\ns %s\ntrace off\n' "$steps" >> "$dir/$name.rc"
		echo "$ev" >> "$dir/$name.events"
	done
	printf 'c\nquit\n' >> "$dir/$name.rc"
	bash scripts/run.sh bochs "$dir/$name.iso" --cpu "$cpu" --timeout 900 --quiet \
		--serial "$dir/$name.serial" --debug-rc "$dir/$name.rc" >/dev/null 2>&1
	rm -f "$dir/$name.iso"
	echo "bench: profile $name: $(grep -c '^Tracing enabled' "$dir/$name.rc.out" 2>/dev/null) traced samples"
	exit 0
fi

cpu=corei7_skylake_x jobs=2 out=$BUILD/bench report_only=0 profile=1 update_docs=0
while [ $# -gt 0 ]; do
	case "$1" in
	--cpu) cpu=$2; shift 2 ;;
	--jobs) jobs=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--report-only) report_only=1; shift ;;
	--no-profile) profile=0; shift ;;
	--update-docs) update_docs=1; shift ;;
	*) sed -n '2,20p' "$0" >&2; exit 2 ;;
	esac
done
for f in "$UMBRA" "$GUEST"; do
	[ -f "$f" ] || { echo "bench: $f missing (make bench builds it)" >&2; exit 2; }
done
commit=$(git rev-parse --short HEAD)
[ -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] || commit="$commit+dirty"
mkdir -p "$out"
runs=$out/runs
CG_WALKS=20000 CG_FAULTS=20000
t0=$(date +%s)
if [ $report_only -eq 0 ]; then
rm -rf "$runs"; mkdir -p "$runs"

echo "bench: $cpu, commit $commit: 9 Bochs runs, $jobs at a time"
for mode in shadow ept native; do
	for paging in 32 pae 4l; do
		echo "$mode $paging"
	done
done | xargs -P "$jobs" -L 1 sh -c 'bash scripts/bench.sh --run "$0" "$1" '"$cpu $runs"

# Host side: instruction counts of the MMU core under callgrind, fixed
# iteration counts (bench_walk WALKS-per-mode, bench_shadow faults-per-mode).
if command -v valgrind >/dev/null && [ -x "$BUILD/bench/bench_walk" ]; then
	valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.walk.out" \
		"$BUILD/bench/bench_walk" $CG_WALKS >/dev/null 2>"$out/callgrind.walk.log"
	valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.shadow.out" \
		"$BUILD/bench/bench_shadow" $CG_FAULTS >/dev/null 2>"$out/callgrind.shadow.log"
	for b in walk shadow; do
		callgrind_annotate --inclusive=yes --tree=caller --threshold=100 \
			"$out/callgrind.$b.out" > "$out/callgrind.$b.txt" 2>/dev/null
	done
fi

# Exit-path profile: for a few runs, the guest again with profile=1 (a Bochs
# magic breakpoint before sample 3 of each event) and workloads=0; the
# debugger traces each marked sample instruction by instruction.
if [ $profile -eq 1 ]; then
	rm -rf "$out/profile"; mkdir -p "$out/profile"
	for run in ept-4l shadow-32 shadow-4l; do
		grep -q '^ok\|^partial' "$runs/$run.status" 2>/dev/null && echo "$run"
	done | xargs -P "$jobs" -I{} bash scripts/bench.sh --profile-run {} "$cpu" "$runs" "$out/profile"
fi
[ -f "$out/results.csv" ] && mv "$out/results.csv" "$out/previous.csv"
fi
secs=$(($(date +%s) - t0))
nm -n "$UMBRA" > "$out/umbra.sym" 2>/dev/null
nm -n "$GUEST" > "$out/guest.sym" 2>/dev/null
CPU=$cpu COMMIT=$commit OUT=$out SECS=$secs CG_WALKS=$CG_WALKS CG_FAULTS=$CG_FAULTS python3 - <<'EOF'
import csv, os, re

cpu, commit, out = os.environ["CPU"], os.environ["COMMIT"], os.environ["OUT"]
runs_dir = os.path.join(out, "runs")
MODES = ["native", "ept", "shadow"]
MODE_NAME = {"native": "native", "ept": "Umbra EPT", "shadow": "Umbra shadow"}
PAGINGS = ["32", "pae", "4l"]
PAGING_NAME = {"32": "2-level (32-bit)", "pae": "PAE", "4l": "4-level"}
NA_SHADOW = "n/a (mmu=shadow not available)"

# key, label, target (ticks), modes the target applies to, basis
EVENTS = [
    ("cpuid-iter", "CPUID(0), per iteration of a 64-round loop, including the guest's loop", 175, ("ept", "shadow")),
    ("cpuid", "CPUID(0) round trip", None, ()),
    ("vmcall", "VMCALL with an unknown function (RAX = 2: returns -1), the cheapest handled exit", None, ()),
    ("out-0x80", "OUT to port 0x80", None, ()),
    ("in-0x80", "IN from port 0x80", None, ()),
    ("fill-4k", "first touch of a page whose guest PTE is present (shadow 4 KiB fill)", 1000, ("shadow",)),
    ("read-hit", "touch of a page touched before", None, ()),
    ("pt-write", "write to a PTE of the active page table (write-protected under shadow)", 800, ("shadow",)),
    ("pd-write", "write to an unused entry of a live level-2 table (the root under 2-level paging)", None, ()),
    ("invlpg", "INVLPG of a page just touched", None, ()),
    ("guest-pf", "guest #PF on a not-present PTE, guest handler skips the load", None, ()),
    ("cr3-cached", "MOV CR3 to a root used before", 300, ("shadow",)),
    ("cr3-uncached", "MOV CR3 to a root never used (a fresh copy)", None, ()),
]
WORKLOADS = [
    ("fork", "fork/exec shape: clone tables, copy-on-write 256 pages, tear down; 4 rounds",
     {"ept": 1.05, "shadow": 3.0}),
    ("sweep", "memory sweep: 32 MiB of 4 KiB pages, stride 256 B, 8 passes", {}),
]

runs = {}
for m in MODES:
    for p in PAGINGS:
        name = f"{m}-{p}"
        r = {"events": {}, "workloads": {}, "exits": "", "status": "fail", "why": "not run", "tsc": None}
        try:
            st = open(os.path.join(runs_dir, name + ".status")).read().split(None, 1)
            r["status"], r["why"] = st[0], (st[1].strip() if len(st) > 1 else "")
            lines = open(os.path.join(runs_dir, name + ".txt"), errors="replace").read().splitlines()
        except OSError:
            lines = []
        for ln in lines:
            raw = ln
            ln = re.sub(r"^\[bench\] ", "", ln)
            mo = re.match(r"bench: event (\S+) min (\d+) median (\d+) max (\d+) reps (\d+)", ln)
            if mo:
                r["events"][mo[1]] = tuple(int(x) for x in mo.groups()[1:])
            mo = re.match(r"bench: workload (\S+) ticks (\d+)", ln)
            if mo:
                r["workloads"][mo[1]] = int(mo[2])
            mo = re.match(r"shadow: guest 'bench': (.*)", ln)
            if mo:
                r["shadow_stats"] = mo[1]
            mo = re.match(r"bench: tsc-check nops 1000 ticks (\d+)", ln)
            if mo:
                r["tsc"] = int(mo[1])
            mo = re.match(r"bench\s+\S.*?\s(\d+|stopped)\s+(.*=.*)$", raw)
            if mo and not raw.startswith("["):
                r["exits"] = mo[2].strip()
        if r["status"] in ("ok", "partial") and "null" in r["events"]:
            null = r["events"]["null"][1]
            # Per-event net cost: the bracket (two RDTSCs and a MOV) removed.
            for k, (mn, med, mx, n) in list(r["events"].items()):
                if k in ("null", "cpuid-loop64"):
                    continue
                r.setdefault("net", {})[k] = (mn - null, med - null, mx - null, n)
            if "cpuid-loop64" in r["events"]:
                mn, med, mx, n = r["events"]["cpuid-loop64"]
                r["net"]["cpuid-iter"] = (round(mn / 64), round(med / 64), round(mx / 64), n * 64)
        runs[(m, p)] = r

def cell_na(m, p):
    r = runs[(m, p)]
    if r["status"] == "partial":
        return "not reached (guest stopped, see notes)"
    if r["status"] == "na":
        return NA_SHADOW if m == "shadow" else "n/a (" + r["why"] + ")"
    return "failed (" + r["why"] + ")"

def ev_cell(m, p, k):
    r = runs[(m, p)]
    if r["status"] in ("ok", "partial") and k == "vmcall" and m == "native":
        return "#UD (no VMX)"
    if r["status"] not in ("ok", "partial") or k not in r.get("net", {}):
        return cell_na(m, p)
    mn, med, mx, n = r["net"][k]
    return f"{med:,}" + (f" (min {mn:,})" if mn != med else "")

def verdict(k, target, applies, p):
    parts = []
    for m in applies:
        r = runs[(m, p)]
        if r["status"] not in ("ok", "partial") or k not in r.get("net", {}):
            parts.append(f"{MODE_NAME[m]}: n/a")
        else:
            v = r["net"][k][1]
            parts.append(f"{MODE_NAME[m]}: {'met' if v <= target else 'MISSED'}")
    return ", ".join(parts)

md = []
md.append(f"# Umbra benchmarks: Bochs `{cpu}`, commit `{commit}`\n")
md.append("Ticks are Bochs TSC ticks with `clock: sync=none`: one per instruction "
          "(guest and hypervisor alike), so every figure is an exact, repeatable path length.")
tsc_ok = [f"{m}-{p}" for (m, p), r in runs.items() if r["tsc"] is not None and "null" in r["events"]
          and r["tsc"] - r["events"]["null"][1] == 1000]
tsc_bad = [f"{m}-{p}: {r['tsc'] - r['events']['null'][1]}" for (m, p), r in runs.items()
           if r["tsc"] is not None and "null" in r["events"] and r["tsc"] - r["events"]["null"][1] != 1000]
md.append(f"TSC check (1000 NOPs = 1000 ticks): {len(tsc_ok)} runs exact"
          + (f"; NOT exact: {', '.join(tsc_bad)}" if tsc_bad else "") + ".\n")

md.append("## Per-event costs\n")
md.append("Median ticks of each event net of the timing bracket (two RDTSCs and a MOV, "
          "measured alone as `null`); the minimum in parentheses when it differs. "
          "Targets apply to the Umbra modes named in the verdict.\n")
for p in PAGINGS:
    md.append(f"### {PAGING_NAME[p]} guest paging\n")
    md.append("| event | native | Umbra EPT | Umbra shadow | target | verdict |")
    md.append("|---|---:|---:|---:|---:|---|")
    for k, label, target, applies in EVENTS:
        row = [label] + [ev_cell(m, p, k) for m in MODES]
        row += [f"<= {target:,}" if target else "", verdict(k, target, applies, p) if target else ""]
        md.append("| " + " | ".join(row) + " |")
    nulls = [f"{MODE_NAME[m]} {runs[(m, p)]['events']['null'][1]}" for m in MODES
             if "null" in runs[(m, p)]["events"]]
    md.append(f"\nBracket (`null`, subtracted above): {', '.join(nulls)} ticks.\n")

md.append("## Workloads\n")
md.append("Total ticks of the timed loop; ratio to native in parentheses.\n")
md.append("| workload | guest paging | native | Umbra EPT | Umbra shadow | target |")
md.append("|---|---|---:|---:|---:|---|")
for k, label, targets in WORKLOADS:
    for p in PAGINGS:
        nat = runs[("native", p)]["workloads"].get(k)
        row = [label, PAGING_NAME[p]]
        verd = []
        for m in MODES:
            r = runs[(m, p)]
            v = r["workloads"].get(k) if r["status"] in ("ok", "partial") else None
            if v is None:
                row.append(cell_na(m, p))
                if m in targets:
                    verd.append(f"{MODE_NAME[m]} <= {targets[m]}x: n/a")
                continue
            ratio = v / nat if nat else float("nan")
            row.append(f"{v:,}" + ("" if m == "native" else f" ({ratio:.3f}x)"))
            if m in targets:
                verd.append(f"{MODE_NAME[m]} <= {targets[m]}x: {'met' if ratio <= targets[m] else 'MISSED'}")
        row.append(", ".join(verd))
        md.append("| " + " | ".join(row) + " |")
md.append("")

md.append("## VM exits per run (Umbra's result table)\n")
md.append("| mode | guest paging | VM exits by reason |")
md.append("|---|---|---|")
for m in ("ept", "shadow"):
    for p in PAGINGS:
        r = runs[(m, p)]
        md.append(f"| {MODE_NAME[m]} | {PAGING_NAME[p]} | {r['exits'] or cell_na(m, p)} |")
md.append("")
stats = [(p, runs[("shadow", p)].get("shadow_stats")) for p in PAGINGS if runs[("shadow", p)].get("shadow_stats")]
if stats:
    md.append("Umbra's shadow MMU statistics per run:\n")
    for p, st in stats:
        md.append(f"- {PAGING_NAME[p]}: {st}")
    md.append("")

# Exit-path profiles: one traced sample per event.
import bisect, collections, glob

def symtab(path):
    a, n = [], []
    try:
        for l in open(path):
            f = l.split()
            if len(f) == 3 and f[1] in "tTwW":
                a.append(int(f[0], 16)); n.append(f[2])
    except OSError:
        pass
    return a, n

HSYM, GSYM = symtab(os.path.join(out, "umbra.sym")), symtab(os.path.join(out, "guest.sym"))
TRAMP = HSYM[0][HSYM[1].index("vmx_exit_trampoline")] if "vmx_exit_trampoline" in HSYM[1] else None

def symname(t, a):
    i = bisect.bisect_right(t[0], a) - 1
    return t[1][i] if i >= 0 else hex(a)

def profile_window(lines):
    """Instructions between the guest's two RDTSCs of the traced sample, by
    function, host and guest apart (host from the exit trampoline to
    VMRESUME)."""
    recs = []
    for l in lines:
        mo = re.match(r"\(0\)\.\[(\d+)\] \[0x[0-9a-f]+\] [0-9a-f]+:([0-9a-f]+) \([^)]*\): (.*?)\s*;", l)
        if mo:
            recs.append((int(mo[1]), int(mo[2], 16), mo[3]))
    guest = True
    tagged = []
    for t, a, ins in recs:
        if a == TRAMP:
            guest = False
        tagged.append((t, ins, guest, symname(GSYM if guest else HSYM, a)))
        if not guest and ins.startswith(("vmresume", "vmlaunch")):
            guest = True
    starts = [i for i, r in enumerate(tagged) if r[2] and r[1].startswith("rdtsc")]
    if not starts:
        return None
    part = len(starts) < 2
    i, j = starts[0], (starts[1] if not part else len(tagged) - 1)
    host, gst = collections.Counter(), collections.Counter()
    exits = 0
    for t, ins, g, fn in tagged[i + 1:j + 1]:
        (gst if g else host)[fn] += 1
    exits = sum(1 for r in tagged[i + 1:j] if r[1] and not r[2] and r[3] == "vmx_exit_trampoline"
                and r[1].startswith("push"))
    return tagged[j][0] - tagged[i][0], sum(gst.values()), host, exits, part

profiles = []
for rcout in sorted(glob.glob(os.path.join(out, "profile", "*.rc.out"))):
    name = os.path.basename(rcout)[:-len(".rc.out")]
    try:
        evs = open(os.path.join(out, "profile", name + ".events")).read().split()
    except OSError:
        continue
    windows, cur = [], None
    for l in open(rcout, errors="replace"):
        if l.startswith("Tracing enabled"):
            cur = []
        elif l.startswith("Tracing disabled"):
            if cur is not None:
                windows.append(cur)
            cur = None
        elif cur is not None:
            cur.append(l)
    for ev, w in zip(evs, windows):
        profiles.append((name, ev, profile_window(w), len(w)))

# Host side: benchmark output and callgrind instruction counts.
if profiles:
    md.append("## Exit-path profiles\n")
    md.append("One sample of each event (sample 3) traced instruction by instruction in the Bochs "
              "debugger (`make bench` runs the guest again with `profile=1 workloads=0`); "
              "ticks between the guest's two RDTSCs split into guest instructions and host "
              "instructions by function (exit trampoline to VMRESUME), with the number of VM exits. "
              "Windows are capped at 40,000 instructions: a longer path is shown in part.\n")
    md.append("| run | event | ticks | guest | host | exits | host instructions by function (largest first) |")
    md.append("|---|---|---:|---:|---:|---:|---|")
    for name, ev, res, n in profiles:
        m, p = name.split("-", 1)
        label = f"{MODE_NAME[m]} {PAGING_NAME[p]}"
        if res is None:
            md.append(f"| {label} | {ev} | window of {n:,} lines ends before the sample does | | | | |")
            continue
        ticks, g, host, exits, part = res
        top = ", ".join(f"{f} {c}" for f, c in host.most_common(10))
        if part:
            top = f"(first {ticks:,} ticks only) " + top
        md.append(f"| {label} | {ev} | {'>= ' if part else ''}{ticks:,} | {g} | {sum(host.values()):,} | {exits} | {top} |")
    md.append("")

md.append("## Host side: the MMU core\n")
try:
    host = open(os.path.join(out, "host.txt")).read().strip()
    host = "\n".join(l for l in host.splitlines() if not l.startswith(("for b in", "make")))
    md.append("`make bench-host` (wall-clock rates on this machine; not reproducible to the tick):\n")
    md.append("```\n" + host + "\n```\n")
except OSError:
    md.append("(no host benchmark output)\n")

def cg_costs(path, funcs):
    res = {}
    try:
        text = open(path).read().split("\n\n")
    except OSError:
        return res
    for block in text:
        for f in funcs:
            # callgrind lists a function twice (full and relative source
            # path); the entry with callers carries the calls.
            mo = re.search(r"^\s*([\d,]+) \([^)]*\)\s+\*\s+\S*:" + re.escape(f) + r"(\s|$)", block, re.M)
            if mo:
                calls = sum(int(c.replace(",", "")) for c in re.findall(r"^\s*[\d,]+ \([^)]*\)\s+<.*\(([\d,]+)x\)", block, re.M))
                ir = int(mo[1].replace(",", ""))
                if calls and (f not in res or not res[f][1]):
                    res[f] = (ir, calls)
    return res

cg = {}
cg.update(cg_costs(os.path.join(out, "callgrind.walk.txt"), ["gwalk"]))
cg.update(cg_costs(os.path.join(out, "callgrind.shadow.txt"),
                   ["shadow_fault", "shadow_invlpg", "shadow_load_root", "shadow_zap_all"]))
if cg:
    md.append(f"callgrind (x86-64 instructions, inclusive; `bench_walk {os.environ['CG_WALKS']}`, "
              f"`bench_shadow {os.environ['CG_FAULTS']}`; exact and repeatable):\n")
    md.append("| function | calls | instructions | per call |")
    md.append("|---|---:|---:|---:|")
    for f, (ir, calls) in cg.items():
        md.append(f"| `{f}` | {calls:,} | {ir:,} | {ir / calls if calls else 0:,.0f} |")
    md.append("\n`gwalk`: mean over the six walk modes of bench_walk (fake memory reads included). "
              "`shadow_fault`: mean over bench_shadow's warm faults (leaf rebuilt under existing "
              "upper levels) and cold faults (whole shadow zapped every 16 faults).\n")

# CSV and reproducibility check.
rows = []
for (m, p), r in runs.items():
    if r["status"] not in ("ok", "partial"):
        rows.append([cpu, commit, m, p, "status", r["status"], "", "", "", "", "", NA_SHADOW if r["status"] == "na" else r["why"]])
        continue
    if r["status"] == "partial":
        rows.append([cpu, commit, m, p, "status", "partial", "", "", "", "", "", r["why"]])
    for k, (mn, med, mx, n) in r["events"].items():
        net = r.get("net", {}).get(k)
        rows.append([cpu, commit, m, p, "event", k, mn, med, mx, n, net[1] if net else "", "ok"])
    if "cpuid-iter" in r.get("net", {}):
        mn, med, mx, n = r["net"]["cpuid-iter"]
        rows.append([cpu, commit, m, p, "event", "cpuid-iter", mn, med, mx, n, med, "ok"])
    for k, v in r["workloads"].items():
        nat = runs[("native", p)]["workloads"].get(k)
        rows.append([cpu, commit, m, p, "workload", k, v, v, v, 1, f"{v / nat:.4f}" if nat else "", "ok"])
for f, (ir, calls) in cg.items():
    rows.append([cpu, commit, "host", "", "callgrind", f, ir, ir, ir, calls, f"{ir / calls:.1f}" if calls else "", "ok"])
header = ["cpu", "commit", "mode", "paging", "kind", "key", "min", "median", "max", "reps", "net_median_or_ratio", "status"]
with open(os.path.join(out, "results.csv"), "w", newline="") as fh:
    w = csv.writer(fh)
    w.writerow(header)
    w.writerows(rows)

notes = [(m, p, r) for (m, p), r in runs.items() if r["status"] not in ("ok",)]
if notes:
    md.append("## Notes on runs that did not finish\n")
    for m, p, r in notes:
        why = NA_SHADOW if r["status"] == "na" else r["why"]
        md.append(f"- {MODE_NAME[m]}, {PAGING_NAME[p]}: {r['status']}: {why}")
    md.append("")

md.append("## Reproducibility\n")
prev = os.path.join(out, "previous.csv")
if os.path.exists(prev):
    old = list(csv.DictReader(open(prev)))
    if old and old[0]["commit"] == commit and old[0]["cpu"] == cpu:
        key = lambda d: (d["mode"], d["paging"], d["kind"], d["key"])
        o = {key(d): (d["min"], d["median"], d["max"], d["status"]) for d in old if d["kind"] != "status"}
        n = {key(dict(zip(header, map(str, r)))): tuple(map(str, (r[6], r[7], r[8], r[11]))) for r in rows if r[4] != "status"}
        diff = [k for k in set(o) | set(n) if o.get(k) != n.get(k)]
        if diff:
            md.append(f"Compared with the previous run of commit `{commit}` on `{cpu}`: "
                      f"{len(diff)} of {len(set(o) | set(n))} figures DIFFER: "
                      + ", ".join("/".join(k) for k in sorted(diff)[:20]) + "\n")
        else:
            md.append(f"Compared with the previous run of commit `{commit}` on `{cpu}`: all {len(n)} "
                      "figures (every tick count and callgrind count) are identical.\n")
    else:
        md.append("The previous results are from another commit or CPU: nothing to compare. "
                  "Run `make bench` again to check run-to-run identity.\n")
else:
    md.append("No previous run to compare with: run `make bench` again to check run-to-run identity.\n")
md.append(f"Wall time of the Bochs runs and callgrind: {os.environ['SECS']} s.\n")

# Plot data: one block per guest paging mode, events in rows, modes in columns.
plot_events = [k for k, *_ in EVENTS if k != "cpuid-iter"]
with open(os.path.join(out, "events.dat"), "w") as fh:
    for p in PAGINGS:
        fh.write(f"# {PAGING_NAME[p]}\nevent native EPT shadow\n")
        for k in plot_events:
            vals = []
            for m in MODES:
                net = runs[(m, p)].get("net", {}).get(k)
                vals.append(str(max(net[1], 1)) if net else "NaN")
            fh.write(f"{k} {' '.join(vals)}\n")
        fh.write("\n\n")
# The gnuplot script: one panel per guest paging mode, one bar per mode that
# has figures (a histogram column without points is an error in gnuplot).
have = [i for i, m in enumerate(MODES) if any(runs[(m, p)]["status"] in ("ok", "partial") for p in PAGINGS)]
dat = os.path.join(out, "events.dat")
gp = [f'set terminal pngcairo size 1400,1500 font ",10"',
      f'set output "{os.path.join(out, "events.png")}"', "set termoption noenhanced",
      f'set multiplot layout 3,1 title "Umbra per-event cost (median ticks net of the bracket, log scale; 1 = one instruction): Bochs {cpu}, commit {commit}"',
      "set style data histograms", "set style histogram clustered gap 1",
      "set style fill solid 0.8 border -1", "set logscale y", "set yrange [0.8:*]",
      'set ylabel "ticks (= instructions)"', "set grid ytics", "set key top left",
      "set xtics rotate by -20"]
for i, p in enumerate(PAGINGS):
    gp.append(f'set title "{PAGING_NAME[p]} guest paging"')
    series = [f'"{dat}" index {i} using {c + 2}' + (":xtic(1)" if n == 0 else "") + f" title columnheader({c + 2})"
              for n, c in enumerate(have)]
    gp.append("plot " + ", ".join(series))
gp.append("unset multiplot")
open(os.path.join(out, "events.gp"), "w").write("\n".join(gp) + "\n")
open(os.path.join(out, "results.md"), "w").write("\n".join(md) + "\n")
EOF
[ -f "$out/results.md" ] || { echo "bench: report generation failed" >&2; exit 1; }

if command -v gnuplot >/dev/null; then
	gnuplot "$out/events.gp" 2>"$out/gnuplot.log" || echo "bench: gnuplot failed (see $out/gnuplot.log)" >&2
fi

if [ $update_docs -eq 1 ]; then
	OUT=$out python3 - <<'EOP'
import os, re
doc = "docs/performance.md"
text = open(doc).read()
rep = open(os.path.join(os.environ["OUT"], "results.md")).read()
rep = re.sub(r"^# ", "### ", rep, count=1)
rep = re.sub(r"^## ", "#### ", rep, flags=re.M)
rep = re.sub(r"^### (?!Umbra benchmarks)", "##### ", rep, flags=re.M)
new = re.sub(r"<!-- bench:begin -->.*<!-- bench:end -->",
             lambda m: "<!-- bench:begin -->\n" + rep + "<!-- bench:end -->", text, flags=re.S)
open(doc, "w").write(new)
EOP
	echo "bench: docs/performance.md updated"
fi
cat "$out/results.md"
echo "bench: report in $out/results.md, $out/results.csv, $out/events.png"
bad=$(grep -l '^fail' "$runs"/*.status 2>/dev/null)
[ -z "$bad" ] || { echo "bench: failed runs: $bad" >&2; exit 1; }
exit 0
