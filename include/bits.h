/* Bit helpers and compiler attributes used everywhere. */
#ifndef UMBRA_BITS_H
#define UMBRA_BITS_H

#define BIT(n)			(1ull << (n))
/* Bits h..l inclusive, h >= l, h <= 63. */
#define GENMASK(h, l)		((~0ull >> (63 - (h))) & (~0ull << (l)))
#define ALIGN_DOWN(x, a)	((x) & ~((__typeof__(x))(a) - 1))
#define ALIGN_UP(x, a)		ALIGN_DOWN((x) + (a) - 1, (a))
#define IS_ALIGNED(x, a)	(((x) & ((__typeof__(x))(a) - 1)) == 0)
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define MIN(a, b)		((a) < (b) ? (a) : (b))
#define MAX(a, b)		((a) > (b) ? (a) : (b))

#define __must_check		__attribute__((warn_unused_result))
#define __noreturn		__attribute__((noreturn))
#define __packed		__attribute__((packed))
#define __aligned(n)		__attribute__((aligned(n)))
#define __printf(a, b)		__attribute__((format(printf, a, b)))
#define __unused		__attribute__((unused))

_Static_assert(GENMASK(63, 0) == ~0ull, "GENMASK full");
_Static_assert(GENMASK(51, 12) == 0x000ffffffffff000ull, "GENMASK address");
_Static_assert(BIT(63) == 0x8000000000000000ull, "BIT 63");

#endif
