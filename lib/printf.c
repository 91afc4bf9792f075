/* printf-style formatting, written once around an output callback so that
 * snprintf (into a buffer) and kprintf (to the console) share it. */
#include "lib/printf.h"
#include "lib/string.h"

struct out {
	void (*put)(struct out *o, char c);
	char *buf;
	size_t size, len;	/* len counts every character produced */
};

static void put_buf(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

enum { F_LEFT = 1, F_ZERO = 2, F_PLUS = 4, F_SPACE = 8, F_ALT = 16, F_UPPER = 32 };

static void put_n(struct out *o, char c, int n)
{
	while (n-- > 0)
		o->put(o, c);
}

/* Emit one converted number: sign/prefix, precision zeros, width padding. */
static void put_number(struct out *o, uint64_t v, bool neg, unsigned base, int flags,
		       int width, int prec)
{
	const char *digits = (flags & F_UPPER) ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0;
	char sign = 0;
	const char *prefix = "";

	if (v == 0 && prec == 0)
		n = 0;
	else
		do {
			tmp[n++] = digits[v % base];
			v /= base;
		} while (v);

	if (neg)
		sign = '-';
	else if (flags & F_PLUS)
		sign = '+';
	else if (flags & F_SPACE)
		sign = ' ';
	if ((flags & F_ALT) && base == 16 && n > 0 && !(n == 1 && tmp[0] == '0'))
		prefix = (flags & F_UPPER) ? "0X" : "0x";
	if ((flags & F_ALT) && base == 8 && (prec <= n) && !(n > 0 && tmp[n - 1] == '0'))
		prec = n + 1;

	int zeros = prec > n ? prec - n : 0;
	int body = n + zeros + (sign ? 1 : 0) + (int)strlen(prefix);
	int pad = width > body ? width - body : 0;

	if (!(flags & F_LEFT) && (flags & F_ZERO) && prec < 0) {
		zeros += pad;
		pad = 0;
	}
	if (!(flags & F_LEFT))
		put_n(o, ' ', pad);
	if (sign)
		o->put(o, sign);
	for (const char *p = prefix; *p; p++)
		o->put(o, *p);
	put_n(o, '0', zeros);
	while (n)
		o->put(o, tmp[--n]);
	if (flags & F_LEFT)
		put_n(o, ' ', pad);
}

static void format(struct out *o, const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			o->put(o, *fmt);
			continue;
		}
		const char *start = fmt++;
		int flags = 0, width = 0, prec = -1;

		for (;; fmt++) {
			if (*fmt == '-') flags |= F_LEFT;
			else if (*fmt == '0') flags |= F_ZERO;
			else if (*fmt == '+') flags |= F_PLUS;
			else if (*fmt == ' ') flags |= F_SPACE;
			else if (*fmt == '#') flags |= F_ALT;
			else break;
		}
		if (*fmt == '*') {
			width = va_arg(ap, int);
			if (width < 0) {
				flags |= F_LEFT;
				width = -width;
			}
			fmt++;
		} else {
			while (*fmt >= '0' && *fmt <= '9')
				width = width * 10 + (*fmt++ - '0');
		}
		if (*fmt == '.') {
			fmt++;
			prec = 0;
			if (*fmt == '*') {
				prec = va_arg(ap, int);
				if (prec < 0)
					prec = -1;
				fmt++;
			} else {
				while (*fmt >= '0' && *fmt <= '9')
					prec = prec * 10 + (*fmt++ - '0');
			}
		}
		/* length: 0 int, 1 long, 2 long long, -1 short, -2 char, 3 size_t/ptrdiff/intmax */
		int len = 0;
		if (*fmt == 'h') {
			len = -1;
			if (*++fmt == 'h') { len = -2; fmt++; }
		} else if (*fmt == 'l') {
			len = 1;
			if (*++fmt == 'l') { len = 2; fmt++; }
		} else if (*fmt == 'z' || *fmt == 't' || *fmt == 'j') {
			len = 3;
			fmt++;
		}

		char c = *fmt;
		switch (c) {
		case 'd':
		case 'i': {
			int64_t v;
			if (len >= 1) v = va_arg(ap, int64_t);
			else v = va_arg(ap, int);
			if (len == -1) v = (short)v;
			if (len == -2) v = (signed char)v;
			put_number(o, v < 0 ? 0 - (uint64_t)v : (uint64_t)v, v < 0, 10, flags, width, prec);
			break;
		}
		case 'u': case 'x': case 'X': case 'o': {
			uint64_t v;
			if (len >= 1) v = va_arg(ap, uint64_t);
			else v = va_arg(ap, unsigned int);
			if (len == -1) v = (unsigned short)v;
			if (len == -2) v = (unsigned char)v;
			if (c == 'X') flags |= F_UPPER;
			put_number(o, v, false, c == 'u' ? 10 : c == 'o' ? 8 : 16,
				   flags & ~(F_PLUS | F_SPACE), width, prec);
			break;
		}
		case 'p':
			put_number(o, (uintptr_t)va_arg(ap, void *), false, 16, flags | F_ALT,
				   width, prec);
			break;
		case 'c': {
			int pad = width > 1 ? width - 1 : 0;
			if (!(flags & F_LEFT)) put_n(o, ' ', pad);
			o->put(o, (char)va_arg(ap, int));
			if (flags & F_LEFT) put_n(o, ' ', pad);
			break;
		}
		case 's': {
			const char *s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			int n = (int)(prec >= 0 ? strnlen(s, (size_t)prec) : strlen(s));
			int pad = width > n ? width - n : 0;
			if (!(flags & F_LEFT)) put_n(o, ' ', pad);
			for (int i = 0; i < n; i++) o->put(o, s[i]);
			if (flags & F_LEFT) put_n(o, ' ', pad);
			break;
		}
		case '%':
			o->put(o, '%');
			break;
		default:
			/* Unknown conversion: print it as written, so the mistake shows. */
			for (const char *p = start; p <= fmt && *p; p++)
				o->put(o, *p);
			if (!*fmt)
				return;
			break;
		}
	}
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { .put = put_buf, .buf = buf, .size = size };

	format(&o, fmt, ap);
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

