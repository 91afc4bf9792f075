/* Shadow paging for one guest: the VMM side of mmu/shadow.c.
 *
 * Without EPT (or with mmu=shadow) the CPU translates guest linear addresses
 * through host page tables that mirror the guest's (mmu/shadow.h). This
 * file owns what the guest believes its paging registers hold and what the
 * real ones hold, and turns #PF, MOV CR, INVLPG and MTF exits into calls of
 * the guest walker (mmu/walk.c) and of the shadow MMU.
 *
 * Control registers (SDM Vol. 3C 25.6.6, 26.1.3): every CR0 and CR4 bit is
 * host-owned (masks all-ones), so the guest reads its own values from the
 * read shadows and every MOV that changes one exits; MOV to/from CR3 exits
 * (CR3-load/store exiting) and the guest's CR3 lives in g->cr3; its EFER
 * (WRMSR intercepted) in g->efer. The real registers are derived:
 *   CR0  = PE | PG | WP | NE + the guest's MP, EM, TS, ET, AM (no CD/NW):
 *          no unrestricted guest without EPT (27.3.1.1), and CR0.WP = 0 is
 *          emulated by the shadow (mmu/shadow.h);
 *   CR4  = PAE + the guest's VME, PVI, TSD, DE, MCE, PCE, OSFXSR,
 *          OSXMMEXCPT, UMIP, FSGSBASE, OSXSAVE, and its SMEP/SMAP while its
 *          paging is on; PGE = 0 (shadow leaves are never global);
 *   CR3  = the shadow root: a PAE root below 4 GiB (the CPU loads the four
 *          PDPTEs from it at entry, 27.3.2.4, since EPT is off) for paging
 *          off, 32-bit and PAE guests, the 4-level root for 4-level guests;
 *   EFER = the guest's SCE, NXE whenever the CPU has NX (so #PF error codes
 *          report instruction fetches, SDM Vol. 3A 4.7; shadow leaves carry
 *          XD only for guests with NXE), LME = LMA = the guest's LMA, with
 *          the IA-32e-mode-guest entry control following LMA.
 *
 * Invariants:
 *  - g->sh.root is the root of (guest CR3, mode, PDPTEs) and the VMCS guest
 *    CR3 holds its hpa;
 *  - g->gm is the walker mode of the guest's CR0/CR4/EFER;
 *  - while g->step.active, MTF is set and the leaves of g->step.gva[] are
 *    writable; nothing else is unprotected. */
#include "arch/x86/cpu.h"
#include "lib/frame.h"
#include "lib/panic.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "vmm/guest.h"
#include "vmm/options.h"

#define VECTOR_DB	1
#define VECTOR_DF	8
#define DR6_BS		BIT(14)
#define VECTOR_PF	14

/* Set when an MTF step ended without its MTF VM exit (Bochs 2.7's
 * tigerlake model advertises MTF but does not deliver the exit after a
 * plain VM entry): TF stepping from then on. */
static bool mtf_missing;

static bool use_mtf(void)
{
	return vmx_cfg.mtf && !mtf_missing;
}

/* Shadow tables, the PAE root (loaded through a 32-bit CR3) and the
 * shadow's metadata pages, counted so that the guest's end can prove that
 * every one went back. */
static hpa_t smmu_alloc_page(void *ctx)
{
	struct guest *g = ctx;
	hpa_t hpa = frame_alloc();

	/* frame_alloc is the fast path; the bounded search only when it
	 * returned a frame above 4 GiB. */
	if (hpa && hpa + PAGE_SIZE > (1ull << 32)) {
		hpa_t low = frame_alloc_contig(1, PAGE_SIZE, 1ull << 32);

		frame_free(hpa);
		hpa = low;
	}
	if (hpa && ++g->sh_frames > g->sh_frames_peak)
		g->sh_frames_peak = g->sh_frames;
	return hpa;
}

static void smmu_free_page(void *ctx, hpa_t hpa)
{
	struct guest *g = ctx;

	if (!g->sh_frames)
		panic("shadow freed more pages than it allocated");
	g->sh_frames--;
	frame_free(hpa);
}

/* The walker sets A and D in guest entries through this op. In an open
 * frame (see frame_open) the snapshot stands for what the shadow was built
 * from, so an entry in step with it stays in step: a guest clearing the
 * flag again then shows as a change at its next flush. */
static bool (*guest_cmpxchg)(void *ctx, gpa_t gpa, uint64_t old, uint64_t new_val, unsigned len);

static bool smmu_cmpxchg_gpa(void *ctx, gpa_t gpa, uint64_t old, uint64_t new_val, unsigned len)
{
	struct guest *g = ctx;

	if (!guest_cmpxchg(ctx, gpa, old, new_val, len))
		return false;
	for (unsigned i = 0; g->open_count && i < SMMU_OPEN_FRAMES; i++) {
		if (!g->open[i].used || g->open[i].gpa != (gpa & PAGE_MASK))
			continue;
		uint8_t *snap = (uint8_t *)phys_to_virt(g->open[i].snap) + (gpa & ~PAGE_MASK);

		if (len == 8 && *(uint64_t *)snap == old)
			*(uint64_t *)snap = new_val;
		else if (len == 4 && *(uint32_t *)snap == (uint32_t)old)
			*(uint32_t *)snap = (uint32_t)new_val;
		break;		/* a frame is open in one slot at most */
	}
	return true;
}

