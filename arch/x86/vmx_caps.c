/* VMX capability negotiation (pure logic; host-tested by
 * tests/host/test_vmxcaps.c). */
#include "arch/x86/vmx_caps.h"
#include "arch/x86/vmx.h"
#include "lib/printf.h"

bool vmx_ctl_adjust(uint64_t msr, uint32_t required, uint32_t optional, uint32_t *out,
		    uint32_t *missing)
{
	uint32_t must1 = (uint32_t)msr;
	uint32_t may1 = (uint32_t)(msr >> 32);

	*missing = required & ~may1;
	*out = ((required | optional) & may1) | must1;
	return *missing == 0;
}

static const char *const pin_names[32] = {
	[0] = "external-interrupt exiting", [3] = "NMI exiting", [5] = "virtual NMIs",
	[6] = "VMX-preemption timer", [7] = "process posted interrupts",
};
static const char *const proc_names[32] = {
	[2] = "interrupt-window exiting", [3] = "use TSC offsetting", [7] = "HLT exiting",
	[9] = "INVLPG exiting", [10] = "MWAIT exiting", [11] = "RDPMC exiting",
	[12] = "RDTSC exiting", [15] = "CR3-load exiting", [16] = "CR3-store exiting",
	[17] = "activate tertiary controls", [19] = "CR8-load exiting",
	[20] = "CR8-store exiting", [21] = "use TPR shadow", [22] = "NMI-window exiting",
	[23] = "MOV-DR exiting", [24] = "unconditional I/O exiting",
	[25] = "use I/O bitmaps", [27] = "monitor trap flag", [28] = "use MSR bitmaps",
	[29] = "MONITOR exiting", [30] = "PAUSE exiting",
	[31] = "activate secondary controls",
};
static const char *const proc2_names[32] = {
	[0] = "virtualize APIC accesses", [1] = "enable EPT",
	[2] = "descriptor-table exiting", [3] = "enable RDTSCP",
	[4] = "virtualize x2APIC mode", [5] = "enable VPID", [6] = "WBINVD exiting",
	[7] = "unrestricted guest", [8] = "APIC-register virtualization",
	[9] = "virtual-interrupt delivery", [10] = "PAUSE-loop exiting",
	[11] = "RDRAND exiting", [12] = "enable INVPCID", [13] = "enable VM functions",
	[14] = "VMCS shadowing", [15] = "enable ENCLS exiting", [16] = "RDSEED exiting",
	[17] = "enable PML", [18] = "EPT-violation #VE", [19] = "conceal VMX from PT",
	[20] = "enable XSAVES/XRSTORS", [22] = "mode-based execute control for EPT",
	[25] = "use TSC scaling",
};
static const char *const exit_names[32] = {
	[2] = "save debug controls", [9] = "host address-space size",
	[12] = "load IA32_PERF_GLOBAL_CTRL", [15] = "acknowledge interrupt on exit",
	[18] = "save IA32_PAT", [19] = "load IA32_PAT", [20] = "save IA32_EFER",
	[21] = "load IA32_EFER", [22] = "save VMX-preemption timer value",
	[23] = "clear IA32_BNDCFGS",
};
static const char *const entry_names[32] = {
	[2] = "load debug controls", [9] = "IA-32e mode guest", [10] = "entry to SMM",
	[11] = "deactivate dual-monitor treatment", [13] = "load IA32_PERF_GLOBAL_CTRL",
	[14] = "load IA32_PAT", [15] = "load IA32_EFER", [16] = "load IA32_BNDCFGS",
};

const char *vmx_ctl_name(enum vmx_ctl_word word, unsigned bit)
{
	static const char *const *const tables[] = { pin_names, proc_names, proc2_names,
						     exit_names, entry_names };
	const char *n;

	if (bit >= 32 || (unsigned)word >= ARRAY_SIZE(tables))
		return "?";
	n = tables[word][bit];
	return n ? n : "?";
}

const char *vmx_ctl_word_name(enum vmx_ctl_word word)
{
	switch (word) {
	case VMX_CTL_PIN: return "pin-based";
	case VMX_CTL_PROC: return "primary processor-based";
	case VMX_CTL_PROC2: return "secondary processor-based";
	case VMX_CTL_EXIT: return "VM-exit";
	case VMX_CTL_ENTRY: return "VM-entry";
	}
	return "?";
}

static bool adjust_word(enum vmx_ctl_word word, uint64_t msr, uint32_t required,
			uint32_t optional, uint32_t *out, char *err, size_t errlen)
{
	uint32_t missing;

	if (vmx_ctl_adjust(msr, required, optional, out, &missing))
		return true;
	unsigned bit = (unsigned)__builtin_ctz(missing);
	snprintf(err, errlen, "required %s control \"%s\" (bit %u) is not supported by this CPU",
		 vmx_ctl_word_name(word), vmx_ctl_name(word, bit), bit);
	return false;
}

