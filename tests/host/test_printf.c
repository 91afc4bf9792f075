/* lib/printf.c against the C library's snprintf, which serves as the
 * reference for every conversion, flag, width, precision and length. */
#include <string.h>
#include "lib/printf.h"
#undef snprintf
#undef vsnprintf
#include <stdio.h>
#include "tests/host/check.h"

#define SAME(...)							\
	do {								\
		char a_[256], b_[256];					\
		int na_ = umbra_snprintf(a_, sizeof(a_), __VA_ARGS__);	\
		int nb_ = snprintf(b_, sizeof(b_), __VA_ARGS__);	\
		if (!CHECK(na_ == nb_ && strcmp(a_, b_) == 0) && check_verbose()) \
			printf("  format %s: got '%s' (%d), want '%s' (%d)\n", #__VA_ARGS__, a_, na_, b_, nb_); \
	} while (0)

static const char *const int_formats[] = {
	"%d", "%i", "%5d", "%-5d|", "%05d", "%+d", "% d", "%.3d", "%8.3d", "%-8.3d|", "%+.0d",
	"%.0d", "%u", "%x", "%X", "%#x", "%#X", "%08x", "%#08x", "%-#8x|", "%o", "%#o", "%.0x",
	"%#.0x", "%#5o", "%.5o",
};

static const char *const long_formats[] = {
	"%ld", "%lld", "%lu", "%llx", "%#llx", "%016llx", "%-20lld|", "%+lld", "%.20lld", "%llo",
};

static const char *const str_formats[] = { "%s", "%10s", "%-10s|", "%.2s", "%10.2s", "%-10.3s|", "%.0s" };

static void test_integers(void)
{
	static const int ints[] = { 0, 1, -1, 7, 42, -42, 255, 1000, -99999, 0x7fffffff, (int)0x80000000 };
	static const long long longs[] = { 0, 1, -1, 0x123456789abcdefll, -0x7fffffffffffffffll - 1,
					   0x7fffffffffffffffll, 4096 };

	for (unsigned f = 0; f < sizeof(int_formats) / sizeof(*int_formats); f++)
		for (unsigned i = 0; i < sizeof(ints) / sizeof(*ints); i++) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
#pragma GCC diagnostic ignored "-Wformat"
			SAME(int_formats[f], ints[i]);
		}
	for (unsigned f = 0; f < sizeof(long_formats) / sizeof(*long_formats); f++)
		for (unsigned i = 0; i < sizeof(longs) / sizeof(*longs); i++)
			SAME(long_formats[f], longs[i]);
	SAME("%hhd %hhu %hd %hu", 300, 300, 70000, 70000);
	SAME("%zu %zx %td", (size_t)123456789, (size_t)0xabc, (ptrdiff_t)-5);
	SAME("%*d|%-*d|%.*d", 6, 42, 6, 42, 4, 7);
	SAME("%*d", -6, 42);
}

static void test_strings(void)
{
	static const char *const strs[] = { "", "a", "hello", "hypervisor" };

	for (unsigned f = 0; f < sizeof(str_formats) / sizeof(*str_formats); f++)
		for (unsigned i = 0; i < sizeof(strs) / sizeof(*strs); i++)
			SAME(str_formats[f], strs[i]);
	SAME("%c%c%3c%-3c|", 'a', 'b', 'c', 'd');
	SAME("100%% %s", "done");
	SAME("%p", (void *)0x1234);
	SAME("%.*s", 3, "abcdef");
#pragma GCC diagnostic pop
}

static void test_truncation(void)
{
	char buf[8];
	int n = umbra_snprintf(buf, sizeof(buf), "%s", "0123456789");

	CHECK_EQ(n, 10);
	CHECK(strcmp(buf, "0123456") == 0);
	n = umbra_snprintf(buf, 1, "abc");
	CHECK_EQ(n, 3);
	CHECK_EQ(buf[0], '\0');
	memset(buf, 'x', sizeof(buf));
	n = umbra_snprintf(buf, 0, "abc");
	CHECK_EQ(n, 3);
	CHECK_EQ(buf[0], 'x');	/* size 0: nothing written */
}

static char sink_buf[512];
static size_t sink_len;

static void sink(const char *s, size_t n)
{
	memcpy(sink_buf + sink_len, s, n);
	sink_len += n;
}

static void test_console(void)
{
	console_set_sink(sink);
	log_set_level(LOG_WARN);
	kprintf("a\nb");
	klog(LOG_INFO, "hidden\n");
	klog(LOG_ERROR, "shown %d\n", 1);
	klog(LOG_WARN, "w\n");
	sink_buf[sink_len] = '\0';
	if (!CHECK(strcmp(sink_buf, "a\r\nberror: shown 1\r\nwarning: w\r\n") == 0))
		printf("  console got '%s'\n", sink_buf);
	/* Output longer than the console's chunk buffer arrives whole. */
	sink_len = 0;
	kprintf("%300s", "x");
	CHECK_EQ(sink_len, 300);
	log_set_level(LOG_INFO);
}

int main(void)
{
	test_integers();
	test_strings();
	test_truncation();
	test_console();
	return check_done("printf");
}
