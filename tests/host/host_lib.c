/* Host stand-ins for what the kernel provides to lib/ and boot/: panic()
 * aborts (so sanitizers report it) and host-physical memory is a test arena. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "lib/frame.h"
#include "lib/panic.h"
#include "tests/host/host_lib.h"

uint8_t *host_arena;
hpa_t host_arena_base;
size_t host_arena_size;

void panic_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "PANIC at %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	abort();
}

void *phys_to_virt(hpa_t hpa)
{
	if (!host_arena || hpa < host_arena_base || hpa - host_arena_base >= host_arena_size) {
		fprintf(stderr, "phys_to_virt(%#llx): outside the test arena\n",
			(unsigned long long)hpa);
		abort();
	}
	return host_arena + (hpa - host_arena_base);
}

hpa_t virt_to_phys(const void *p)
{
	const uint8_t *q = p;

	if (!host_arena || q < host_arena || (size_t)(q - host_arena) >= host_arena_size)
		abort();
	return host_arena_base + (hpa_t)(q - host_arena);
}
