/* Turning VMX operation on (SDM Vol. 3C 24.6-24.8): CPUID, IA32_FEATURE_CONTROL,
 * IA32_VMX_BASIC, CR0/CR4 fixed bits, the VMXON region; then the control
 * negotiation of arch/x86/vmx_caps.c over the capability MSRs. */
#include "arch/x86/cpu.h"
#include "lib/frame.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "vmm/guest.h"
#include "vmm/options.h"

struct vmx_config vmx_cfg;
static hpa_t vmxon_region;

static void read_vmx_msrs(struct vmx_msrs *m)
{
	memset(m, 0, sizeof(*m));
	m->basic = rdmsr(MSR_IA32_VMX_BASIC);
	m->misc = rdmsr(MSR_IA32_VMX_MISC);
	m->pin = rdmsr(MSR_IA32_VMX_PINBASED_CTLS);
	m->proc = rdmsr(MSR_IA32_VMX_PROCBASED_CTLS);
	m->exit = rdmsr(MSR_IA32_VMX_EXIT_CTLS);
	m->entry = rdmsr(MSR_IA32_VMX_ENTRY_CTLS);
	if (m->basic & VMX_BASIC_TRUE_CTLS) {
		m->true_pin = rdmsr(MSR_IA32_VMX_TRUE_PINBASED_CTLS);
		m->true_proc = rdmsr(MSR_IA32_VMX_TRUE_PROCBASED_CTLS);
		m->true_exit = rdmsr(MSR_IA32_VMX_TRUE_EXIT_CTLS);
		m->true_entry = rdmsr(MSR_IA32_VMX_TRUE_ENTRY_CTLS);
	}
	/* IA32_VMX_PROCBASED_CTLS2 exists only when secondary controls can be
	 * activated; IA32_VMX_EPT_VPID_CAP only when EPT or VPID can be. */
	if ((m->proc >> 32) & CPU_SECONDARY_CTLS) {
		m->proc2 = rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2);
		if ((m->proc2 >> 32) & (CPU2_EPT | CPU2_VPID))
			m->ept_vpid_cap = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
	}
	m->cr0_fixed0 = rdmsr(MSR_IA32_VMX_CR0_FIXED0);
	m->cr0_fixed1 = rdmsr(MSR_IA32_VMX_CR0_FIXED1);
	m->cr4_fixed0 = rdmsr(MSR_IA32_VMX_CR4_FIXED0);
	m->cr4_fixed1 = rdmsr(MSR_IA32_VMX_CR4_FIXED1);
}

hpa_t vmx_alloc_struct(void)
{
	return vmx_cfg.addr32 ? frame_alloc_contig(1, PAGE_SIZE, 1ull << 32) : frame_alloc();
}

/* Leave VMX operation (SDM Vol. 3C 24.8: VMXOFF, then CR4.VMXE may be
 * cleared) before the machine powers off. */
void vmx_disable(void)
{
	if (!vmxon_region)
		return;
	vmxoff();
	write_cr4(read_cr4() & ~(uint64_t)CR4_VMXE);
	frame_free(vmxon_region);
	vmxon_region = 0;
	kprintf("vmx: VMXOFF\n");
}

/* Enable VMX operation and negotiate the configuration (vmx_cfg).
 *
 * IA32_FEATURE_CONTROL (SDM Vol. 3C 24.7): when unlocked, set "VMX outside
 * SMX" and lock it; when locked with that bit clear, VMXON would #GP, so
 * refuse with a message. Before VMXON, CR0 and CR4 must satisfy the fixed
 * bits (SDM Vol. 3C 24.8, Vol. 3D A.7/A.8) with CR4.VMXE set, and the VMXON
 * region must start with the revision identifier (SDM Vol. 3C 25.11.5). */
