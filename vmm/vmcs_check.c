/* Software VM-entry checks on the current VMCS, run before the first
 * VMLAUNCH and again after any failed entry, so a failure names the rule and
 * the field instead of a bare error number. Rules from SDM Vol. 3C 27.2
 * (controls and host state) and 27.3 (guest state); the most important ones
 * are covered, not all. */
#include "arch/x86/cpu.h"
#include "lib/printf.h"
#include "vmm/guest.h"

static unsigned failures;

static void fail(enum vmcs_field f, uint64_t v, const char *sdm, const char *rule)
{
	failures++;
	kprintf("vmcs-check: %s = 0x%llx violates SDM %s: %s\n", vmcs_field_name(f),
		(unsigned long long)v, sdm, rule);
}

#define RULE(cond, f, v, sdm, rule) do { if (!(cond)) fail(f, v, sdm, rule); } while (0)

static uint64_t rd(enum vmcs_field f)
{
	uint64_t v = 0;

	(void)vmcs_try_read(f, &v);
	return v;
}

static bool canonical(uint64_t a)
{
	unsigned bits = boot_cpu.maxlinaddr ? boot_cpu.maxlinaddr : 48;
	int64_t s = (int64_t)(a << (64 - bits)) >> (64 - bits);

	return (uint64_t)s == a;
}

static bool phys_ok(uint64_t a)
{
	unsigned w = boot_cpu.maxphyaddr ? boot_cpu.maxphyaddr : 36;

	return w >= 64 || (a >> w) == 0;
}

/* 27.2.1: reserved bits of each control word against the capability MSRs
 * (via the negotiated allowed settings), and the control-field consistency
 * rules that matter to this hypervisor. */
static void check_controls(void)
{
	uint64_t pin = rd(VMCS_PIN_CTLS), proc = rd(VMCS_PROC_CTLS);
	uint64_t proc2 = (proc & CPU_SECONDARY_CTLS) ? rd(VMCS_PROC_CTLS2) : 0;
	uint64_t exit = rd(VMCS_EXIT_CTLS), entry = rd(VMCS_ENTRY_CTLS);
	uint64_t msr_pin = rdmsr(vmx_cfg.true_ctls ? MSR_IA32_VMX_TRUE_PINBASED_CTLS : MSR_IA32_VMX_PINBASED_CTLS);
	uint64_t msr_proc = rdmsr(vmx_cfg.true_ctls ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS : MSR_IA32_VMX_PROCBASED_CTLS);
	uint64_t msr_exit = rdmsr(vmx_cfg.true_ctls ? MSR_IA32_VMX_TRUE_EXIT_CTLS : MSR_IA32_VMX_EXIT_CTLS);
	uint64_t msr_entry = rdmsr(vmx_cfg.true_ctls ? MSR_IA32_VMX_TRUE_ENTRY_CTLS : MSR_IA32_VMX_ENTRY_CTLS);
	uint64_t msr_proc2 = (msr_proc >> 32) & CPU_SECONDARY_CTLS ? rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2) : 0;

#define CTL_OK(v, m) ((((v) & (uint32_t)(m)) == (uint32_t)(m)) && (((v) & ~((m) >> 32)) & 0xffffffffull) == 0)
	RULE(CTL_OK(pin, msr_pin), VMCS_PIN_CTLS, pin, "27.2.1.1",
	     "reserved bits must match IA32_VMX_(TRUE_)PINBASED_CTLS");
	RULE(CTL_OK(proc, msr_proc), VMCS_PROC_CTLS, proc, "27.2.1.1",
	     "reserved bits must match IA32_VMX_(TRUE_)PROCBASED_CTLS");
	if (proc & CPU_SECONDARY_CTLS)
		RULE(CTL_OK(proc2, msr_proc2), VMCS_PROC_CTLS2, proc2, "27.2.1.1",
		     "reserved bits must match IA32_VMX_PROCBASED_CTLS2");
	RULE(CTL_OK(exit, msr_exit), VMCS_EXIT_CTLS, exit, "27.2.1.2",
	     "reserved bits must match IA32_VMX_(TRUE_)EXIT_CTLS");
	RULE(CTL_OK(entry, msr_entry), VMCS_ENTRY_CTLS, entry, "27.2.1.3",
	     "reserved bits must match IA32_VMX_(TRUE_)ENTRY_CTLS");
