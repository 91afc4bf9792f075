/* Host identity map. The boot stub maps [0, 4 GiB) with 2 MiB pages under
 * PML4[0]; RAM above that gets 1 GiB pages in PDPT entries (SDM Vol. 3A 4.5),
 * which every VMX-capable CPU with EPT supports. */
#include "arch/x86/cpu.h"
#include "arch/x86/paging.h"
#include "lib/frame.h"
#include "lib/printf.h"

#define PTE_P		BIT(0)
#define PTE_W		BIT(1)
#define PTE_PS		BIT(7)
#define GIB		(1ull << 30)
#define EXTRA_PDPTS	4		/* PML4[1..4]: up to 2.5 TiB mapped */
#define BOOT_MAPPED	(4 * GIB)

extern uint64_t boot_pml4[512];
static uint64_t extra_pdpt[EXTRA_PDPTS][512] __aligned(4096);

void *phys_to_virt(hpa_t hpa) { return (void *)(uintptr_t)hpa; }
hpa_t virt_to_phys(const void *p) { return (hpa_t)(uintptr_t)p; }

uint64_t paging_init(const struct boot_info *bi)
{
	uint64_t top = 0;

	for (unsigned i = 0; i < bi->mmap_count; i++)
		if (bi->mmap[i].type == MEM_USABLE)
			top = MAX(top, bi->mmap[i].base + bi->mmap[i].len);
	if (top <= BOOT_MAPPED)
		return BOOT_MAPPED;
	if (!boot_cpu.pdpe1gb) {
		pr_warn("RAM above 4 GiB left unused: the CPU has no 1 GiB pages\n");
		return BOOT_MAPPED;
	}
	uint64_t limit = (1ull + EXTRA_PDPTS) * 512 * GIB;
	if (top > limit) {
		pr_warn("RAM above %llu GiB left unused\n", (unsigned long long)(limit / GIB));
		top = limit;
	}
	uint64_t *pdpt0 = phys_to_virt(boot_pml4[0] & GENMASK(51, 12));
	for (uint64_t gib = BOOT_MAPPED / GIB; gib * GIB < top; gib++) {
		uint64_t *pdpt = gib < 512 ? pdpt0 : extra_pdpt[gib / 512 - 1];
		if (gib >= 512 && !(boot_pml4[gib / 512] & PTE_P))
			boot_pml4[gib / 512] = virt_to_phys(pdpt) | PTE_P | PTE_W;
		pdpt[gib % 512] = (gib * GIB) | PTE_P | PTE_W | PTE_PS;
	}
	write_cr3(read_cr3());
	return ALIGN_UP(top, GIB);
}