/* The policy (SDM Vol. 3C 25.6-25.8, Vol. 3D A.2): the TRUE_* MSRs are used
 * when IA32_VMX_BASIC bit 55 says they exist, because they allow clearing
 * the default-1 controls we do not need (CR3 exiting among them).
 *
 *   pin:   external-interrupt and NMI exiting (the host keeps the machine).
 *   proc:  HLT, unconditional I/O, MSR bitmaps, secondary controls (when EPT
 *          or VPID or unrestricted guest is wanted); CR3 exiting stays
 *          available for the paging-off phase of guests without unrestricted
 *          guest; MTF is only noted.
 *   proc2: EPT (required unless ept=off), VPID, unrestricted guest (needs
 *          EPT), WBINVD exiting, RDTSCP and INVPCID (so the guest sees no
 *          #UD for instructions CPUID reports).
 *   exit:  64-bit host, save/load EFER (required), save/load PAT.
 *   entry: load EFER (required), load PAT; "IA-32e mode guest" is set at
 *          run time and must merely be allowed. */
enum vmx_caps_status vmx_caps_negotiate(const struct vmx_msrs *m, const struct vmx_wants *w,
					struct vmx_config *cfg, char *err, size_t errlen)
{
	bool tc = (m->basic & VMX_BASIC_TRUE_CTLS) != 0;
	uint64_t pin_msr = tc ? m->true_pin : m->pin;
	uint64_t proc_msr = tc ? m->true_proc : m->proc;
	uint64_t exit_msr = tc ? m->true_exit : m->exit;
	uint64_t entry_msr = tc ? m->true_entry : m->entry;
	bool want_ept = w->ept != VMX_EPT_OFF;
	bool need_ept = want_ept && !w->ept_optional;
	uint32_t efer_exit = EXIT_SAVE_EFER | EXIT_LOAD_EFER;
	uint32_t proc2_req = 0, proc2_opt = 0, proc_req, missing;

	*cfg = (struct vmx_config){ 0 };
	if (errlen)
		err[0] = '\0';
	cfg->revision = (uint32_t)(m->basic & VMX_BASIC_REVISION_MASK);
	cfg->vmcs_size = (uint32_t)((m->basic & VMX_BASIC_VMCS_SIZE_MASK) >> VMX_BASIC_VMCS_SIZE_SHIFT);
	cfg->true_ctls = tc;
	cfg->addr32 = (m->basic & VMX_BASIC_32BIT_ADDR) != 0;
	cfg->cr0_fixed0 = m->cr0_fixed0;
	cfg->cr0_fixed1 = m->cr0_fixed1;
	cfg->cr4_fixed0 = m->cr4_fixed0;
	cfg->cr4_fixed1 = m->cr4_fixed1;

	if (cfg->vmcs_size == 0 || cfg->vmcs_size > 4096) {
		snprintf(err, errlen, "IA32_VMX_BASIC reports a VMCS size of %u bytes", cfg->vmcs_size);
		return VMX_CAPS_BAD_BASIC;
	}
	unsigned mt = (unsigned)((m->basic & VMX_BASIC_MEMTYPE_MASK) >> VMX_BASIC_MEMTYPE_SHIFT);
	if (mt != VMX_MEMTYPE_WB && mt != VMX_MEMTYPE_UC) {
		snprintf(err, errlen, "IA32_VMX_BASIC reports VMCS memory type %u", mt);
		return VMX_CAPS_BAD_BASIC;
	}

	if (!adjust_word(VMX_CTL_PIN, pin_msr, PIN_EXT_INTR_EXITING | PIN_NMI_EXITING, 0,
			 &cfg->pin, err, errlen))
		return VMX_CAPS_MISSING_CONTROL;
	cfg->preempt_timer = (pin_msr >> 32) & PIN_PREEMPT_TIMER;
	cfg->preempt_rate = (unsigned)(m->misc & VMX_MISC_PREEMPT_RATE_MASK);

	proc_req = CPU_HLT_EXITING | CPU_UNCOND_IO_EXITING | CPU_MSR_BITMAPS;
	if (need_ept)
		proc_req |= CPU_SECONDARY_CTLS;
	if (!adjust_word(VMX_CTL_PROC, proc_msr, proc_req,
			 CPU_SECONDARY_CTLS | CPU_MWAIT_EXITING | CPU_MONITOR_EXITING,
			 &cfg->proc, err, errlen))
		return VMX_CAPS_MISSING_CONTROL;
	cfg->proc_allowed1 = (uint32_t)(proc_msr >> 32);
	cfg->proc_allowed0 = (uint32_t)proc_msr;
	cfg->mtf = cfg->proc_allowed1 & CPU_MTF;

