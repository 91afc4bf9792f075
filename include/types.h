/* Shared scalar types: one per address space, so a guest-physical address can
 * never be passed where a host-physical one is expected without a visible cast. */
#ifndef UMBRA_TYPES_H
#define UMBRA_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint64_t gva_t;	/* guest-virtual (linear) address */
typedef uint64_t gpa_t;	/* guest-physical address */
typedef uint64_t gfn_t;	/* guest frame number: gpa >> 12 */
typedef uint64_t hpa_t;	/* host-physical address */
typedef uint64_t hfn_t;	/* host frame number: hpa >> 12 */

#define PAGE_SHIFT	12
#define PAGE_SIZE	(1ull << PAGE_SHIFT)
#define PAGE_MASK	(~(PAGE_SIZE - 1))

#endif