bool vmx_enable(char *err, size_t errlen)
{
	struct cpuid_regs r = cpuid(1, 0);
	struct vmx_msrs m;
	char desc[160];

	if (!(r.ecx & CPUID1_ECX_VMX)) {
		snprintf(err, errlen, "this CPU has no VMX (CPUID.1:ECX.VMX[bit 5] = 0): "
			 "no guest can run");
		return false;
	}

	uint64_t fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
	if (!(fc & FEATURE_CONTROL_LOCK)) {
		fc |= FEATURE_CONTROL_VMX_OUTSIDE_SMX | FEATURE_CONTROL_LOCK;
		wrmsr(MSR_IA32_FEATURE_CONTROL, fc);
		pr_info("vmx: IA32_FEATURE_CONTROL was unlocked: enabled VMX outside SMX and locked it\n");
	} else if (!(fc & FEATURE_CONTROL_VMX_OUTSIDE_SMX)) {
		snprintf(err, errlen, "VMX is disabled by the firmware (IA32_FEATURE_CONTROL = 0x%llx: "
			 "locked with VMX-outside-SMX clear)", (unsigned long long)fc);
		return false;
	}

	read_vmx_msrs(&m);
	struct vmx_wants w = {
		.ept = (enum vmx_ept_choice)opts.ept,
		.vpid = opts.vpid,
		.unrestricted = opts.ug,
		.ept_ad = true,
		.ept_optional = opts.mmu != MMU_EPT,
		.guest_phys_bits = 32,
	};
	enum vmx_caps_status st = vmx_caps_negotiate(&m, &w, &vmx_cfg, err, errlen);
	if (st != VMX_CAPS_OK)
		return false;

	kprintf("vmx: VMCS revision %u, %u bytes, memory type %s%s\n", vmx_cfg.revision,
		vmx_cfg.vmcs_size,
		((m.basic & VMX_BASIC_MEMTYPE_MASK) >> VMX_BASIC_MEMTYPE_SHIFT) == VMX_MEMTYPE_WB ? "WB" : "UC",
		vmx_cfg.true_ctls ? ", TRUE_* control MSRs" : "");
	kprintf("vmx: controls pin 0x%08x proc 0x%08x proc2 0x%08x exit 0x%08x entry 0x%08x "
		"(proc allowed-1 0x%08x)\n", vmx_cfg.pin, vmx_cfg.proc, vmx_cfg.proc2, vmx_cfg.exit,
		vmx_cfg.entry, vmx_cfg.proc_allowed1);
	kprintf("vmx: EPT/VPID capabilities 0x%llx, CR0 fixed 0x%llx/0x%llx, CR4 fixed 0x%llx/0x%llx\n",
		(unsigned long long)m.ept_vpid_cap, (unsigned long long)m.cr0_fixed0,
		(unsigned long long)m.cr0_fixed1, (unsigned long long)m.cr4_fixed0,
		(unsigned long long)m.cr4_fixed1);
	vmx_config_describe(&vmx_cfg, desc, sizeof(desc));
	kprintf("vmx: features: %s\n", desc);
	if (opts.budget && vmx_cfg.preempt_timer)
		kprintf("vmx: time budget per guest: %llu TSC ticks (VMX-preemption timer, rate 2^%u%s)\n",
			(unsigned long long)opts.budget, vmx_cfg.preempt_rate,
			(vmx_cfg.exit_allowed1 & EXIT_SAVE_PREEMPT_TIMER) ? ", counted across exits" :
			", restarted at each entry");
	else if (opts.budget)
		kprintf("vmx: no VMX-preemption timer: guests run without a time budget\n");

	if (!vmx_cfg.ept && opts.mmu == MMU_EPT) {
		snprintf(err, errlen, "mmu=ept: %s", opts.ept == VMX_EPT_OFF ?
			 "contradicts ept=off" : "this CPU has no EPT");
		return false;
	}
	if (!vmx_cfg.ept && opts.mmu == MMU_AUTO)
		kprintf("vmx: %s: guests run on shadow page tables\n",
			opts.ept == VMX_EPT_OFF ? "ept=off" : "no EPT");

	uint64_t cr0 = read_cr0(), cr4 = read_cr4() | CR4_VMXE;
	uint64_t bad0 = vmx_cr_fixed_violations(cr0, m.cr0_fixed0, m.cr0_fixed1);
	uint64_t bad4 = vmx_cr_fixed_violations(cr4, m.cr4_fixed0, m.cr4_fixed1);
	if (bad0 || bad4) {
		/* The host may adjust CD/NW and similar to the fixed bits. */
		cr0 = (cr0 | m.cr0_fixed0) & m.cr0_fixed1;
		cr4 = (cr4 | m.cr4_fixed0) & m.cr4_fixed1;
		pr_info("vmx: adjusting host CR0 to 0x%llx, CR4 to 0x%llx for the fixed bits\n",
			(unsigned long long)cr0, (unsigned long long)cr4);
		if (!(cr0 & CR0_PG) || !(cr0 & CR0_PE)) {
			snprintf(err, errlen, "host CR0 0x%llx cannot meet the VMX fixed bits",
				 (unsigned long long)read_cr0());
			return false;
		}
		write_cr0(cr0);
	}
	/* The host uses no SSE, but a guest's XSETBV is executed on the host
	 * (XCR0 is not switched by the VMCS), which needs CR4.OSXSAVE. */
	if (cpuid(1, 0).ecx & CPUID1_ECX_XSAVE)
		cr4 |= CR4_OSXSAVE;
	write_cr4(cr4);

	vmxon_region = vmx_alloc_struct();
	if (!vmxon_region) {
		snprintf(err, errlen, "out of memory for the VMXON region");
		return false;
	}
	*(uint32_t *)phys_to_virt(vmxon_region) = vmx_cfg.revision;
	vmxon(vmxon_region);
	kprintf("vmx: VMXON ok (region at 0x%llx)\n", (unsigned long long)vmxon_region);
	return true;
}