#undef CTL_OK
	uint64_t cr3n = rd(VMCS_CR3_TARGET_COUNT);
	RULE(cr3n <= ((rdmsr(MSR_IA32_VMX_MISC) & VMX_MISC_CR3_TARGETS_MASK) >> VMX_MISC_CR3_TARGETS_SHIFT),
	     VMCS_CR3_TARGET_COUNT, cr3n, "27.2.1.1", "CR3-target count above IA32_VMX_MISC[24:16]");
	if (proc & CPU_MSR_BITMAPS) {
		uint64_t a = rd(VMCS_MSR_BITMAP);
		RULE((a & 0xfff) == 0 && phys_ok(a), VMCS_MSR_BITMAP, a, "27.2.1.1",
		     "MSR-bitmap address must be 4-KiB aligned and within the physical-address width");
	}
	RULE(!(pin & PIN_VIRTUAL_NMIS) || (pin & PIN_NMI_EXITING), VMCS_PIN_CTLS, pin, "27.2.1.1",
	     "virtual NMIs require NMI exiting");
	if (proc2 & CPU2_UNRESTRICTED_GUEST)
		RULE(proc2 & CPU2_EPT, VMCS_PROC_CTLS2, proc2, "27.2.1.1",
		     "unrestricted guest requires enable EPT");
	if (proc2 & CPU2_VPID) {
		uint64_t vpid = rd(VMCS_VPID);
		RULE(vpid != 0, VMCS_VPID, vpid, "27.2.1.1", "VPID must not be 0 when enable VPID is 1");
	}
	if (proc2 & CPU2_EPT) {
		uint64_t eptp = rd(VMCS_EPTP), cap = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
		unsigned mt = eptp & EPTP_MT_MASK, walk = (unsigned)((eptp & EPTP_WALK_MASK) >> EPTP_WALK_SHIFT);

		RULE((mt == 0 && (cap & EPT_CAP_MT_UC)) || (mt == 6 && (cap & EPT_CAP_MT_WB)), VMCS_EPTP,
		     eptp, "27.2.1.1", "EPTP memory type must be UC or WB as IA32_VMX_EPT_VPID_CAP allows");
		RULE((walk == 3 && (cap & EPT_CAP_WALK4)) || (walk == 4 && (cap & EPT_CAP_WALK5)), VMCS_EPTP,
		     eptp, "27.2.1.1",
		     "EPTP walk length - 1 must be 3 (4-level) or 4 (5-level) as the CPU supports");
		RULE(!(eptp & EPTP_AD) || (cap & EPT_CAP_AD), VMCS_EPTP, eptp, "27.2.1.1",
		     "EPTP A/D enable requires IA32_VMX_EPT_VPID_CAP bit 21");
		RULE(!(eptp & EPTP_RSVD_MASK) && phys_ok(eptp), VMCS_EPTP, eptp, "27.2.1.1",
		     "EPTP bits 11:8 and bits beyond the physical-address width must be 0");
	}
	uint64_t info = rd(VMCS_ENTRY_INTR_INFO);
	if (info & INTR_INFO_VALID) {
		unsigned type = (unsigned)((info & INTR_INFO_TYPE_MASK) >> INTR_INFO_TYPE_SHIFT);
		RULE(type != 1 && type != 7, VMCS_ENTRY_INTR_INFO, info, "27.2.1.3",
		     "interruption type must not be reserved");
		RULE(!(info & GENMASK(30, 12)), VMCS_ENTRY_INTR_INFO, info, "27.2.1.3",
		     "bits 30:12 must be 0");
	}
	RULE((exit & EXIT_HOST_ADDR_SPACE_SIZE) != 0, VMCS_EXIT_CTLS, exit, "27.2.2",
	     "a 64-bit host (IA32_EFER.LMA = 1) needs host address-space size = 1");
}