bool smmu_init(struct guest *g, unsigned pool_pages)
{
	guest_mmu_ops_init(g, &g->sh_ops);
	g->sh_ops.alloc_page = smmu_alloc_page;
	g->sh_ops.free_page = smmu_free_page;
	guest_cmpxchg = g->sh_ops.cmpxchg_gpa;
	g->sh_ops.cmpxchg_gpa = smmu_cmpxchg_gpa;
	if (shadow_init(&g->sh, &g->sh_ops, pool_pages, 0, boot_cpu.maxphyaddr) != SHADOW_OK)
		return false;
	return true;
}

static void snapshots_free(struct guest *g)
{
	for (unsigned i = 0; i < ARRAY_SIZE(g->step.snap); i++) {
		if (g->step.snap[i])
			frame_free(g->step.snap[i]);
		g->step.snap[i] = 0;
	}
	for (unsigned i = 0; i < SMMU_OPEN_FRAMES; i++) {
		if (g->open[i].snap)
			frame_free(g->open[i].snap);
		g->open[i].snap = 0;
		g->open[i].used = false;
	}
	g->open_count = 0;
}

void smmu_release(struct guest *g)
{
	struct shadow_stats st = g->sh.stats;

	snapshots_free(g);
	shadow_destroy(&g->sh);
	if (g->msr_area)
		frame_free(g->msr_area);
	g->msr_area = 0;
	long long leaked = (long long)g->sh_frames;

	kprintf("shadow: guest '%s': %llu faults (%llu guest #PF, %llu re-injected), %llu pages in "
		"use of %llu allocated, %llu zapped (%llu by LRU), root cache %llu hits %llu misses, "
		"peak %llu frames, %llu unsync, %llu syncs, %llu single-steps (%s), %llu frames opened, "
		"%llu emulated writes, %llu unshadowed writes; leaked %lld\n", g->name, (unsigned long long)st.faults,
		(unsigned long long)g->sh_guest_pf, (unsigned long long)g->sh_reinjected,
		(unsigned long long)st.pages, (unsigned long long)st.pages_allocated,
		(unsigned long long)st.pages_zapped, (unsigned long long)st.lru_zaps,
		(unsigned long long)st.root_cache_hits, (unsigned long long)st.root_cache_misses,
		(unsigned long long)g->sh_frames_peak, (unsigned long long)st.unsync_pages,
		(unsigned long long)st.syncs, (unsigned long long)g->sh_steps,
		use_mtf() ? "MTF" : "TF", (unsigned long long)g->sh_opened,
		(unsigned long long)st.emulated_writes, (unsigned long long)g->sh_zapped_writes, leaked);
	snprintf(g->sh_summary, sizeof(g->sh_summary),
		 "%llu faults, %llu pages allocated, %llu zapped (%llu by LRU), root cache %llu hits "
		 "%llu misses, %llu single-steps, %llu frames opened, leaked %lld",
		 (unsigned long long)st.faults, (unsigned long long)st.pages_allocated,
		 (unsigned long long)st.pages_zapped, (unsigned long long)st.lru_zaps,
		 (unsigned long long)st.root_cache_hits, (unsigned long long)st.root_cache_misses,
		 (unsigned long long)g->sh_steps, (unsigned long long)g->sh_opened, leaked);
}

/* ---- real state ------------------------------------------------------------ */

static uint64_t real_cr0(uint64_t cr0)
{
	const struct vmx_config *c = &vmx_cfg;
	uint64_t v = (cr0 & (CR0_MP | CR0_EM | CR0_TS | CR0_ET | CR0_AM)) |
		     CR0_PE | CR0_PG | CR0_WP | CR0_NE;

	return ((v | c->cr0_fixed0) & c->cr0_fixed1) & ~(uint64_t)(CR0_CD | CR0_NW);
}

static uint64_t real_cr4(uint64_t cr4, bool pg)
{
	const struct vmx_config *c = &vmx_cfg;
	uint64_t pass = CR4_VME | CR4_PVI | CR4_TSD | CR4_DE | CR4_MCE | CR4_PCE | CR4_OSFXSR |
			CR4_OSXMMEXCPT | CR4_UMIP | CR4_FSGSBASE | CR4_OSXSAVE;

	if (pg)
		pass |= CR4_SMEP | CR4_SMAP;
	return ((cr4 & pass) | CR4_PAE | c->cr4_fixed0) & c->cr4_fixed1;
}

/* Without the EFER VMCS controls (Penryn): one-entry VM-entry and VM-exit
 * MSR-load lists (SDM Vol. 3C 25.7.2, 25.8.2; entries of 16 bytes: index,
 * reserved, value) load the guest's and the host's EFER. */
#define MSR_AREA_ENTRY	0
#define MSR_AREA_EXIT	16

static void guest_efer_area_set(struct guest *g, uint64_t efer)
{
	uint8_t *area = phys_to_virt(g->msr_area);

	*(uint32_t *)(area + MSR_AREA_ENTRY) = MSR_EFER;
	*(uint64_t *)(area + MSR_AREA_ENTRY + 8) = efer;
}

