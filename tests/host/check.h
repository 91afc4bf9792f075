/* A tiny header-only test framework for host tests.
 *
 *   CHECK(cond)        count a pass, or report file:line and the expression
 *   CHECK_EQ(a, b)     same, printing both values as 0x%llx on failure
 *   check_done(suite)  print "<suite>: N passed, N failed" as the last line;
 *                      returns non-zero if anything failed (return it from main)
 *
 * Both checks return whether they passed, so a test can print context:
 *   if (!CHECK_EQ(got, want) && check_verbose()) printf("  mode ...\n");
 * Only the first CHECK_MAX_REPORTS failures are printed, so millions of
 * checks keep the output short. */
#ifndef UMBRA_TESTS_CHECK_H
#define UMBRA_TESTS_CHECK_H

#include <stdbool.h>
#include <stdio.h>

#define CHECK_MAX_REPORTS	20

static unsigned long long check_passed __attribute__((unused));
static unsigned long long check_failed __attribute__((unused));

/* True while failure reports are still being printed (for extra context). */
static inline __attribute__((unused)) bool check_verbose(void)
{
	return check_failed <= CHECK_MAX_REPORTS;
}

static inline __attribute__((unused)) bool check_true(bool ok, const char *file, int line,
						      const char *expr)
{
	if (ok) {
		check_passed++;
		return true;
	}
	check_failed++;
	if (check_failed <= CHECK_MAX_REPORTS)
		printf("%s:%d: CHECK failed: %s\n", file, line, expr);
	else if (check_failed == CHECK_MAX_REPORTS + 1)
		printf("(further failures not shown)\n");
	return false;
}

static inline __attribute__((unused)) bool check_eq(unsigned long long a, unsigned long long b,
						    const char *file, int line, const char *ea,
						    const char *eb)
{
	if (a == b) {
		check_passed++;
		return true;
	}
	check_failed++;
	if (check_failed <= CHECK_MAX_REPORTS)
		printf("%s:%d: CHECK_EQ failed: %s == 0x%llx, %s == 0x%llx\n", file, line, ea, a, eb, b);
	else if (check_failed == CHECK_MAX_REPORTS + 1)
		printf("(further failures not shown)\n");
	return false;
}

#define CHECK(cond)	check_true(!!(cond), __FILE__, __LINE__, #cond)
#define CHECK_EQ(a, b)	check_eq((unsigned long long)(a), (unsigned long long)(b), \
				 __FILE__, __LINE__, #a, #b)

static inline __attribute__((unused)) int check_done(const char *suite)
{
	printf("%s: %llu passed, %llu failed\n", suite, check_passed, check_failed);
	fflush(stdout);
	return check_failed != 0;
}

#endif