/* 27.2.2 and 27.2.3: host control registers, MSRs, selectors and bases. */
static void check_host(void)
{
	uint64_t cr0 = rd(VMCS_HOST_CR0), cr4 = rd(VMCS_HOST_CR4), cr3 = rd(VMCS_HOST_CR3);
	uint64_t exit = rd(VMCS_EXIT_CTLS);

	RULE(!vmx_cr_fixed_violations(cr0, vmx_cfg.cr0_fixed0, vmx_cfg.cr0_fixed1), VMCS_HOST_CR0, cr0,
	     "27.2.2", "host CR0 must satisfy IA32_VMX_CR0_FIXED0/1");
	RULE(!vmx_cr_fixed_violations(cr4, vmx_cfg.cr4_fixed0, vmx_cfg.cr4_fixed1), VMCS_HOST_CR4, cr4,
	     "27.2.2", "host CR4 must satisfy IA32_VMX_CR4_FIXED0/1");
	RULE(phys_ok(cr3), VMCS_HOST_CR3, cr3, "27.2.2", "host CR3 beyond the physical-address width");
	RULE(cr4 & CR4_PAE, VMCS_HOST_CR4, cr4, "27.2.2", "a 64-bit host needs CR4.PAE = 1");
	RULE(canonical(rd(VMCS_HOST_RIP)), VMCS_HOST_RIP, rd(VMCS_HOST_RIP), "27.2.2",
	     "host RIP must be canonical");
	if (exit & EXIT_LOAD_EFER) {
		uint64_t efer = rd(VMCS_HOST_EFER);
		RULE(!(efer & ~(uint64_t)(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE)), VMCS_HOST_EFER, efer,
		     "27.2.2", "host IA32_EFER reserved bits must be 0");
		RULE(((efer & EFER_LMA) != 0) == ((exit & EXIT_HOST_ADDR_SPACE_SIZE) != 0) &&
		     ((efer & EFER_LME) != 0) == ((exit & EXIT_HOST_ADDR_SPACE_SIZE) != 0),
		     VMCS_HOST_EFER, efer, "27.2.2",
		     "host IA32_EFER.LMA and LME must equal host address-space size");
	}
	static const enum vmcs_field sels[] = { VMCS_HOST_ES_SEL, VMCS_HOST_CS_SEL, VMCS_HOST_SS_SEL,
		VMCS_HOST_DS_SEL, VMCS_HOST_FS_SEL, VMCS_HOST_GS_SEL, VMCS_HOST_TR_SEL };
	for (unsigned i = 0; i < ARRAY_SIZE(sels); i++) {
		uint64_t s = rd(sels[i]);
		RULE((s & 7) == 0, sels[i], s, "27.2.3", "host selector RPL and TI must be 0");
	}
	RULE(rd(VMCS_HOST_CS_SEL) != 0, VMCS_HOST_CS_SEL, 0, "27.2.3", "host CS must not be 0");
	RULE(rd(VMCS_HOST_TR_SEL) != 0, VMCS_HOST_TR_SEL, 0, "27.2.3", "host TR must not be 0");
	static const enum vmcs_field bases[] = { VMCS_HOST_FS_BASE, VMCS_HOST_GS_BASE, VMCS_HOST_GDTR_BASE,
		VMCS_HOST_IDTR_BASE, VMCS_HOST_TR_BASE, VMCS_HOST_SYSENTER_ESP, VMCS_HOST_SYSENTER_EIP };
	for (unsigned i = 0; i < ARRAY_SIZE(bases); i++)
		RULE(canonical(rd(bases[i])), bases[i], rd(bases[i]), "27.2.3", "host base must be canonical");
}

static const char *const seg_names[] = { "ES", "CS", "SS", "DS", "FS", "GS", "LDTR", "TR" };

