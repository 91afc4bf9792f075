/* One guest (one GRUB module) and the VMM-internal interfaces between the
 * files of vmm/. A guest owns its RAM, its EPT, its VMCS and its emulated
 * UART; it runs to completion before the next one starts. */
#ifndef UMBRA_VMM_GUEST_H
#define UMBRA_VMM_GUEST_H

#include "arch/x86/vmx.h"
#include "arch/x86/vmx_caps.h"
#include "include/boot_info.h"
#include "mmu/ept.h"
#include "mmu/shadow.h"
#include "mmu/walk.h"
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

/* Profile classes beyond the basic exit reasons: what a #PF or #DB exit of a
 * shadow guest turned out to be. */
#define SMMU_OPEN_FRAMES	8

enum prof_class {
	PROF_PF_GUEST = EXIT_REASON_COUNT,	/* guest #PF injected */
	PROF_PF_FILL,				/* shadow entry installed */
	PROF_PF_WRITE,				/* write to a guest table: step started */
	PROF_STEP_DONE,				/* single-step ended (#DB or MTF) */
	PROF_CLASSES
};

struct guest {
	char name[32];
	unsigned index;
	const struct boot_module *mod;
	enum guest_state state;
	uint32_t exit_code;		/* valid when GUEST_EXITED */
	char why[120];			/* for STOPPED and NOT_RUN */
	char mem_mode[40];
	char cmdline[256];		/* the module's command line minus umbra.* words */

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

	/* Shadow paging (vmm/shadow_mmu.c): the guest's CR0/CR4 live in the
	 * read shadows, its CR3 in cr3 and its EFER in efer (the real ones
	 * are the hypervisor's); pdptes are its PAE PDPTE registers. */
	bool shadow;
	struct shadow sh;
	struct mmu_ops sh_ops;
	struct gwalk_mode gm;
	bool sh_mode_set;		/* gm and the real CR0/CR4/EFER match the guest's */
	uint64_t pdptes[4];
	unsigned root_levels;		/* deepest shadow root used: 3 (PAE) or 4 */
	/* Guest table frames the guest may write directly until its next TLB
	 * flush (vmm/shadow_mmu.c, "open frames"), with their contents when
	 * last synced. */
	struct {
		bool used;
		unsigned idle;		/* flushes in a row without a change */
		gpa_t gpa;
		hpa_t snap;
	} open[SMMU_OPEN_FRAMES];
	unsigned open_count;		/* slots used */
	unsigned open_next;		/* the slot to reuse when all are used */
	/* A write the shadow cannot express (CR0.WP = 0 emulation), single-
	 * stepped with MTF or TF. */
	struct {
		bool active;
		unsigned n;
		gva_t gva[4];
		gpa_t gpa[4];
		hpa_t snap[4];		/* frame copies before the step */
		bool guest_tf;		/* TF stepping: the guest's own RFLAGS.TF */
		bool mtf;		/* stepping with MTF (else TF) */
		uint64_t rip;		/* of the stepped instruction */
	} step;
	hpa_t msr_area;			/* EFER via MSR-load areas (no EFER controls) */
	uint64_t cr2;			/* written to the real CR2 before entry */
	bool cr2_pending;
	uint64_t last_pf_gva, last_pf_rip;
	uint32_t last_pf_pfec;
	unsigned same_pf;
	uint64_t sh_frames, sh_frames_peak;	/* frames held by the shadow */
	char sh_summary[200];		/* shadow statistics for the result table */
	uint64_t sh_steps, sh_opened, sh_zapped_writes, sh_guest_pf, sh_reinjected;

	struct uart uart;
	uint64_t exits[EXIT_REASON_COUNT];
	uint64_t exits_total;
	/* exitstats=on: handler time (TSC, VM exit to next VM entry) per
	 * profile class: the basic exit reason, or one of PROF_* below. */
	unsigned prof_class;
	uint64_t prof_start, prof_end;
	uint64_t prof_ticks[PROF_CLASSES], prof_count[PROF_CLASSES];
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

/* shadow_mmu.c: shadow paging for one guest (see the file's comment). */
enum smmu_cr_status { SMMU_OK, SMMU_GP, SMMU_STOPPED };
bool smmu_init(struct guest *g, unsigned pool_pages) __must_check;
void smmu_vmcs_setup(struct guest *g);
/* New guest CR0/CR4/EFER/CR3 (@pdpte_load: this MOV loads PAE PDPTEs). */
enum smmu_cr_status smmu_set_paging(struct guest *g, uint64_t cr0, uint64_t cr4, uint64_t efer,
				    uint64_t cr3, bool pdpte_load) __must_check;
void smmu_page_fault(struct guest *g);
void smmu_invlpg(struct guest *g, gva_t gva);
void smmu_step_done(struct guest *g);
void smmu_step_check(struct guest *g, unsigned reason);
void smmu_before_entry(struct guest *g);
void smmu_release(struct guest *g);

/* exit.c: handle one VM exit; false when the guest has ended. */
bool exit_handle(struct guest *g);
/* Guest-physical RAM as a host pointer, or NULL outside guest RAM. */
void *guest_gpa_ptr(struct guest *g, gpa_t gpa, size_t len);
void guest_stop(struct guest *g, const char *fmt, ...) __printf(2, 3);
/* vmm.c: the mmu_ops over this guest's RAM (frame_alloc for tables). */
void guest_mmu_ops_init(struct guest *g, struct mmu_ops *ops);
void exit_inject_exception(unsigned vector, bool has_error, uint32_t error);
void exit_flush_guest_tlb(struct guest *g);

#endif