/* ---- console ---------------------------------------------------------------- */

static console_sink_fn console_sink;
static enum log_level log_level = LOG_INFO;

void console_set_sink(console_sink_fn sink) { console_sink = sink; }
void log_set_level(enum log_level level) { log_level = level; }
enum log_level log_get_level(void) { return log_level; }

/* Console output is chunked through a small buffer; '\n' becomes "\r\n". */
struct console_out {
	struct out o;
	char chunk[128];
	size_t used;
};

static void console_flush(struct console_out *co)
{
	if (console_sink && co->used)
		console_sink(co->chunk, co->used);
	co->used = 0;
}

static void put_console(struct out *o, char c)
{
	struct console_out *co = (struct console_out *)o;

	if (c == '\n') {
		if (co->used + 2 > sizeof(co->chunk))
			console_flush(co);
		co->chunk[co->used++] = '\r';
	} else if (co->used + 1 > sizeof(co->chunk)) {
		console_flush(co);
	}
	co->chunk[co->used++] = c;
	o->len++;
}

int vkprintf(const char *fmt, va_list ap)
{
	struct console_out co = { .o = { .put = put_console } };

	format(&co.o, fmt, ap);
	console_flush(&co);
	return (int)co.o.len;
}

int kprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vkprintf(fmt, ap);
	va_end(ap);
	return n;
}

void klog(enum log_level level, const char *fmt, ...)
{
	static const char *const prefix[] = { "error: ", "warning: ", "", "debug: " };
	va_list ap;

	if (level > log_level)
		return;
	kprintf("%s", prefix[level]);
	va_start(ap, fmt);
	vkprintf(fmt, ap);
	va_end(ap);
}