/* 27.3.1.2: segment registers in protected or IA-32e mode (RFLAGS.VM = 0). */
static void check_segments(bool ia32e, bool ug)
{
	for (unsigned i = 0; i < 8; i++) {
		enum vmcs_field fsel = (enum vmcs_field)(VMCS_GUEST_ES_SEL + 2 * i);
		enum vmcs_field far = (enum vmcs_field)(VMCS_GUEST_ES_AR + 2 * i);
		enum vmcs_field flim = (enum vmcs_field)(VMCS_GUEST_ES_LIMIT + 2 * i);
		uint64_t sel = rd(fsel), ar = rd(far), lim = rd(flim);
		unsigned type = ar & AR_TYPE_MASK, dpl = (unsigned)((ar & AR_DPL_MASK) >> AR_DPL_SHIFT);
		char rule[120];

		if (i == 7) {	/* TR */
			RULE(!(ar & AR_UNUSABLE), far, ar, "27.3.1.2", "TR must be usable");
			RULE(!(sel & 4), fsel, sel, "27.3.1.2", "TR selector TI flag must be 0");
			RULE(type == AR_TYPE_TSS32_BUSY || (!ia32e && type == AR_TYPE_TSS16_BUSY), far, ar,
			     "27.3.1.2", ia32e ? "TR type must be 11 (busy 64-bit TSS) in IA-32e mode" :
			     "TR type must be 3 or 11 (busy TSS)");
			RULE(!(ar & AR_S), far, ar, "27.3.1.2", "TR S must be 0 (system)");
			RULE(ar & AR_P, far, ar, "27.3.1.2", "TR must be present");
		} else if (i == 6) {	/* LDTR */
			if (ar & AR_UNUSABLE)
				continue;
			RULE(!(sel & 4), fsel, sel, "27.3.1.2", "LDTR selector TI flag must be 0");
			RULE(type == AR_TYPE_LDT && !(ar & AR_S) && (ar & AR_P), far, ar, "27.3.1.2",
			     "usable LDTR must be type 2, S = 0, present");
		} else {
			if (ar & AR_UNUSABLE) {
				RULE(i != 1, far, ar, "27.3.1.2", "CS must be usable");
				continue;
			}
			snprintf(rule, sizeof(rule), "%s must be present, S = 1", seg_names[i]);
			RULE((ar & AR_P) && (ar & AR_S), far, ar, "27.3.1.2", rule);
			if (i == 1) {
				if (ug)
					RULE(type == 3 || type == 9 || type == 11 || type == 13 || type == 15,
					     far, ar, "27.3.1.2",
					     "CS type must be 3 (only with unrestricted guest), 9, 11, 13 or 15");
				else
					RULE(type == 9 || type == 11 || type == 13 || type == 15, far, ar,
					     "27.3.1.2", "CS type must be 9, 11, 13 or 15 (accessed code)");
				RULE(!(ia32e && (ar & AR_L) && (ar & AR_DB)), far, ar, "27.3.1.2",
				     "CS.L and CS.D/B must not both be 1 in IA-32e mode");
			} else if (i == 2) {
				RULE(type == 3 || type == 7, far, ar, "27.3.1.2",
				     "usable SS must be a read/write accessed data segment (type 3 or 7)");
				unsigned cs_dpl = (unsigned)((rd(VMCS_GUEST_CS_AR) & AR_DPL_MASK) >> AR_DPL_SHIFT);
				RULE(ug || dpl == (sel & 3), far, ar, "27.3.1.2", "SS DPL must equal SS RPL");
				unsigned cs_type = rd(VMCS_GUEST_CS_AR) & AR_TYPE_MASK;
				RULE(!(cs_type == 9 || cs_type == 11) || dpl == cs_dpl, far, ar, "27.3.1.2",
				     "with a non-conforming CS, SS DPL must equal CS DPL");
			} else {
				snprintf(rule, sizeof(rule), "usable %s must be accessed, and code only if readable",
					 seg_names[i]);
				RULE((type & AR_TYPE_ACCESSED) && (!(type & AR_TYPE_CODE) || (type & AR_TYPE_WRITABLE)),
				     far, ar, "27.3.1.2", rule);
			}
		}
		snprintf(rule, sizeof(rule), "%s access-rights reserved bits 11:8 and 31:17 must be 0",
			 seg_names[i]);
		RULE(!(ar & AR_RSVD_MASK), far, ar, "27.3.1.2", rule);
		snprintf(rule, sizeof(rule), "%s limit vs G: limit[11:0] != 0xfff needs G = 0, "
			 "limit[31:20] != 0 needs G = 1", seg_names[i]);
		RULE(((lim & 0xfff) == 0xfff || !(ar & AR_G)) && (!(lim & 0xfff00000) || (ar & AR_G)), far, ar,
		     "27.3.1.2", rule);
	}
	uint64_t base;
	base = rd(VMCS_GUEST_CS_BASE);
	RULE(!(base >> 32), VMCS_GUEST_CS_BASE, base, "27.3.1.2", "CS base bits 63:32 must be 0");
	RULE(canonical(rd(VMCS_GUEST_TR_BASE)), VMCS_GUEST_TR_BASE, rd(VMCS_GUEST_TR_BASE), "27.3.1.2",
	     "TR base must be canonical");
	RULE(canonical(rd(VMCS_GUEST_FS_BASE)), VMCS_GUEST_FS_BASE, rd(VMCS_GUEST_FS_BASE), "27.3.1.2",
	     "FS base must be canonical");
	RULE(canonical(rd(VMCS_GUEST_GS_BASE)), VMCS_GUEST_GS_BASE, rd(VMCS_GUEST_GS_BASE), "27.3.1.2",
	     "GS base must be canonical");
	RULE(!(rd(VMCS_GUEST_GDTR_LIMIT) >> 16), VMCS_GUEST_GDTR_LIMIT, rd(VMCS_GUEST_GDTR_LIMIT),
	     "27.3.1.3", "GDTR limit bits 31:16 must be 0");
	RULE(!(rd(VMCS_GUEST_IDTR_LIMIT) >> 16), VMCS_GUEST_IDTR_LIMIT, rd(VMCS_GUEST_IDTR_LIMIT),
	     "27.3.1.3", "IDTR limit bits 31:16 must be 0");
}