/* The real EFER goes through the VMCS with the EFER controls, else through
 * the VM-entry MSR-load area (SDM Vol. 3C 25.8.2, 27.4); either way the
 * IA-32e-mode-guest control must equal LMA (27.3.1.1). */
static void set_real_efer(struct guest *g, uint64_t efer)
{
	uint64_t entry = vmcs_read(VMCS_ENTRY_CTLS);

	if (vmx_cfg.load_efer)
		vmcs_write(VMCS_GUEST_EFER, efer);
	else
		guest_efer_area_set(g, efer);
	if (efer & EFER_LMA)
		entry |= ENTRY_IA32E_MODE_GUEST;
	else
		entry &= ~(uint64_t)ENTRY_IA32E_MODE_GUEST;
	vmcs_write(VMCS_ENTRY_CTLS, entry);
}

static void paging_mode_of(struct paging_mode *pm, uint64_t cr0, uint64_t cr4, uint64_t efer)
{
	*pm = (struct paging_mode){
		.cr0_pg = cr0 & CR0_PG, .cr0_wp = cr0 & CR0_WP,
		.cr4_pae = cr4 & CR4_PAE, .cr4_pse = cr4 & CR4_PSE,
		.cr4_smep = cr4 & CR4_SMEP, .cr4_smap = cr4 & CR4_SMAP,
		.efer_nx = efer & EFER_NXE, .efer_lma = efer & EFER_LMA,
		.gbpages = boot_cpu.pdpe1gb, .maxphyaddr = boot_cpu.maxphyaddr,
	};
}

static unsigned guest_levels(uint64_t cr0, uint64_t cr4, uint64_t efer)
{
	if (!(cr0 & CR0_PG))
		return 0;
	if (!(cr4 & CR4_PAE))
		return 2;
	return (efer & EFER_LMA) ? 4 : 3;
}

/* Load the shadow root for the guest's current CR3 and mode into the VMCS.
 * A pool full of pinned pages is met by zapping everything once. */
static enum smmu_cr_status load_root(struct guest *g)
{
	uint64_t cr0 = vmcs_read(VMCS_CR0_SHADOW), cr4 = vmcs_read(VMCS_CR4_SHADOW);
	struct shadow_mode sm = {
		.guest_levels = guest_levels(cr0, cr4, g->efer),
		.cr0_wp = cr0 & CR0_WP, .cr4_smep = cr4 & CR4_SMEP, .cr4_smap = cr4 & CR4_SMAP,
		.efer_nx = g->efer & EFER_NXE, .cr4_pse = cr4 & CR4_PSE,
		.guest_maxphyaddr = boot_cpu.maxphyaddr,
	};
	enum shadow_status st;
	hpa_t root = 0;

	st = shadow_load_root(&g->sh, &sm, g->cr3, g->pdptes, &root);
	if (st == SHADOW_ENOMEM) {
		shadow_zap_all(&g->sh);
		st = shadow_load_root(&g->sh, &sm, g->cr3, g->pdptes, &root);
	}
	if (st != SHADOW_OK) {
		guest_stop(g, "shadow root for CR3 0x%llx failed (%s)", (unsigned long long)g->cr3,
			   st == SHADOW_ENOMEM ? "shadow_pool too small" : "invalid mode");
		return SMMU_STOPPED;
	}
	vmcs_write(VMCS_GUEST_CR3, root);
	if (sm.guest_levels == 4 && g->root_levels < 4)
		g->root_levels = 4;
	else if (!g->root_levels)
		g->root_levels = 3;
	return SMMU_OK;
}

static void frames_flush(struct guest *g);

/* A MOV to CR0/CR3/CR4 or a WRMSR to EFER changed the guest's paging
 * registers. PAE PDPTEs are (re)loaded from CR3 when @pdpte_load says this
 * instruction loads them (SDM Vol. 3A 4.4.1: MOV to CR3, and MOV to CR0/CR4
 * changing CR0.CD/NW/PG or CR4.PAE/PGE/PSE/SMEP, while PAE paging is or
 * becomes in use); a PDPTE with reserved bits set makes the instruction
 * fail with #GP and changes nothing. */