	if (cfg->proc & CPU_SECONDARY_CTLS) {
		uint32_t p2_allowed1 = (uint32_t)(m->proc2 >> 32);

		if (need_ept)
			proc2_req |= CPU2_EPT;
		else if (want_ept)
			proc2_opt |= CPU2_EPT;
		if (w->vpid)
			proc2_opt |= CPU2_VPID;
		if (w->unrestricted && want_ept && ((m->proc2 >> 32) & CPU2_EPT))
			proc2_opt |= CPU2_UNRESTRICTED_GUEST;
		proc2_opt |= CPU2_WBINVD_EXITING | CPU2_RDTSCP | CPU2_INVPCID;
		if (!adjust_word(VMX_CTL_PROC2, m->proc2, proc2_req, proc2_opt, &cfg->proc2, err,
				 errlen))
			return VMX_CAPS_MISSING_CONTROL;
		(void)p2_allowed1;
	}

	/* EPT guests need the EFER controls; shadow guests can do without
	 * (EFER through the MSR-load areas, vmm/shadow_mmu.c). A CPU without
	 * EPT lacks them in practice (Penryn), so they are optional when EPT is. */
	if (!adjust_word(VMX_CTL_EXIT, exit_msr,
			 EXIT_HOST_ADDR_SPACE_SIZE | (need_ept ? efer_exit : 0),
			 EXIT_SAVE_PAT | EXIT_LOAD_PAT | efer_exit, &cfg->exit, err, errlen))
		return VMX_CAPS_MISSING_CONTROL;
	if (!adjust_word(VMX_CTL_ENTRY, entry_msr, need_ept ? ENTRY_LOAD_EFER : 0,
			 ENTRY_LOAD_PAT | ENTRY_LOAD_EFER, &cfg->entry, err, errlen))
		return VMX_CAPS_MISSING_CONTROL;
	cfg->load_efer = (cfg->entry & ENTRY_LOAD_EFER) && (cfg->exit & efer_exit) == efer_exit;
	if (!cfg->load_efer) {
		cfg->entry &= ~(uint32_t)ENTRY_LOAD_EFER | (uint32_t)entry_msr;
		cfg->exit &= ~efer_exit | (uint32_t)exit_msr;
	}
	cfg->entry_allowed1 = (uint32_t)(entry_msr >> 32);
	cfg->exit_allowed1 = (uint32_t)(exit_msr >> 32);
	uint32_t unused;
	if (!vmx_ctl_adjust(entry_msr, ENTRY_IA32E_MODE_GUEST, 0, &unused, &missing)) {
		snprintf(err, errlen, "required VM-entry control \"%s\" (bit 9) is not supported by this CPU",
			 vmx_ctl_name(VMX_CTL_ENTRY, 9));
		return VMX_CAPS_MISSING_CONTROL;
	}
	/* Load PAT on entry is only coherent with save PAT on exit. */
	if (!(cfg->exit & EXIT_SAVE_PAT) || !(cfg->exit & EXIT_LOAD_PAT)) {
		cfg->entry &= ~(uint32_t)ENTRY_LOAD_PAT | (uint32_t)entry_msr;
		cfg->exit &= ~(uint32_t)(EXIT_SAVE_PAT | EXIT_LOAD_PAT) | (uint32_t)exit_msr;
	}

	cfg->unrestricted = cfg->proc2 & CPU2_UNRESTRICTED_GUEST;
	cfg->vpid = cfg->proc2 & CPU2_VPID;
	cfg->ept = cfg->proc2 & CPU2_EPT;
	if (cfg->ept && !cfg->load_efer) {
		/* EPT guests switch EFER through the VMCS: without the controls,
		 * use shadow paging only. */
		cfg->ept = cfg->unrestricted = false;
		cfg->proc2 &= ~(uint32_t)(CPU2_EPT | CPU2_UNRESTRICTED_GUEST);
	}