/* 27.3.1.1, 27.3.1.4, 27.3.1.5: control registers, MSRs, RIP/RFLAGS and
 * non-register state. */
static void check_guest(void)
{
	uint64_t entry = rd(VMCS_ENTRY_CTLS);
	uint64_t proc = rd(VMCS_PROC_CTLS);
	uint64_t proc2 = (proc & CPU_SECONDARY_CTLS) ? rd(VMCS_PROC_CTLS2) : 0;
	bool ug = proc2 & CPU2_UNRESTRICTED_GUEST;
	bool ia32e = entry & ENTRY_IA32E_MODE_GUEST;
	uint64_t cr0 = rd(VMCS_GUEST_CR0), cr4 = rd(VMCS_GUEST_CR4), cr3 = rd(VMCS_GUEST_CR3);
	uint64_t fixed0 = vmx_cfg.cr0_fixed0;

	if (ug)
		fixed0 &= ~(uint64_t)(CR0_PE | CR0_PG);
	RULE(!vmx_cr_fixed_violations(cr0, fixed0, vmx_cfg.cr0_fixed1), VMCS_GUEST_CR0, cr0, "27.3.1.1",
	     ug ? "guest CR0 must satisfy IA32_VMX_CR0_FIXED0/1 (PE and PG relaxed by unrestricted guest)"
		: "guest CR0 must satisfy IA32_VMX_CR0_FIXED0/1 (PE = PG = 1 without unrestricted guest)");
	RULE(!(cr0 & CR0_PG) || (cr0 & CR0_PE), VMCS_GUEST_CR0, cr0, "27.3.1.1",
	     "guest CR0.PG = 1 requires CR0.PE = 1");
	RULE(!vmx_cr_fixed_violations(cr4, vmx_cfg.cr4_fixed0, vmx_cfg.cr4_fixed1), VMCS_GUEST_CR4, cr4,
	     "27.3.1.1", "guest CR4 must satisfy IA32_VMX_CR4_FIXED0/1");
	if (ia32e) {
		RULE(cr0 & CR0_PG, VMCS_GUEST_CR0, cr0, "27.3.1.1", "IA-32e mode guest needs CR0.PG = 1");
		RULE(cr4 & CR4_PAE, VMCS_GUEST_CR4, cr4, "27.3.1.1", "IA-32e mode guest needs CR4.PAE = 1");
	} else {
		RULE(!(cr4 & CR4_PCIDE), VMCS_GUEST_CR4, cr4, "27.3.1.1",
		     "CR4.PCIDE must be 0 outside IA-32e mode");
	}
	RULE(phys_ok(cr3), VMCS_GUEST_CR3, cr3, "27.3.1.1", "guest CR3 beyond the physical-address width");
	if (entry & ENTRY_LOAD_EFER) {
		uint64_t efer = rd(VMCS_GUEST_EFER);
		RULE(!(efer & ~(uint64_t)(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE)), VMCS_GUEST_EFER, efer,
		     "27.3.1.1", "guest IA32_EFER reserved bits must be 0");
		RULE(((efer & EFER_LMA) != 0) == ia32e, VMCS_GUEST_EFER, efer, "27.3.1.1",
		     "guest IA32_EFER.LMA must equal the IA-32e mode guest entry control");
		RULE(!(cr0 & CR0_PG) || ((efer & EFER_LMA) != 0) == ((efer & EFER_LME) != 0), VMCS_GUEST_EFER,
		     efer, "27.3.1.1", "guest IA32_EFER.LME must equal LMA when CR0.PG = 1");
	}
	if (entry & ENTRY_LOAD_PAT) {
		uint64_t pat = rd(VMCS_GUEST_PAT);
		bool ok = true;
		for (unsigned i = 0; i < 8; i++) {
			unsigned t = (pat >> (8 * i)) & 0xff;
			if (t == 2 || t == 3 || t > 7)
				ok = false;
		}
		RULE(ok, VMCS_GUEST_PAT, pat, "27.3.1.1", "guest IA32_PAT entries must be valid memory types");
	}
	uint64_t dr7 = rd(VMCS_GUEST_DR7);
	if (entry & ENTRY_LOAD_DEBUG_CTLS)
		RULE(!(dr7 >> 32), VMCS_GUEST_DR7, dr7, "27.3.1.1", "guest DR7 bits 63:32 must be 0");

	check_segments(ia32e, ug);

	uint64_t rip = rd(VMCS_GUEST_RIP), rflags = rd(VMCS_GUEST_RFLAGS);
	bool cs_l = rd(VMCS_GUEST_CS_AR) & AR_L;
	RULE((ia32e && cs_l) || !(rip >> 32), VMCS_GUEST_RIP, rip, "27.3.1.4",
	     "RIP bits 63:32 must be 0 outside 64-bit mode");
	RULE(!(rflags & (GENMASK(63, 22) | BIT(15) | BIT(5) | BIT(3))) && (rflags & RFLAGS_FIXED1),
	     VMCS_GUEST_RFLAGS, rflags, "27.3.1.4",
	     "RFLAGS reserved bits 63:22, 15, 5, 3 must be 0 and bit 1 must be 1");
	RULE(!(rflags & RFLAGS_VM) || (!ia32e && (cr0 & CR0_PE)), VMCS_GUEST_RFLAGS, rflags, "27.3.1.4",
	     "RFLAGS.VM must be 0 in IA-32e mode or with CR0.PE = 0");
	if (rflags & RFLAGS_VM)
		kprintf("vmcs-check: RFLAGS.VM = 1 (virtual-8086 guest): segment rules not checked\n");

	uint64_t act = rd(VMCS_GUEST_ACTIVITY), intr = rd(VMCS_GUEST_INTERRUPTIBILITY);
	RULE(act <= ACTIVITY_WAIT_SIPI, VMCS_GUEST_ACTIVITY, act, "27.3.1.5",
	     "activity state must be 0-3");
	RULE(act != ACTIVITY_HLT || ((rd(VMCS_GUEST_SS_AR) & AR_DPL_MASK) == 0), VMCS_GUEST_ACTIVITY, act,
	     "27.3.1.5", "HLT activity state needs SS.DPL = 0");
	RULE(!(intr & GENMASK(31, 5)), VMCS_GUEST_INTERRUPTIBILITY, intr, "27.3.1.5",
	     "interruptibility bits 31:5 must be 0");
	RULE((intr & (INTR_BLOCK_STI | INTR_BLOCK_MOV_SS)) != (INTR_BLOCK_STI | INTR_BLOCK_MOV_SS),
	     VMCS_GUEST_INTERRUPTIBILITY, intr, "27.3.1.5",
	     "blocking by STI and by MOV SS must not both be set");
	RULE(!(intr & INTR_BLOCK_STI) || (rflags & RFLAGS_IF), VMCS_GUEST_INTERRUPTIBILITY, intr,
	     "27.3.1.5", "blocking by STI needs RFLAGS.IF = 1");
	uint64_t info = rd(VMCS_ENTRY_INTR_INFO);
	if ((info & INTR_INFO_VALID) &&
	    ((info & INTR_INFO_TYPE_MASK) >> INTR_INFO_TYPE_SHIFT) == INTR_TYPE_EXT_INTR)
		RULE(!(intr & (INTR_BLOCK_STI | INTR_BLOCK_MOV_SS)), VMCS_GUEST_INTERRUPTIBILITY, intr,
		     "27.3.1.5", "injecting an external interrupt needs no STI/MOV-SS blocking");
	uint64_t pend = rd(VMCS_GUEST_PENDING_DBG);
	RULE(!(pend & ~(uint64_t)(GENMASK(3, 0) | BIT(12) | BIT(14) | BIT(16))), VMCS_GUEST_PENDING_DBG,
	     pend, "27.3.1.5", "pending debug exceptions reserved bits must be 0");
	uint64_t link = rd(VMCS_LINK_PTR);
	RULE(link == ~0ull, VMCS_LINK_PTR, link, "27.3.1.5",
	     "VMCS link pointer must be 0xffffffffffffffff (no VMCS shadowing)");
}

unsigned vmcs_check(void)
{
	failures = 0;
	check_controls();
	check_host();
	check_guest();
	return failures;
}