enum smmu_cr_status smmu_set_paging(struct guest *g, uint64_t cr0, uint64_t cr4, uint64_t efer,
				    uint64_t cr3, bool pdpte_load)
{
	bool pg = cr0 & CR0_PG;
	struct paging_mode pm;
	uint64_t pdptes[4];

	frames_flush(g);
	efer = (pg && (efer & EFER_LME)) ? efer | EFER_LMA : efer & ~EFER_LMA;
	paging_mode_of(&pm, cr0, cr4, efer);
	if (guest_levels(cr0, cr4, efer) == 3 && pdpte_load) {
		gpa_t gpa = cr3 & 0xffffffe0ull;

		if (!g->sh_ops.read_gpa(g->sh_ops.ctx, gpa, pdptes, sizeof(pdptes)))
			memset(pdptes, 0, sizeof(pdptes));
		for (unsigned i = 0; i < 4; i++)
			if (!pae_pdpte_valid(&pm, pdptes[i]))
				return SMMU_GP;
		memcpy(g->pdptes, pdptes, sizeof(pdptes));
	}
	g->cr3 = cr3;
	/* A plain CR3 load (the common case: a context switch) keeps the
	 * mode, its walker tables and the real registers. */
	if (g->sh_mode_set && cr0 == vmcs_read(VMCS_CR0_SHADOW) &&
	    cr4 == vmcs_read(VMCS_CR4_SHADOW) && efer == g->efer)
		return load_root(g);
	vmcs_write(VMCS_CR0_SHADOW, cr0);
	vmcs_write(VMCS_CR4_SHADOW, cr4);
	g->efer = efer;
	gwalk_mode_init(&g->gm, &pm);
	vmcs_write(VMCS_GUEST_CR0, real_cr0(cr0));
	vmcs_write(VMCS_GUEST_CR4, real_cr4(cr4, pg));
	set_real_efer(g, (efer & EFER_SCE) | (boot_cpu.nx ? EFER_NXE : 0) |
			 ((efer & EFER_LMA) ? EFER_LME | EFER_LMA : 0));
	g->sh_mode_set = true;
	return load_root(g);
}

/* Controls for a shadow guest, on top of vmcs_setup(): no EPT, no
 * unrestricted guest, no INVPCID (it would bypass the shadow's view of
 * guest TLB flushes); CR3-load/store, INVLPG and #PF exiting (every #PF:
 * PFEC mask = match = 0, SDM Vol. 3C 26.2); all CR0/CR4 bits host-owned;
 * then the Multiboot machine state (PE = 1, PG = 0) on the direct root. */
void smmu_vmcs_setup(struct guest *g)
{
	const struct vmx_config *c = &vmx_cfg;
	uint64_t proc = vmcs_read(VMCS_PROC_CTLS);
	uint64_t want = CPU_CR3_LOAD_EXITING | CPU_CR3_STORE_EXITING | CPU_INVLPG_EXITING;

	if ((want & c->proc_allowed1) != want)
		panic("CR3/INVLPG exiting not allowed (proc allowed-1 0x%x)", c->proc_allowed1);
	proc = (proc | want) & ~(uint64_t)CPU_MTF;
	vmcs_write(VMCS_PROC_CTLS, proc);
	if (proc & CPU_SECONDARY_CTLS)
		vmcs_write(VMCS_PROC_CTLS2, c->proc2 & ~(uint32_t)(CPU2_EPT | CPU2_UNRESTRICTED_GUEST |
								   CPU2_INVPCID));
	vmcs_write(VMCS_EXCEPTION_BITMAP, BIT(VECTOR_PF));
	vmcs_write(VMCS_PF_ERROR_MASK, 0);
	vmcs_write(VMCS_PF_ERROR_MATCH, 0);
	if (!c->load_efer) {
		uint8_t *area;

		if (!g->msr_area)
			g->msr_area = vmx_alloc_struct();
		if (!g->msr_area)
			panic("out of memory for the MSR-load area");
		area = phys_to_virt(g->msr_area);
		*(uint32_t *)(area + MSR_AREA_EXIT) = MSR_EFER;
		*(uint64_t *)(area + MSR_AREA_EXIT + 8) = rdmsr(MSR_EFER);
		vmcs_write(VMCS_ENTRY_MSR_LOAD_ADDR, g->msr_area + MSR_AREA_ENTRY);
		vmcs_write(VMCS_ENTRY_MSR_LOAD_COUNT, 1);
		vmcs_write(VMCS_EXIT_MSR_LOAD_ADDR, g->msr_area + MSR_AREA_EXIT);
		vmcs_write(VMCS_EXIT_MSR_LOAD_COUNT, 1);
	}
	g->idpt_active = false;
	g->sh_mode_set = false;
	g->cr0_mask = ~0ull;
	g->cr4_mask = ~0ull;
	vmcs_write(VMCS_CR0_MASK, g->cr0_mask);
	vmcs_write(VMCS_CR4_MASK, g->cr4_mask);
	if (smmu_set_paging(g, CR0_PE | CR0_ET, 0, 0, 0, false) != SMMU_OK)
		panic("shadow: no root for the initial guest state");
}

/* ---- page faults ------------------------------------------------------------ */

/* Deliver the guest's own #PF (SDM Vol. 3A 6.15): CR2 = @cr2 (written to the
 * real CR2 just before VM entry; CR2 is not in the VMCS and the host never
 * takes a #PF). During delivery of a #PF it becomes #DF, during delivery of
 * a #DF a triple fault (SDM Vol. 3A 6.15, table 6-5: page fault after page
 * fault -> #DF; any fault during #DF -> shutdown). */
