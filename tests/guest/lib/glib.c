/* Test-guest library: polled 16550 on COM1, a small printf, report(). */
#include "glib.h"

#define COM1 0x3f8

void *gmemset(void *d, int c, size_t n)
{
	uint8_t *p = d;
	while (n--)
		*p++ = (uint8_t)c;
	return d;
}

void *memset(void *d, int c, size_t n);
void *memset(void *d, int c, size_t n) { return gmemset(d, c, n); }

int gstrcmp(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return (unsigned char)*a - (unsigned char)*b;
}

void serial_init(void)
{
	outb(COM1 + 1, 0x00);	/* no interrupts */
	outb(COM1 + 3, 0x80);	/* DLAB */
	outb(COM1 + 0, 0x01);	/* 115200 baud */
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03);	/* 8N1 */
	outb(COM1 + 2, 0xc7);	/* FIFO on, cleared */
	outb(COM1 + 4, 0x03);	/* DTR, RTS */
}

void serial_putc(char c)
{
	if (c == '\n')
		serial_putc('\r');
	while (!(inb(COM1 + 5) & 0x20))
		;
	outb(COM1, (uint8_t)c);
}

static void puts_n(const char *s, int n)
{
	while (n-- > 0 && *s)
		serial_putc(*s++);
}

/* v /= base, returning the remainder, without libgcc's 64-bit division. */
static uint32_t divmod(uint64_t *v, uint32_t base)
{
	uint32_t hi = (uint32_t)(*v >> 32), lo = (uint32_t)*v, qhi = hi / base, qlo, rem;

	__asm__("divl %4" : "=a"(qlo), "=d"(rem) : "a"(lo), "d"(hi % base), "rm"(base));
	*v = ((uint64_t)qhi << 32) | qlo;
	return rem;
}

static void put_num(uint64_t v, unsigned base, int width, char pad, bool neg)
{
	char buf[24];
	int n = 0;

	do {
		buf[n++] = "0123456789abcdef"[divmod(&v, base)];
	} while (v);
	if (neg)
		buf[n++] = '-';
	while (width-- > n)
		serial_putc(pad);
	while (n--)
		serial_putc(buf[n]);
}

int gprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	for (; *fmt; fmt++) {
		int width = 0, ll = 0;
		char pad = ' ';

		if (*fmt != '%') {
			serial_putc(*fmt);
			continue;
		}
		fmt++;
		if (*fmt == '0')
			pad = '0', fmt++;
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l')
			ll++, fmt++;
		switch (*fmt) {
		case 'd': {
			int64_t v = ll >= 2 ? va_arg(ap, long long) : va_arg(ap, int);
			put_num(v < 0 ? (uint64_t)-v : (uint64_t)v, 10, width, pad, v < 0);
			break;
		}
		case 'u':
			put_num(ll >= 2 ? va_arg(ap, unsigned long long) : va_arg(ap, unsigned), 10, width, pad, false);
			break;
		case 'x':
			put_num(ll >= 2 ? va_arg(ap, unsigned long long) : va_arg(ap, unsigned), 16, width, pad, false);
			break;
		case 's':
			puts_n(va_arg(ap, const char *), 1 << 30);
			break;
		case 'c':
			serial_putc((char)va_arg(ap, int));
			break;
		default:
			serial_putc(*fmt);
			break;
		}
	}
	va_end(ap);
	return 0;
}

static unsigned passed, failed;

bool report(const char *name, bool ok)
{
	gprintf("guest: %s %s\n", name, ok ? "ok" : "FAILED");
	if (ok)
		passed++;
	else
		failed++;
	return ok;
}

int report_done(void)
{
	if (failed)
		gprintf("guest: %u of %u checks FAILED\n", failed, passed + failed);
	else
		gprintf("guest: all %u checks passed\n", passed);
	return failed ? 1 : 0;
}

void guest_exit(int code)
{
	/* Let the UART drain, then QEMU's isa-debug-exit / Umbra's exit port. */
	while (!(inb(COM1 + 5) & 0x40))
		;
	outl(0xf4, (uint32_t)code);
	/* Still here: no isa-debug-exit (bare Bochs). Bochs ends on
	 * "Shutdown" at port 0x8900; its exit status carries no code, so
	 * the serial lines are the result. */
	for (const char *s = "Shutdown"; *s; s++)
		outb(0x8900, (uint8_t)*s);
	for (;;)
		__asm__ volatile("cli; hlt");
}

bool under_umbra(void)
{
	uint32_t r[4];

	cpuid(1, 0, r);
	if (!(r[2] & (1u << 31)))
		return false;
	cpuid(0x40000000, 0, r);
	return r[1] == ('U' | 'm' << 8 | 'b' << 16 | (uint32_t)'r' << 24) &&
	       r[2] == ('a' | 'U' << 8 | 'm' << 16 | (uint32_t)'b' << 24);
}
