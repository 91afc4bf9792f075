/* VMX capability negotiation: pure logic over the values of the VMX
 * capability MSRs, so it builds and is tested on the host. The hypervisor
 * reads the MSRs (vmm/vmx_enable.c) and passes their values in. */
#ifndef UMBRA_ARCH_X86_VMX_CAPS_H
#define UMBRA_ARCH_X86_VMX_CAPS_H

#include "include/bits.h"
#include "include/types.h"

/* Raw values of the capability MSRs (SDM Vol. 3D Appendix A). The TRUE_*
 * values are meaningful only when IA32_VMX_BASIC bit 55 is set; proc2 only
 * when the primary allowed-1 settings include "activate secondary controls";
 * ept_vpid_cap only when secondary allowed-1 includes EPT or VPID. */
struct vmx_msrs {
	uint64_t basic, misc;
	uint64_t pin, proc, exit, entry;
	uint64_t true_pin, true_proc, true_exit, true_entry;
	uint64_t proc2, ept_vpid_cap;
	uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
};

enum vmx_ept_choice { VMX_EPT_AUTO, VMX_EPT_4, VMX_EPT_5, VMX_EPT_OFF };

/* What the hypervisor asks for (from the command line). */
struct vmx_wants {
	enum vmx_ept_choice ept;
	bool vpid;		/* use VPID when the CPU has it */
	bool unrestricted;	/* use unrestricted guest when the CPU has it */
	bool ept_ad;		/* use EPT accessed/dirty flags when available */
	unsigned guest_phys_bits;	/* guest-physical width the EPT must cover */
	/* Shadow paging can stand in for EPT (mmu=auto|shadow): EPT, and the
	 * EFER load/save controls only EPT guests need, become optional. */
	bool ept_optional;
};

/* The negotiated configuration: final values for the five control words
 * and the optional features in use. */
struct vmx_config {
	uint32_t revision;	/* VMCS revision identifier */
	uint32_t vmcs_size;
	bool true_ctls;
	bool addr32;		/* VMXON region, VMCS, bitmaps must lie below 4 GiB */
	uint32_t pin, proc, proc2, exit, entry;
	/* Allowed-1 settings kept for controls toggled at run time
	 * (IA-32e mode guest, CR3 exiting, MTF). */
	uint32_t proc_allowed1, proc_allowed0, entry_allowed1, exit_allowed1;
	unsigned preempt_rate;		/* timer ticks once per 2^rate TSC ticks */
	bool load_efer;		/* entry "load IA32_EFER" + exit "save/load IA32_EFER" */
	bool ept, vpid, unrestricted, ept_ad, ept_2m, ept_1g, ept_exec_only, mtf, preempt_timer;
	unsigned ept_levels;		/* 4 or 5 when ept */
	unsigned invept_type;		/* INVEPT_SINGLE or INVEPT_ALL */
	unsigned invvpid_type;		/* INVVPID_SINGLE or INVVPID_ALL when vpid */
	bool invvpid_addr;		/* individual-address INVVPID available */
	uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
};

enum vmx_caps_status {
	VMX_CAPS_OK = 0,
	VMX_CAPS_MISSING_CONTROL,	/* a required control cannot be set */
	VMX_CAPS_NO_EPT_LEVEL,		/* the EPT level asked for is not supported */
	VMX_CAPS_BAD_BASIC,		/* VMCS memory type or size unusable */
};

/* Which control word a bit belongs to, for names. */
enum vmx_ctl_word { VMX_CTL_PIN, VMX_CTL_PROC, VMX_CTL_PROC2, VMX_CTL_EXIT, VMX_CTL_ENTRY };

/* One control word from its capability MSR (SDM Vol. 3D A.3-A.5): bits
 * 31:0 of @msr are the allowed-0 settings (a 1 there means the control must
 * be 1), bits 63:32 the allowed-1 settings (a 0 there means it must be 0).
 * Sets every bit of @required and of @optional the CPU allows, plus every
 * must-be-1 bit. Returns false and the required bits it cannot set in
 * *@missing when some are not allowed. */
bool vmx_ctl_adjust(uint64_t msr, uint32_t required, uint32_t optional, uint32_t *out,
		    uint32_t *missing) __must_check;

/* The name of control bit @bit (0..31) of @word ("?" when unnamed). */
const char *vmx_ctl_name(enum vmx_ctl_word word, unsigned bit);
const char *vmx_ctl_word_name(enum vmx_ctl_word word);

/* Negotiate every control word and optional feature. On failure writes a
 * message naming the missing control (or the EPT level asked for) to @err. */
enum vmx_caps_status vmx_caps_negotiate(const struct vmx_msrs *m, const struct vmx_wants *w,
					struct vmx_config *cfg, char *err, size_t errlen) __must_check;

/* CR0/CR4 fixed-bit rule (SDM Vol. 3D A.7, A.8): every bit set in @fixed0
 * must be 1, every bit clear in @fixed1 must be 0. Returns the offending bits
 * (0 when @val complies). */
uint64_t vmx_cr_fixed_violations(uint64_t val, uint64_t fixed0, uint64_t fixed1);

/* CR0 bits fixed to 1 for a guest: with unrestricted guest PE and PG may be
 * 0 (SDM Vol. 3C 27.3.1.1). */
uint64_t vmx_guest_cr0_fixed0(const struct vmx_config *cfg);

/* One-line description of the features in use, e.g.
 * "EPT 4-level 2M 1G A/D, VPID (INVVPID single), unrestricted guest". */
void vmx_config_describe(const struct vmx_config *cfg, char *buf, size_t len);

#endif
