/* One guest (one GRUB module) and the VMM-internal interfaces between the
 * files of vmm/. A guest owns its RAM, its EPT, its VMCS and its emulated
 * UART; it runs to completion before the next one starts. */
#ifndef UMBRA_VMM_GUEST_H
#define UMBRA_VMM_GUEST_H

#include "arch/x86/vmx.h"
#include "arch/x86/vmx_caps.h"
#include "include/boot_info.h"
#include "mmu/ept.h"
#include "vmm/uart.h"

/* Where the hypervisor's identity page table for the paging-off phase of a
 * guest without unrestricted guest lives in guest-physical space: the top
 * 4 MiB slot below 4 GiB, which that table leaves unmapped, so the guest can
 * reach it by no linear address (SDM Vol. 3C 27.3.1.1: without unrestricted
 * guest, CR0.PE and CR0.PG must be 1). */
#define IDPT_GPA	0xffc00000ull

enum guest_state {
	GUEST_RUNNING,
	GUEST_EXITED,		/* wrote its exit code to port 0xf4 (or VMCALL 1) */
	GUEST_STOPPED,		/* stopped by the hypervisor: fault, HLT, bad state */
	GUEST_NOT_RUN,		/* could not be loaded or set up */
};

struct guest {
	char name[32];
	unsigned index;
	const struct boot_module *mod;
	enum guest_state state;
	uint32_t exit_code;		/* valid when GUEST_EXITED */
	char why[120];			/* for STOPPED and NOT_RUN */
	char mem_mode[40];

	uint64_t mem_size;
	hpa_t mem_hpa;
	struct ept ept;
	bool ept_ready;
	uint64_t eptp;
	hpa_t vmcs;
	uint16_t vpid;
	struct guest_regs regs;
	bool launched;

	/* Control registers as the guest sees them, where they differ from
	 * the VMCS (paging-off phase without unrestricted guest). */
	bool idpt_active;		/* running on the hypervisor's identity table */
	hpa_t idpt_hpa;
	uint64_t cr3;			/* guest CR3 while idpt_active */
	uint64_t efer;			/* guest EFER while idpt_active */
	uint64_t cr8;
	uint64_t cr0_mask, cr4_mask;
	uint64_t pat;			/* when PAT is not switched by the VMCS */

	struct uart uart;
	uint64_t exits[EXIT_REASON_COUNT];
	uint64_t exits_total;
	uint64_t io_other_reads, io_other_writes, msr_unknown;
};

extern struct vmx_config vmx_cfg;

/* vmx_enable.c */
bool vmx_enable(char *err, size_t errlen) __must_check;
void vmx_disable(void);
/* A zeroed frame for a VMX structure (VMXON region, VMCS, MSR bitmap):
 * below 4 GiB when IA32_VMX_BASIC bit 48 says so (SDM Vol. 3D A.1). */
hpa_t vmx_alloc_struct(void) __must_check;

/* vmcs.c */
void vmcs_setup(struct guest *g, uint32_t entry, uint32_t mbi, hpa_t msr_bitmap);
void vmcs_dump(const char *why);
/* Set the IA-32e-mode-guest entry control from EFER.LMA in the VMCS. */
void vmcs_sync_ia32e(void);

/* vmcs_check.c: the VM-entry checks of SDM Vol. 3C 27.2 and 27.3 on the
 * current VMCS. Prints every violated rule naming the field; returns the
 * number of violations. */
unsigned vmcs_check(void);

/* exit.c: handle one VM exit; false when the guest has ended. */
bool exit_handle(struct guest *g);
/* Guest-physical RAM as a host pointer, or NULL outside guest RAM. */
void *guest_gpa_ptr(struct guest *g, gpa_t gpa, size_t len);
void guest_stop(struct guest *g, const char *fmt, ...) __printf(2, 3);

#endif