static void guest_page_fault(struct guest *g, uint64_t cr2, uint32_t pfec, uint64_t idt)
{
	unsigned ivec = idt & INTR_INFO_VECTOR_MASK;
	unsigned itype = (unsigned)((idt & INTR_INFO_TYPE_MASK) >> INTR_INFO_TYPE_SHIFT);

	g->sh_guest_pf++;
	g->prof_class = PROF_PF_GUEST;
	g->cr2 = cr2;
	g->cr2_pending = true;
	if ((idt & INTR_INFO_VALID) && itype == INTR_TYPE_HW_EXCEPTION && ivec == VECTOR_DF) {
		guest_stop(g, "triple fault (#PF at 0x%llx, error 0x%x, while delivering #DF)",
			   (unsigned long long)cr2, pfec);
		return;
	}
	if ((idt & INTR_INFO_VALID) && itype == INTR_TYPE_HW_EXCEPTION && ivec == VECTOR_PF)
		exit_inject_exception(VECTOR_DF, true, 0);
	else
		exit_inject_exception(VECTOR_PF, true, pfec);
}

/* The exit interrupted the delivery of an event (SDM Vol. 3C 28.2.4): once
 * the cause is fixed, deliver it again (27.6.1), with its error code and,
 * for software events, the instruction length. */
static void reinject(struct guest *g, uint64_t idt)
{
	unsigned type = (unsigned)((idt & INTR_INFO_TYPE_MASK) >> INTR_INFO_TYPE_SHIFT);

	if (!(idt & INTR_INFO_VALID))
		return;
	g->sh_reinjected++;
	if (idt & INTR_INFO_ERROR_CODE)
		vmcs_write(VMCS_ENTRY_EXCEPTION_ERROR, vmcs_read(VMCS_IDT_VECTORING_ERROR));
	if (type == INTR_TYPE_SW_INTR || type == INTR_TYPE_PRIV_SW_EXCEPTION ||
	    type == INTR_TYPE_SW_EXCEPTION)
		vmcs_write(VMCS_ENTRY_INSN_LEN, vmcs_read(VMCS_EXIT_INSN_LEN));
	vmcs_write(VMCS_ENTRY_INTR_INFO, idt & (INTR_INFO_VALID | INTR_INFO_ERROR_CODE |
						 INTR_INFO_TYPE_MASK | INTR_INFO_VECTOR_MASK));
}

/* ---- writes to guest page tables ------------------------------------------- */

/* Index of the first quadword at or after @from where @a and @b differ, or
 * @n (REPE CMPSQ: one iteration per quadword, no decoder needed). */
static unsigned qword_diff(const uint64_t *a, const uint64_t *b, unsigned from, unsigned n)
{
	const uint64_t *pa = a + from, *pb = b + from;
	uint64_t left = n - from;
	bool ne;

	if (!left)
		return n;
	__asm__ volatile("repe cmpsq" : "+S"(pa), "+D"(pb), "+c"(left), "=@ccne"(ne) : : "memory");
	return ne ? (unsigned)(pa - a) - 1 : n;
}

/* Report to the shadow every quadword of guest frame @gpa that differs from
 * @snap, and bring @snap up to date. A change that only sets A or D (bits
 * 5 and 6, what the walker itself writes) cannot make a shadow entry wrong:
 * shadows built from the older value are at most less permissive. Returns
 * whether anything else changed. */
static bool frame_report(struct guest *g, gpa_t gpa, uint64_t *snap)
{
	const uint64_t *now = guest_gpa_ptr(g, gpa, PAGE_SIZE);
	const uint64_t ad = PTE_A | PTE_D;
	bool changed = false;

	if (!now)
		return false;
	for (unsigned e = qword_diff(now, snap, 0, PAGE_SIZE / 8); e < PAGE_SIZE / 8;
	     e = qword_diff(now, snap, e + 1, PAGE_SIZE / 8)) {
		if (((now[e] ^ snap[e]) & ~ad) || (snap[e] & ~now[e])) {
			shadow_guest_write(&g->sh, gpa + e * 8, 8);
			changed = true;
		}
		snap[e] = now[e];
	}
	return changed;
}

/* Open frames. A write to a frame holding upper-level guest tables (which
 * never go unsync) that the guest's own entries allow is let through: the
 * frame is copied and the faulting leaf made writable, and the frame stays
 * writable until the guest's next TLB flush (INVLPG, MOV CR3, a paging-mode
 * change), where the differences are reported to the shadow. Until then the
 * shadow lags the guest's writes to the table, which the guest cannot tell
 * from paging-structure caching (SDM Vol. 3A 4.10.2.3, 4.10.4: a changed
 * entry may be used stale until the flush); a not-present shadow entry
 * faults into a walk of the guest's current tables. A frame that showed no
 * change at SMMU_OPEN_IDLE flushes in a row is write-protected again (a
 * table rewritten with the same values between flushes stays open); with
 * all slots in use the oldest is closed early. */
#define SMMU_OPEN_IDLE	16

static void frame_close(struct guest *g, unsigned i)
{
	gpa_t gpa = g->open[i].gpa;

	(void)frame_report(g, gpa, phys_to_virt(g->open[i].snap));
	if (shadow_gfn_protected(&g->sh, gpa >> PAGE_SHIFT))
		shadow_protect_gfn(&g->sh, gpa >> PAGE_SHIFT);
	g->open[i].used = false;
	g->open_count--;
}

static void root_revalidate(struct guest *g)
{
	if (g->sh.root.sp && g->sh.root.sp->role.invalid)
		(void)load_root(g);
}

