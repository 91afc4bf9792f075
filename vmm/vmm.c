/* vmm_run: enable VMX, then run every GRUB module as a guest, one after
 * another, and print the result table.
 *
 * Result policy: POWER_OK when every guest was loaded, ran and ended by
 * writing exit code 0 to port 0xf4 (or VMCALL 1 with code 0), and when there
 * are no guest modules at all (nothing to run, VMX is not even touched);
 * POWER_FAIL otherwise (no VMX, a refused configuration, a
 * module that is not a valid guest, a guest stopped by the hypervisor or a
 * non-zero exit code). */
#include "arch/x86/cpu.h"
#include "drivers/power.h"
#include "lib/cmdline.h"
#include "lib/frame.h"
#include "lib/panic.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "vmm/guest.h"
#include "vmm/loader.h"
#include "vmm/options.h"
#include "vmm/vmm.h"

static struct guest guests[BOOT_MAX_MODULES];
static hpa_t msr_bitmap;

/* ---- the mmu_ops the EPT builder allocates its tables through ---------- */
static hpa_t ops_alloc_page(void *ctx)
{
	(void)ctx;
	return frame_alloc();
}

static void ops_free_page(void *ctx, hpa_t hpa)
{
	(void)ctx;
	frame_free(hpa);
}

static void *ops_hpa_to_ptr(void *ctx, hpa_t hpa)
{
	(void)ctx;
	return phys_to_virt(hpa);
}

static bool ops_read_gpa(void *ctx, gpa_t gpa, void *buf, unsigned len)
{
	void *p = guest_gpa_ptr(ctx, gpa, len);

	if (!p)
		return false;
	memcpy(buf, p, len);
	return true;
}

