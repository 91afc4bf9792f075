#ifndef UMBRA_TESTS_HOST_LIB_H
#define UMBRA_TESTS_HOST_LIB_H

#include "include/types.h"

/* The host-physical range [host_arena_base, +host_arena_size) is backed by
 * host_arena; phys_to_virt() aborts outside it. */
extern uint8_t *host_arena;
extern hpa_t host_arena_base;
extern size_t host_arena_size;

#endif