/* The guest flushes its TLB: every open frame's changes reach the shadow. */
static void frames_flush(struct guest *g)
{
	if (!g->open_count)
		return;
	for (unsigned i = 0; i < SMMU_OPEN_FRAMES; i++) {
		if (!g->open[i].used)
			continue;
		if (frame_report(g, g->open[i].gpa, phys_to_virt(g->open[i].snap)))
			g->open[i].idle = 0;
		if (++g->open[i].idle >= SMMU_OPEN_IDLE ||
		    !shadow_gfn_protected(&g->sh, g->open[i].gpa >> PAGE_SHIFT))
			frame_close(g, i);
	}
	root_revalidate(g);
}

static bool frame_open(struct guest *g, gva_t gva, gpa_t gpa)
{
	unsigned i, slot = SMMU_OPEN_FRAMES;
	void *frame;

	gpa &= PAGE_MASK;
	frame = guest_gpa_ptr(g, gpa, PAGE_SIZE);
	for (i = 0; i < SMMU_OPEN_FRAMES; i++) {
		if (g->open[i].used && g->open[i].gpa == gpa)
			return shadow_unprotect(&g->sh, gva, false);
		if (!g->open[i].used && slot == SMMU_OPEN_FRAMES)
			slot = i;
	}
	if (!frame)
		return false;
	if (slot == SMMU_OPEN_FRAMES) {
		slot = g->open_next++ % SMMU_OPEN_FRAMES;
		frame_close(g, slot);
	}
	if (!g->open[slot].snap)
		g->open[slot].snap = frame_alloc();
	if (!g->open[slot].snap || !shadow_unprotect(&g->sh, gva, false))
		return false;
	memcpy(phys_to_virt(g->open[slot].snap), frame, PAGE_SIZE);
	g->open[slot].gpa = gpa;
	g->open[slot].used = true;
	g->open[slot].idle = 0;
	g->open_count++;
	g->sh_opened++;
	return true;
}

/* Neither an open frame nor a step can take the write at @gpa: unshadow
 * its frame (shadow_zap_gfn) and let the write run. */
static void unshadow_write(struct guest *g, gpa_t gpa)
{
	g->sh_zapped_writes++;
	shadow_zap_gfn(&g->sh, gpa >> PAGE_SHIFT);
	root_revalidate(g);
}

/* A write the shadow cannot express: a guest CR0.WP = 0 supervisor write to
 * a page the guest maps read-only, where the supervisor-only writable leaf
 * that emulates it would widen access (SMAP; SMEP without NX), or such a
 * write to a frame holding guest tables. Let the CPU do exactly that one
 * instruction: snapshot the frame, unprotect the leaf supervisor-only and
 * single-step the guest:
 *  - with the monitor trap flag (SDM Vol. 3C 26.5.2: a VM exit after the
 *    next instruction) when the CPU has it;
 *  - else with the guest's RFLAGS.TF and #DB exiting (SDM Vol. 3A 18.3.1.4:
 *    a single-step trap after the instruction; the #DB exits instead of
 *    being delivered, so the guest sees neither TF nor the trap). Bochs
 *    offers no MTF, so this is the path the emulator tests take. Not used
 *    while STI/MOV-SS blocking is in effect (27.3.1.5 ties TF to the
 *    pending-debug BS bit then).
 * smmu_step_done() re-protects and diffs. Both are exact for any
 * instruction that writes (MOV, XCHG, CMPXCHG, locked RMW, STOS, MOVS ...)
 * without decoding it. When stepping is impossible, unshadow_write(). */
static void write_step(struct guest *g, gva_t gva, gpa_t gpa)
{
	unsigned i = g->step.n;
	void *frame = guest_gpa_ptr(g, gpa & PAGE_MASK, PAGE_SIZE);
	bool blocked = vmcs_read(VMCS_GUEST_INTERRUPTIBILITY) & (INTR_BLOCK_STI | INTR_BLOCK_MOV_SS);
	bool can_step = use_mtf() || g->step.active || !blocked;

	if (can_step && frame && i < ARRAY_SIZE(g->step.gva)) {
		if (!g->step.snap[i])
			g->step.snap[i] = frame_alloc();
		if (g->step.snap[i] && shadow_unprotect(&g->sh, gva, true)) {
			memcpy(phys_to_virt(g->step.snap[i]), frame, PAGE_SIZE);
			g->step.gva[i] = gva;
			g->step.gpa[i] = gpa & PAGE_MASK;
			g->step.n++;
			if (g->step.active)
				return;
			g->step.active = true;
			g->step.mtf = use_mtf();
			g->step.rip = vmcs_read(VMCS_GUEST_RIP);
			if (g->step.mtf) {
				vmcs_write(VMCS_PROC_CTLS, vmcs_read(VMCS_PROC_CTLS) | CPU_MTF);
			} else {
				uint64_t fl = vmcs_read(VMCS_GUEST_RFLAGS);

				g->step.guest_tf = fl & RFLAGS_TF;
				vmcs_write(VMCS_GUEST_RFLAGS, fl | RFLAGS_TF);
				vmcs_write(VMCS_EXCEPTION_BITMAP,
					   vmcs_read(VMCS_EXCEPTION_BITMAP) | BIT(VECTOR_DB));
			}
			return;
		}
	}
	unshadow_write(g, gpa);
}

