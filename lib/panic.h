/* panic(): a broken invariant or a failed VMX instruction. Prints where and
 * why, then stops the machine with a failure status (in host builds: abort()). */
#ifndef UMBRA_LIB_PANIC_H
#define UMBRA_LIB_PANIC_H

#include "include/bits.h"

__noreturn void panic_at(const char *file, int line, const char *fmt, ...) __printf(3, 4);
#define panic(...) panic_at(__FILE__, __LINE__, __VA_ARGS__)
#define BUG_ON(cond) do { if (cond) panic("BUG_ON(%s)", #cond); } while (0)

#endif