	if (cfg->ept) {
		uint64_t cap = m->ept_vpid_cap;
		bool walk4 = cap & EPT_CAP_WALK4, walk5 = cap & EPT_CAP_WALK5;

		switch (w->ept) {
		case VMX_EPT_4:
			if (!walk4) {
				snprintf(err, errlen, "ept=4 asked for, but this CPU has no 4-level EPT "
					 "(IA32_VMX_EPT_VPID_CAP bit 6 clear)");
				return VMX_CAPS_NO_EPT_LEVEL;
			}
			cfg->ept_levels = 4;
			break;
		case VMX_EPT_5:
			if (!walk5) {
				snprintf(err, errlen, "ept=5 asked for, but this CPU has no 5-level EPT "
					 "(IA32_VMX_EPT_VPID_CAP bit 7 clear)");
				return VMX_CAPS_NO_EPT_LEVEL;
			}
			cfg->ept_levels = 5;
			break;
		default:
			/* A 4-level walk covers 48 guest-physical bits. */
			if (walk4 && w->guest_phys_bits <= 48)
				cfg->ept_levels = 4;
			else if (walk5)
				cfg->ept_levels = 5;
			else if (walk4)
				cfg->ept_levels = 4;
			else {
				snprintf(err, errlen, "EPT without a supported walk length "
					 "(IA32_VMX_EPT_VPID_CAP bits 6 and 7 clear)");
				return VMX_CAPS_NO_EPT_LEVEL;
			}
		}
		if (!(cap & EPT_CAP_MT_WB)) {
			snprintf(err, errlen, "EPT paging structures cannot be write-back "
				 "(IA32_VMX_EPT_VPID_CAP bit 14 clear)");
			return VMX_CAPS_MISSING_CONTROL;
		}
		if (!(cap & EPT_CAP_INVEPT) || !(cap & (EPT_CAP_INVEPT_SINGLE | EPT_CAP_INVEPT_ALL))) {
			snprintf(err, errlen, "EPT without INVEPT (IA32_VMX_EPT_VPID_CAP bits 20, 25, 26)");
			return VMX_CAPS_MISSING_CONTROL;
		}
		cfg->invept_type = (cap & EPT_CAP_INVEPT_SINGLE) ? INVEPT_SINGLE : INVEPT_ALL;
		cfg->ept_2m = cap & EPT_CAP_2M;
		cfg->ept_1g = cap & EPT_CAP_1G;
		cfg->ept_ad = w->ept_ad && (cap & EPT_CAP_AD);
		cfg->ept_exec_only = cap & EPT_CAP_EXEC_ONLY;
	}
	if (cfg->vpid) {
		uint64_t cap = m->ept_vpid_cap;

		/* Without INVVPID a reused VPID could hold stale translations:
		 * fall back to VPID 0 semantics (the CPU flushes on every entry
		 * and exit, SDM Vol. 3C 30.1), i.e. do not use VPID. */
		if (!(cap & VPID_CAP_INVVPID) || !(cap & (VPID_CAP_INVVPID_SINGLE | VPID_CAP_INVVPID_ALL))) {
			cfg->vpid = false;
			cfg->proc2 &= ~(uint32_t)CPU2_VPID;
		} else {
			cfg->invvpid_type = (cap & VPID_CAP_INVVPID_SINGLE) ? INVVPID_SINGLE : INVVPID_ALL;
			cfg->invvpid_addr = cap & VPID_CAP_INVVPID_ADDR;
		}
	}
	return VMX_CAPS_OK;
}

uint64_t vmx_cr_fixed_violations(uint64_t val, uint64_t fixed0, uint64_t fixed1)
{
	return (fixed0 & ~val) | (val & ~fixed1);
}

uint64_t vmx_guest_cr0_fixed0(const struct vmx_config *cfg)
{
	uint64_t f = cfg->cr0_fixed0;

	if (cfg->unrestricted)
		f &= ~(uint64_t)(BIT(0) | BIT(31));	/* PE, PG */
	return f;
}

void vmx_config_describe(const struct vmx_config *cfg, char *buf, size_t len)
{
	int n = 0;

	if (cfg->ept)
		n += snprintf(buf + n, len - (size_t)n, "EPT %u-level%s%s%s (INVEPT %s)",
			      cfg->ept_levels, cfg->ept_2m ? " 2M" : "", cfg->ept_1g ? " 1G" : "",
			      cfg->ept_ad ? " A/D" : "",
			      cfg->invept_type == INVEPT_SINGLE ? "single-context" : "all-context");
	else
		n += snprintf(buf + n, len - (size_t)n, "no EPT");
	if ((size_t)n < len && cfg->vpid)
		n += snprintf(buf + n, len - (size_t)n, ", VPID (INVVPID %s)",
			      cfg->invvpid_type == INVVPID_SINGLE ? "single-context" : "all-context");
	else if ((size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, ", no VPID");
	if ((size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, ", %s",
			      cfg->unrestricted ? "unrestricted guest" : "no unrestricted guest");
	if ((size_t)n < len && cfg->mtf)
		n += snprintf(buf + n, len - (size_t)n, ", MTF");
	if ((size_t)n < len && cfg->preempt_timer)
		n += snprintf(buf + n, len - (size_t)n, ", preemption timer");
	if ((size_t)n < len)
		snprintf(buf + n, len - (size_t)n, "%s", cfg->true_ctls ? ", TRUE controls" : "");
}