/* Any exit but MTF while an MTF step is active: the same instruction
 * faulting again (another page it writes) is expected; anywhere else the
 * instruction completed and the MTF exit never came. Finish the step now
 * and step with TF from then on. */
void smmu_step_check(struct guest *g, unsigned reason)
{
	if (!g->step.mtf || reason == EXIT_MTF || vmcs_read(VMCS_GUEST_RIP) == g->step.rip)
		return;
	kprintf("vmm: guest '%s': no MTF VM exit after a single step; stepping with TF from now on\n",
		g->name);
	mtf_missing = true;
	smmu_step_done(g);
}

/* SHADOW_EMULATE for a write at @gva (guest-physical @gpa) that the guest's
 * walk allowed with @access. */
static void table_write(struct guest *g, gva_t gva, gpa_t gpa, unsigned access)
{
	g->prof_class = PROF_PF_WRITE;
	if (!(access & ACC_W))
		write_step(g, gva, gpa);
	else if (!frame_open(g, gva, gpa))
		unshadow_write(g, gpa);
}

/* The exit after a single-stepped write (MTF, or the #DB of the TF trap):
 * restore the protection, then tell the shadow which guest entries changed.
 * A guest that had TF set itself gets its single-step #DB (DR6.BS). */
void smmu_step_done(struct guest *g)
{
	if (g->step.mtf || !g->step.active) {
		vmcs_write(VMCS_PROC_CTLS, vmcs_read(VMCS_PROC_CTLS) & ~(uint64_t)CPU_MTF);
	} else {
		vmcs_write(VMCS_EXCEPTION_BITMAP, vmcs_read(VMCS_EXCEPTION_BITMAP) & ~BIT(VECTOR_DB));
		if (!g->step.guest_tf)
			vmcs_write(VMCS_GUEST_RFLAGS, vmcs_read(VMCS_GUEST_RFLAGS) & ~(uint64_t)RFLAGS_TF);
		else {
			write_dr6(read_dr6() | DR6_BS);
			exit_inject_exception(VECTOR_DB, false, 0);
		}
	}
	if (!g->step.active)
		return;
	/* The stepped instruction completed: the next #PF at the same place is
	 * a new access, not a fault the shadow failed to fix. */
	g->same_pf = 0;
	g->sh_steps++;
	g->prof_class = PROF_STEP_DONE;
	for (unsigned i = 0; i < g->step.n; i++)
		shadow_reprotect(&g->sh, g->step.gva[i]);
	for (unsigned i = 0; i < g->step.n; i++)
		(void)frame_report(g, g->step.gpa[i], phys_to_virt(g->step.snap[i]));
	g->step.n = 0;
	g->step.active = false;
	root_revalidate(g);
}

/* Same #PF (address, error code, RIP) served this many times in a row
 * without progress: the walk's reading of the access was wrong (SMAP with an
 * implicit supervisor access at CPL < 3 looks like an explicit one). */
#define SMMU_SAME_FAULT_LIMIT	4

/* A #PF VM exit (SDM Vol. 3C 28.2.1: qualification = linear address, exit
 * interruption error code = the #PF error code). Walk the guest's tables
 * for the same access; a guest fault is the guest's #PF; otherwise fix the
 * shadow and re-execute (re-delivering an interrupted event). */