static bool ops_cmpxchg_gpa(void *ctx, gpa_t gpa, uint64_t old, uint64_t new_val, unsigned len)
{
	void *p = guest_gpa_ptr(ctx, gpa, len);

	if (!p)
		return false;
	if (len == 8)
		return __atomic_compare_exchange_n((uint64_t *)p, &old, new_val, false,
						   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	uint32_t o32 = (uint32_t)old;
	return __atomic_compare_exchange_n((uint32_t *)p, &o32, (uint32_t)new_val, false,
					   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

static bool ops_gfn_to_hfn(void *ctx, gfn_t gfn, hfn_t *hfn)
{
	struct guest *g = ctx;

	if (gfn >= g->mem_size >> PAGE_SHIFT)
		return false;
	*hfn = (g->mem_hpa >> PAGE_SHIFT) + gfn;
	return true;
}

void guest_mmu_ops_init(struct guest *g, struct mmu_ops *ops)
{
	*ops = (struct mmu_ops){
		.ctx = g, .read_gpa = ops_read_gpa, .cmpxchg_gpa = ops_cmpxchg_gpa,
		.gfn_to_hfn = ops_gfn_to_hfn, .alloc_page = ops_alloc_page,
		.free_page = ops_free_page, .hpa_to_ptr = ops_hpa_to_ptr,
	};
}

void *guest_gpa_ptr(struct guest *g, gpa_t gpa, size_t len)
{
	if (gpa >= g->mem_size || len > g->mem_size - gpa)
		return NULL;
	return (uint8_t *)phys_to_virt(g->mem_hpa) + gpa;
}

/* ---- per-guest set-up ----------------------------------------------------- */

static void guest_name(struct guest *g, const struct boot_module *mod, unsigned i)
{
	const char *s = mod->cmdline, *start, *end;

	while (*s == ' ')
		s++;
	start = s;
	while (*s && *s != ' ')
		s++;
	end = s;
	for (const char *p = start; p < end; p++)
		if (*p == '/')
			start = p + 1;
	if (end - start > 4 && memcmp(end - 4, ".elf", 4) == 0)
		end -= 4;
	if (end == start) {
		snprintf(g->name, sizeof(g->name), "guest%u", i);
		return;
	}
	snprintf(g->name, sizeof(g->name), "%.*s", (int)MIN(end - start, 31), start);
}

/* Per-guest options: words "umbra.<key>=<value>" in a module's command
 * line (umbra.mmu=auto|ept|shadow, umbra.mem=<size>) are Umbra's, parsed
 * like the global options and removed from the command line the guest
 * sees. */
static bool guest_options(struct guest *g)
{
	static const char *const mmu_choices[] = { "auto", "ept", "shadow", NULL };
	int mmu = opts.mmu;
	uint64_t mem = opts.mem;
	const struct opt_spec specs[] = {
		{ "umbra.mmu", OPT_CHOICE, &mmu, mmu_choices, 0, 0, "auto|ept|shadow" },
		{ "umbra.mem", OPT_SIZE, &mem, NULL, 2ull << 20, 3ull << 30, "<size> 2M-3G" },
	};
	char ours[160], err[160];

	if (!cmdline_split_prefix(g->mod->cmdline, "umbra.", ours, sizeof(ours), g->cmdline,
				  sizeof(g->cmdline))) {
		snprintf(g->why, sizeof(g->why), "module command line too long");
		return false;
	}
	if (cmdline_parse(ours, specs, ARRAY_SIZE(specs), err, sizeof(err)) != CMDLINE_OK) {
		snprintf(g->why, sizeof(g->why), "module option: %s", err);
		return false;
	}
	g->mem_size = ALIGN_UP(mem, 2ull << 20);
	if (mmu == MMU_EPT && !vmx_cfg.ept) {
		snprintf(g->why, sizeof(g->why), "umbra.mmu=ept: %s",
			 opts.ept == VMX_EPT_OFF ? "EPT is off (ept=off)" : "this CPU has no EPT");
		return false;
	}
	g->shadow = mmu == MMU_SHADOW || !vmx_cfg.ept;
	return true;
}

static void guest_line(void *ctx, const char *line, size_t len)
{
	struct guest *g = ctx;

	kprintf("[%s] %.*s\n", g->name, (int)len, line);
}

/* Guest RAM at guest-physical 0, host-contiguous and 2 MiB (for 1 GiB or
 * more: 1 GiB when possible) aligned so the EPT can use large pages: write-back, with the legacy VGA window
 * 0xa0000-0xbffff uncacheable as MMIO would be (it is backed by the
 * guest's own RAM). Without unrestricted guest the identity table page
 * is mapped at IDPT_GPA (SDM Vol. 3C 29.3). */
static bool guest_memory(struct guest *g)
{
	static const struct mmu_ops ops_template = {
		.read_gpa = ops_read_gpa, .cmpxchg_gpa = ops_cmpxchg_gpa,
		.gfn_to_hfn = ops_gfn_to_hfn, .alloc_page = ops_alloc_page,
		.free_page = ops_free_page, .hpa_to_ptr = ops_hpa_to_ptr,
	};
	static struct mmu_ops ops[BOOT_MAX_MODULES];
	unsigned sizes = EPT_SIZE_4K;
	enum ept_status st;

	/* 1 GiB alignment lets the EPT use 1 GiB pages for large guests. */
	if (vmx_cfg.ept_1g && g->mem_size >= (1ull << 30))
		g->mem_hpa = frame_alloc_contig(g->mem_size >> PAGE_SHIFT, 1ull << 30, 0);
	if (!g->mem_hpa)
		g->mem_hpa = frame_alloc_contig(g->mem_size >> PAGE_SHIFT, 2ull << 20, 0);
	if (!g->mem_hpa) {
		snprintf(g->why, sizeof(g->why), "cannot allocate %llu MiB of guest RAM",
			 (unsigned long long)(g->mem_size >> 20));
		return false;
	}
	if (g->shadow) {
		if (!smmu_init(g, (unsigned)opts.shadow_pool)) {
			snprintf(g->why, sizeof(g->why), "out of memory for the shadow MMU");
			return false;
		}
		snprintf(g->mem_mode, sizeof(g->mem_mode), "shadow%s", vmx_cfg.vpid ? " VPID" : "");
		return true;
	}
	ops[g->index] = ops_template;
	ops[g->index].ctx = g;
	if (vmx_cfg.ept_2m)
		sizes |= EPT_SIZE_2M;
	if (vmx_cfg.ept_1g)
		sizes |= EPT_SIZE_1G;
	st = ept_init(&g->ept, &ops[g->index], vmx_cfg.ept_levels, sizes, vmx_cfg.ept_exec_only,
		      boot_cpu.maxphyaddr);
	if (st == EPT_OK)
		st = ept_map(&g->ept, 0, g->mem_hpa, 0xa0000, EPT_RWX, EPT_MT_WB);
	if (st == EPT_OK)
		st = ept_map(&g->ept, 0xa0000, g->mem_hpa + 0xa0000, 0x20000, EPT_RWX, EPT_MT_UC);
	if (st == EPT_OK)
		st = ept_map(&g->ept, 0xc0000, g->mem_hpa + 0xc0000, g->mem_size - 0xc0000, EPT_RWX,
			     EPT_MT_WB);
	if (st == EPT_OK && !vmx_cfg.unrestricted) {
		uint32_t *pd;

		g->idpt_hpa = frame_alloc();
		if (!g->idpt_hpa) {
			st = EPT_ENOMEM;
		} else {
			/* 32-bit paging with 4 MiB pages (SDM Vol. 3A 4.3): PDE =
			 * base | PS | D | A | U/S | R/W | P; the slot holding the
			 * table itself stays not present. */
			pd = phys_to_virt(g->idpt_hpa);
			for (unsigned i = 0; i < 1023; i++)
				pd[i] = (i << 22) | 0xe7;
			pd[1023] = 0;
			st = ept_map(&g->ept, IDPT_GPA, g->idpt_hpa, PAGE_SIZE, EPT_RWX, EPT_MT_WB);
		}
	}
	if (st != EPT_OK) {
		snprintf(g->why, sizeof(g->why), "EPT set-up failed (%s)",
			 st == EPT_ENOMEM ? "out of memory" : "invalid mapping");
		return false;
	}
	g->ept_ready = true;
	g->eptp = ept_eptp(&g->ept, vmx_cfg.ept_ad);
	snprintf(g->mem_mode, sizeof(g->mem_mode), "EPT%u%s%s%s", vmx_cfg.ept_levels,
		 vmx_cfg.ept_ad ? "+A/D" : "", vmx_cfg.unrestricted ? " UG" : " idmap",
		 vmx_cfg.vpid ? " VPID" : "");
	return true;
}

static void guest_release(struct guest *g)
{
	if (g->shadow && g->sh.ops)
		smmu_release(g);
	if (g->ept_ready)
		ept_destroy(&g->ept);
	g->ept_ready = false;
	if (g->idpt_hpa)
		frame_free(g->idpt_hpa);
	if (g->mem_hpa)
		frame_free_contig(g->mem_hpa, g->mem_size >> PAGE_SHIFT);
	if (g->vmcs) {
		vmclear(g->vmcs);
		frame_free(g->vmcs);
	}
	g->idpt_hpa = g->mem_hpa = g->vmcs = 0;
	if (g->shadow) {
		char buf[40];

		snprintf(buf, sizeof(buf), "shadow %s%s", g->root_levels == 4 ? "4-level" : "PAE-root",
			 vmx_cfg.vpid ? " VPID" : "");
		memcpy(g->mem_mode, buf, sizeof(buf));
	}
}

/* TLB hygiene before a guest's first entry (SDM Vol. 3C 30.4.3): the
 * guest-physical mappings of this EPTP and the linear mappings of this
 * VPID may be left over from an earlier guest that used the same frames or
 * the same VPID. Without VPID every entry and exit flushes VPID 0's linear
 * mappings, so only INVEPT is needed. */
static void guest_flush_tlb(struct guest *g)
{
	if (!g->shadow)
		invept(vmx_cfg.invept_type, vmx_cfg.invept_type == INVEPT_SINGLE ? g->eptp : 0);
	if (vmx_cfg.vpid)
		invvpid(vmx_cfg.invvpid_type, vmx_cfg.invvpid_type == INVVPID_SINGLE ? g->vpid : 0, 0);
}

/* vmxtest=: break one VMCS field on purpose, so the software checks, the
 * failed VM entry and the VMCS dump can be tested. */
static void vmm_vmxtest_corrupt(struct guest *g, gpa_t entry)
{
	switch (opts.vmxtest) {
	case VMXTEST_EPT_MISCONFIG: {	/* reserved memory type 2 in the leaf
					 * mapping the entry point (SDM 29.3.3.1) */
		hpa_t table = g->ept.root;

		for (unsigned level = g->ept.levels; level >= 1; level--) {
			uint64_t *e = (uint64_t *)phys_to_virt(table) +
				      ((entry >> (12 + 9 * (level - 1))) & 511);

			if (level == 1 || (*e & EPT_LEAF)) {
				*e = (*e & ~(7ull << EPT_MT_SHIFT)) | (2ull << EPT_MT_SHIFT);
				break;
			}
			table = *e & GENMASK(51, 12);
		}
		break;
	}
	case VMXTEST_GUEST_STATE:	/* a code segment in SS (SDM 27.3.1.2) */
		vmcs_write(VMCS_GUEST_SS_AR, 0xc09b);
		break;
	case VMXTEST_HOST_STATE:	/* a 64-bit host without CR4.PAE (SDM 27.2.2) */
		vmcs_write(VMCS_HOST_CR4, vmcs_read(VMCS_HOST_CR4) & ~(uint64_t)CR4_PAE);
		break;
	case VMXTEST_CONTROL:		/* a must-be-1 pin-based control cleared (27.2.1.1) */
		vmcs_write(VMCS_PIN_CTLS, vmcs_read(VMCS_PIN_CTLS) & ~(uint64_t)BIT(1));
		break;
	default:
		break;
	}
}

static const char *prof_class_name(unsigned c)
{
	static const char *const extra[] = { "#PF->guest", "#PF fill", "#PF table write",
					     "step done" };

	return c < EXIT_REASON_COUNT ? vmx_exit_reason_name(c) : extra[c - EXIT_REASON_COUNT];
}

/* exitstats=on: where the hypervisor's time went, by exit class, costliest
 * first (TSC ticks from VM exit to the next VM entry, the entry and exit
 * transitions themselves excluded). */
static void print_exit_profile(const struct guest *g)
{
	uint64_t all = 0, n = 0;
	bool done[PROF_CLASSES] = { false };

	for (unsigned c = 0; c < PROF_CLASSES; c++) {
		all += g->prof_ticks[c];
		n += g->prof_count[c];
	}
	kprintf("exitstats: guest '%s': %llu exits handled in %llu TSC ticks of %llu run\n",
		g->name, (unsigned long long)n, (unsigned long long)all,
		(unsigned long long)(g->prof_end - g->prof_start));
	for (;;) {
		unsigned best = PROF_CLASSES;

		for (unsigned c = 0; c < PROF_CLASSES; c++)
			if (!done[c] && g->prof_count[c] &&
			    (best == PROF_CLASSES || g->prof_ticks[c] > g->prof_ticks[best]))
				best = c;
		if (best == PROF_CLASSES)
			break;
		done[best] = true;
		kprintf("exitstats:   %-18s %10llu exits %14llu ticks %8llu per exit %3llu%%\n",
			prof_class_name(best), (unsigned long long)g->prof_count[best],
			(unsigned long long)g->prof_ticks[best],
			(unsigned long long)(g->prof_ticks[best] / g->prof_count[best]),
			(unsigned long long)(all ? g->prof_ticks[best] * 100 / all : 0));
	}
}

/* One VM entry and the handling of the exit that ends it; false when the
 * guest is done. @prof (a constant at each call): charge the time since the
 * previous exit (*@exit_tsc) to that exit's class, and time this one. */
static inline __attribute__((always_inline)) bool guest_enter(struct guest *g, bool prof,
							      uint64_t *exit_tsc)
{
	if (g->shadow)
		smmu_before_entry(g);
	if (prof && *exit_tsc) {
		g->prof_ticks[g->prof_class] += rdtsc() - *exit_tsc;
		g->prof_count[g->prof_class]++;
	}
	enum vmx_enter_result r = vmx_enter(&g->regs, g->launched);

	if (prof)
		*exit_tsc = rdtsc();
	if (r != VMX_ENTER_EXIT) {
		uint64_t e = 0;

		if (r == VMX_ENTER_FAIL_VALID && vmcs_try_read(VMCS_INSN_ERROR, &e)) {
			kprintf("vmm: guest '%s': %s failed: VM-instruction error %llu: %s\n",
				g->name, g->launched ? "VMRESUME" : "VMLAUNCH",
				(unsigned long long)e, vmx_insn_error_name((unsigned)e));
			vmcs_check();
			vmcs_dump("failed VM entry");
			guest_stop(g, "VM entry failed: %s", vmx_insn_error_name((unsigned)e));
		} else {
			panic("%s failed with VMfailInvalid", g->launched ? "VMRESUME" : "VMLAUNCH");
		}
		return false;
	}
	g->launched = true;
	return exit_handle(g);
}

static void guest_run(struct guest *g)
{
	const struct boot_module *mod = g->mod;
	struct load_result lr;
	char err[160];
	uint32_t mbi;

	g->state = GUEST_NOT_RUN;
	if (!guest_options(g))
		goto out;
	kprintf("vmm: guest %u '%s': module 0x%llx-0x%llx, %llu MiB RAM, %s paging\n", g->index,
		g->name, (unsigned long long)mod->start, (unsigned long long)mod->end,
		(unsigned long long)(g->mem_size >> 20), g->shadow ? "shadow" : "EPT");
	if (!guest_memory(g))
		goto out;
	uint8_t *gmem = phys_to_virt(g->mem_hpa);
	enum load_status ls = loader_load(phys_to_virt(mod->start), mod->end - mod->start, gmem,
					  g->mem_size, &lr, err, sizeof(err));
	if (ls != LOAD_OK) {
		snprintf(g->why, sizeof(g->why), "not a Multiboot guest: %s", err);
		goto out;
	}
	mbi = loader_write_mbi(gmem, g->mem_size, g->cmdline);
	if (g->shadow)
		kprintf("vmm: guest '%s': %s image 0x%llx-0x%llx, entry 0x%x, memory %s "
			"(pool of %llu shadow pages)\n",
			g->name, lr.aout_kludge ? "a.out-kludge" : lr.elf64 ? "ELF64" : "ELF32",
			(unsigned long long)lr.image_lo, (unsigned long long)lr.image_hi, lr.entry,
			g->mem_mode, (unsigned long long)opts.shadow_pool);
	else
		kprintf("vmm: guest '%s': %s image 0x%llx-0x%llx, entry 0x%x, memory %s (%llu EPT table pages)\n",
			g->name, lr.aout_kludge ? "a.out-kludge" : lr.elf64 ? "ELF64" : "ELF32",
			(unsigned long long)lr.image_lo, (unsigned long long)lr.image_hi, lr.entry,
			g->mem_mode, (unsigned long long)g->ept.table_pages);

	g->vmcs = vmx_alloc_struct();
	if (!g->vmcs) {
		snprintf(g->why, sizeof(g->why), "out of memory for the VMCS");
		goto out;
	}
	*(uint32_t *)phys_to_virt(g->vmcs) = vmx_cfg.revision;
	vmclear(g->vmcs);
	vmptrld(g->vmcs);
	g->vpid = (uint16_t)(g->index + 1);
	vmcs_setup(g, lr.entry, mbi, msr_bitmap);
	if (g->shadow)
		smmu_vmcs_setup(g);
	uart_init(&g->uart, guest_line, g);

	vmm_vmxtest_corrupt(g, lr.entry);
	unsigned bad = vmcs_check();
	if (bad && opts.vmxtest) {
		kprintf("vmm: vmxtest: launching despite %u failed check(s), to exercise the failure path\n",
			bad);
	} else if (bad) {
		snprintf(g->why, sizeof(g->why), "%u VM-entry check(s) failed before VMLAUNCH", bad);
		vmcs_dump("VM-entry checks failed");
		goto out;
	}
	guest_flush_tlb(g);
	/* XCR0 is not part of the VMCS: each guest starts with x87 only. */
	if (read_cr4() & CR4_OSXSAVE)
		__asm__ volatile("xsetbv" ::"a"(1), "d"(0), "c"(0));

	g->state = GUEST_RUNNING;
	g->launched = false;
	g->prof_start = rdtsc();
	uint64_t exit_tsc = 0;
	/* Two instances of the loop, so the plain one tests nothing for
	 * exitstats on the exit path. */
	if (opts.exitstats)
		while (g->state == GUEST_RUNNING && guest_enter(g, true, &exit_tsc))
			;
	else
		while (g->state == GUEST_RUNNING && guest_enter(g, false, &exit_tsc))
			;
	uart_flush(&g->uart);
	g->prof_end = rdtsc();
	if (opts.exitstats)
		print_exit_profile(g);
out:
	guest_release(g);
}

/* MSR bitmap (SDM Vol. 3C 25.6.9): read-low, read-high, write-low,
 * write-high, 1 KiB each; a set bit makes the access exit. Everything exits
 * except the MSRs whose guest values the VMCS itself switches or that the
 * host never uses. */
static void msr_bitmap_init(void)
{
	static const uint32_t passthrough[] = {
		MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
		MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE,
		0xc0000081u, 0xc0000082u, 0xc0000083u, 0xc0000084u,	/* STAR LSTAR CSTAR FMASK */
	};
	uint8_t *bm = phys_to_virt(msr_bitmap);

	memset(bm, 0xff, PAGE_SIZE);
	for (unsigned i = 0; i < ARRAY_SIZE(passthrough); i++) {
		uint32_t msr = passthrough[i];
		unsigned base = msr >= 0xc0000000u ? 1024 : 0;
		unsigned bit = msr & 0x1fff;

		bm[base + bit / 8] &= (uint8_t)~(1u << (bit % 8));
		bm[2048 + base + bit / 8] &= (uint8_t)~(1u << (bit % 8));
	}
	if ((vmx_cfg.entry & ENTRY_LOAD_PAT) && (vmx_cfg.exit & EXIT_SAVE_PAT)) {
		unsigned bit = MSR_IA32_PAT;

		bm[bit / 8] &= (uint8_t)~(1u << (bit % 8));
	}
}

static void print_results(unsigned n)
{
	kprintf("\n%-16s %-22s %-10s %s\n", "guest", "memory", "exit code", "VM exits by reason");
	for (unsigned i = 0; i < n; i++) {
		struct guest *g = &guests[i];
		char code[16];
		char line[400];
		int len = 0;

		if (g->state == GUEST_EXITED)
			snprintf(code, sizeof(code), "%u", g->exit_code);
		else
			snprintf(code, sizeof(code), "%s", g->state == GUEST_NOT_RUN ? "not run" : "stopped");
		for (unsigned r = 0; r < EXIT_REASON_COUNT && len < (int)sizeof(line) - 40; r++)
			if (g->exits[r])
				len += snprintf(line + len, sizeof(line) - (size_t)len, "%s%s=%llu",
						len ? " " : "", vmx_exit_reason_name(r),
						(unsigned long long)g->exits[r]);
		if (!len)
			snprintf(line, sizeof(line), "-");
		kprintf("%-16s %-22s %-10s %s\n", g->name, g->mem_mode[0] ? g->mem_mode : "-", code, line);
		if (g->state == GUEST_STOPPED || g->state == GUEST_NOT_RUN)
			kprintf("%-16s   why: %s\n", "", g->why);
		if (g->sh_summary[0])
			kprintf("%-16s   shadow: %s\n", "", g->sh_summary);
		if (g->io_other_reads || g->io_other_writes || g->msr_unknown)
			kprintf("%-16s   unclaimed ports: %llu reads, %llu writes; unknown MSRs: %llu\n", "",
				(unsigned long long)g->io_other_reads,
				(unsigned long long)g->io_other_writes,
				(unsigned long long)g->msr_unknown);
	}
}

int vmm_run(const struct boot_info *bi)
{
	char err[200];
	bool ok = true;

	if (bi->module_count == 0) {
		kprintf("vmm: no guest modules: nothing to run\n");
		return POWER_OK;
	}
	if (opts.mem & ((2ull << 20) - 1)) {
		opts.mem = ALIGN_UP(opts.mem, 2ull << 20);
		kprintf("vmm: guest memory rounded up to %llu MiB\n", (unsigned long long)(opts.mem >> 20));
	}
	if (!vmx_enable(err, sizeof(err))) {
		kprintf("vmm: error: %s\n", err);
		kprintf("vmm: no guest was run\n");
		return POWER_FAIL;
	}
	/* The host runs with interrupts off and virtualises no interrupt
	 * controller: mask the legacy PICs so that no external interrupt keeps
	 * exiting the guest. */
	outb(0x21, 0xff);
	outb(0xa1, 0xff);

	msr_bitmap = vmx_alloc_struct();
	if (!msr_bitmap)
		panic("out of memory for the MSR bitmap");
	msr_bitmap_init();

	for (unsigned i = 0; i < bi->module_count; i++) {
		struct guest *g = &guests[i];

		memset(g, 0, sizeof(*g));
		g->index = i;
		g->mod = &bi->modules[i];
		guest_name(g, g->mod, i);
		guest_run(g);
		/* A stopped guest was reported by guest_stop() already. */
		if (g->state == GUEST_EXITED)
			kprintf("vmm: guest '%s' exited with code %u after %llu VM exits\n", g->name,
				g->exit_code, (unsigned long long)g->exits_total);
		else if (g->state == GUEST_NOT_RUN)
			kprintf("vmm: guest '%s' not run: %s\n", g->name, g->why);
		if (g->state != GUEST_EXITED || g->exit_code != 0)
			ok = false;
	}
	print_results(bi->module_count);
	vmx_disable();
	kprintf("vmm: %s\n", ok ? "all guests exited with code 0" : "some guests failed");
	return ok ? POWER_OK : POWER_FAIL;
}

/* Invariant failure inside mmu/ (mmu/ops.h): in the hypervisor, a panic. */
void mmu_bug(const char *file, int line, const char *what)
{
	panic_at(file, line, "mmu: %s", what);
}