void smmu_page_fault(struct guest *g)
{
	uint64_t cr0 = vmcs_read(VMCS_CR0_SHADOW), cr4 = vmcs_read(VMCS_CR4_SHADOW);
	unsigned levels = guest_levels(cr0, cr4, g->efer);
	uint64_t gva = vmcs_read(VMCS_EXIT_QUALIFICATION);
	uint32_t pfec = (uint32_t)vmcs_read(VMCS_EXIT_INTR_ERROR);
	uint64_t idt = vmcs_read(VMCS_IDT_VECTORING_INFO);
	uint64_t rip = vmcs_read(VMCS_GUEST_RIP);
	unsigned cpl = (unsigned)((vmcs_read(VMCS_GUEST_SS_AR) & AR_DPL_MASK) >> AR_DPL_SHIFT);
	unsigned acc = 0, facc = 0;
	struct shadow_gwalk w = { 0 };
	struct gwalk_result res;
	enum shadow_status st;

	if (levels < 4)
		gva = (uint32_t)gva;
	if (pfec & PFEC_W) {
		acc |= ACC_WRITE;
		facc |= ACC_W;
	}
	if (pfec & PFEC_I) {
		acc |= ACC_FETCH;
		facc |= ACC_X;
	}
	if (pfec & PFEC_U) {
		acc |= ACC_USER;
		facc |= ACC_U;
	} else if (cpl == 3) {
		acc |= ACC_IMPLICIT;	/* a supervisor access at CPL 3 */
	}
	if (vmcs_read(VMCS_GUEST_RFLAGS) & RFLAGS_AC)
		acc |= ACC_AC;
	if (gva == g->last_pf_gva && pfec == g->last_pf_pfec && rip == g->last_pf_rip) {
		if (++g->same_pf >= SMMU_SAME_FAULT_LIMIT)
			acc = (acc & ~(unsigned)ACC_AC) | ACC_IMPLICIT;
		if (g->same_pf >= 2 * SMMU_SAME_FAULT_LIMIT) {
			guest_stop(g, "shadow paging makes no progress on #PF at 0x%llx, error 0x%x "
				   "(hypervisor bug)", (unsigned long long)gva, pfec);
			return;
		}
	} else {
		g->same_pf = 0;
	}
	g->last_pf_gva = gva;
	g->last_pf_pfec = pfec;
	g->last_pf_rip = rip;
	g->prof_class = PROF_PF_FILL;

	if (levels == 0) {
		w.gfn = gva >> PAGE_SHIFT;
		w.access = ACC_ALL;
	} else {
		enum gwalk_status ws = gwalk(&g->gm, &g->sh_ops, g->cr3, levels == 3 ? g->pdptes : NULL,
					     gva, acc, &res);
		switch (ws) {
		case GWALK_OK:
			break;
		case GWALK_PAGE_FAULT:
			guest_page_fault(g, gva, res.error_code, idt);
			return;
		case GWALK_RETRY:
			reinject(g, idt);
			return;
		case GWALK_NO_MEMORY:
			guest_stop(g, "touched guest-physical 0x%llx, which it does not own "
				   "(a paging-structure entry for 0x%llx)",
				   (unsigned long long)res.fault_gpa, (unsigned long long)gva);
			return;
		default:
			guest_stop(g, "guest walk of 0x%llx failed (%d)", (unsigned long long)gva, ws);
			return;
		}
		w.gfn = res.gpa >> PAGE_SHIFT;
		w.leaf_level = res.last_level;
		w.dirty = res.pte[res.last_level - 1] & PTE_D;
		for (unsigned l = res.last_level; l <= levels; l++) {
			w.gpte[l] = res.pte[l - 1];
			w.table_gfn[l] = res.pte_gpa[l - 1] >> PAGE_SHIFT;
		}
		w.access = ((res.perm & PERM_W) ? ACC_W : 0) | ((res.perm & PERM_U) ? ACC_U : 0) |
			   ((res.perm & PERM_X) ? ACC_X : 0);
	}

	st = shadow_fault(&g->sh, gva, &w, facc);
	switch (st) {
	case SHADOW_OK:
		break;
	case SHADOW_EMULATE:
		table_write(g, gva, ((gpa_t)w.gfn << PAGE_SHIFT) | (gva & ~PAGE_MASK), w.access);
		break;
	case SHADOW_NEED_RELOAD:
		if (load_root(g) != SMMU_OK)
			return;
		break;
	case SHADOW_ENOMEM:
		/* Every page pinned (roots and their children): start afresh. */
		shadow_zap_all(&g->sh);
		if (load_root(g) != SMMU_OK)
			return;
		break;
	case SHADOW_NOT_RAM:
		guest_stop(g, "touched guest-physical 0x%llx, which it does not own (%s at 0x%llx)",
			   (unsigned long long)w.gfn << PAGE_SHIFT,
			   (pfec & PFEC_W) ? "write" : (pfec & PFEC_I) ? "fetch" : "read",
			   (unsigned long long)gva);
		return;
	default:
		guest_stop(g, "shadow_fault(0x%llx) rejected the guest walk (hypervisor bug)",
			   (unsigned long long)gva);
		return;
	}
	reinject(g, idt);
}

/* INVLPG (SDM Vol. 2A INVLPG, Vol. 3A 4.10.4.1): drop the shadow leaf for
 * the address (an unsync page table's entry is re-read on the next access;
 * upper levels are never out of sync), then invalidate the TLB entries of
 * that address for this guest's VPID. */
void smmu_invlpg(struct guest *g, gva_t gva)
{
	uint64_t cr0 = vmcs_read(VMCS_CR0_SHADOW), cr4 = vmcs_read(VMCS_CR4_SHADOW);
	unsigned levels = guest_levels(cr0, cr4, g->efer);

	if (levels < 4)
		gva = (uint32_t)gva;
	frames_flush(g);
	if (levels)
		shadow_invlpg(&g->sh, gva);
	(void)shadow_take_flush(&g->sh);
	if (!vmx_cfg.vpid)
		return;		/* VPID 0: the next VM entry flushes everything */
	bool canonical = (uint64_t)((int64_t)(gva << 16) >> 16) == gva;
	if (vmx_cfg.invvpid_addr && canonical)
		invvpid(INVVPID_ADDR, g->vpid, gva);
	else
		exit_flush_guest_tlb(g);
}

/* Right before VM entry: the guest's CR2 after an injected #PF, and the TLB
 * flush the shadow asked for (INVVPID for this VPID; without VPID, VM entry
 * itself invalidates VPID 0's linear mappings, SDM Vol. 3C 29.4.3.1). */
void smmu_before_entry(struct guest *g)
{
	if (shadow_take_flush(&g->sh))
		exit_flush_guest_tlb(g);
	if (g->cr2_pending) {
		write_cr2(g->cr2);
		g->cr2_pending = false;
	}
}
