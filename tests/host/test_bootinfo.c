/* boot/bootinfo.c against hand-built Multiboot2 info blocks: the layouts GRUB
 * produces under BIOS and UEFI, and malformed or truncated ones, which must
 * give an error and never read out of bounds (ASan watches). */
#include <stdlib.h>
#include <string.h>
#include "boot/bootinfo.h"
#include "tests/host/check.h"

#define MBI_HPA	0x10000ull

struct mbi {
	uint8_t *buf;
	uint32_t len;
};

static void put(struct mbi *m, const void *p, uint32_t n)
{
	m->buf = realloc(m->buf, m->len + n + 8);
	if (n)
		memcpy(m->buf + m->len, p, n);
	m->len += n;
}

static void pad8(struct mbi *m)
{
	static const uint8_t zero[8];
	put(m, zero, (8 - (m->len & 7)) & 7);
}

static void tag(struct mbi *m, uint32_t type, const void *body, uint32_t blen)
{
	uint32_t h[2] = { type, 8 + blen };
	put(m, h, 8);
	put(m, body, blen);
	pad8(m);
}

static void tag_str(struct mbi *m, uint32_t type, const char *s)
{
	tag(m, type, s, (uint32_t)strlen(s) + 1);
}

static void tag_module(struct mbi *m, uint32_t start, uint32_t end, const char *cmd)
{
	uint8_t body[600];
	memcpy(body, &start, 4);
	memcpy(body + 4, &end, 4);
	strcpy((char *)body + 8, cmd);
	tag(m, 3, body, 8 + (uint32_t)strlen(cmd) + 1);
}

struct e820 {
	uint64_t base, len;
	uint32_t type, zero;
};

static void tag_mmap(struct mbi *m, const struct e820 *e, unsigned n, uint32_t esize)
{
	uint8_t body[8 + 64 * 32] = { 0 };
	memcpy(body, &esize, 4);
	for (unsigned i = 0; i < n; i++)
		memcpy(body + 8 + i * esize, &e[i], sizeof(e[i]));
	tag(m, 6, body, 8 + n * esize);
}

static void begin(struct mbi *m)
{
	m->buf = NULL;
	m->len = 0;
	uint32_t h[2] = { 0, 0 };
	put(m, h, 8);
}

static void end(struct mbi *m)
{
	tag(m, 0, NULL, 0);
	memcpy(m->buf, &m->len, 4);
}

static const struct e820 bios_map[] = {
	{ 0, 0x9f000, 1, 0 }, { 0x9f000, 0x1000, 2, 0 }, { 0xe8000, 0x18000, 2, 0 },
	{ 0x100000, 0x1fef0000, 1, 0 }, { 0x1fff0000, 0x10000, 3, 0 },
};

static enum bootinfo_status parse(const struct mbi *m, struct boot_info *bi, char *err)
{
	/* A private copy sized exactly, so ASan flags any read past the end. */
	uint8_t *copy = malloc(m->len);
	memcpy(copy, m->buf, m->len);
	enum bootinfo_status st = bootinfo_parse(MB2_BOOTLOADER_MAGIC, copy, m->len, MBI_HPA, bi,
						 err, 160);
	free(copy);
	return st;
}

static struct boot_info bi;
static char err[160];

static void test_bios_layout(void)
{
	struct mbi m;
	begin(&m);
	tag_str(&m, 1, "log=debug ept=4");
	tag_str(&m, 2, "GRUB 2.06");
	tag_module(&m, 0x200000, 0x201234, "guest.elf mem=32M");
	tag_module(&m, 0x202000, 0x202000, "empty.elf");
	uint32_t meminfo[2] = { 639, 523200 };
	tag(&m, 4, meminfo, 8);
	tag_mmap(&m, bios_map, 5, 24);
	uint8_t rsdp[20] = "RSD PTR ";
	tag(&m, 14, rsdp, 20);
	end(&m);

	CHECK_EQ(parse(&m, &bi, err), BOOTINFO_OK);
	CHECK(strcmp(bi.cmdline, "log=debug ept=4") == 0);
	CHECK(strcmp(bi.loader_name, "GRUB 2.06") == 0);
	CHECK_EQ(bi.module_count, 2);
	CHECK_EQ(bi.modules[0].start, 0x200000);
	CHECK_EQ(bi.modules[0].end, 0x201234);
	CHECK(strcmp(bi.modules[0].cmdline, "guest.elf mem=32M") == 0);
	CHECK(strcmp(bi.modules[1].cmdline, "empty.elf") == 0);
	CHECK_EQ(bi.mmap_count, 5);
	CHECK_EQ(bi.mmap[3].base, 0x100000);
	CHECK_EQ(bi.mmap[3].len, 0x1fef0000);
	CHECK_EQ(bi.mmap[4].type, MEM_ACPI_RECLAIM);
	CHECK_EQ(bi.basic_mem_upper_kib, 523200);
	CHECK(bi.rsdp_v1 > MBI_HPA && bi.rsdp_v1 < MBI_HPA + m.len);
	CHECK_EQ(bi.rsdp_v2, 0);
	CHECK_EQ(bi.efi64_system_table, 0);
	CHECK_EQ(bi.mbi_start, MBI_HPA);
	CHECK_EQ(bi.mbi_end, MBI_HPA + m.len);

	/* Every truncation of this valid block is refused cleanly. */
	for (uint32_t n = 0; n < m.len; n++) {
		uint8_t *copy = malloc(n ? n : 1);
		memcpy(copy, m.buf, n);
		CHECK(bootinfo_parse(MB2_BOOTLOADER_MAGIC, copy, n, MBI_HPA, &bi, err, 160) ==
		      BOOTINFO_MALFORMED);
		free(copy);
	}
	/* Random corruption never crashes (ASan) and never yields garbage counts. */
	srand(1);
	for (int iter = 0; iter < 20000; iter++) {
		uint8_t *copy = malloc(m.len);
		memcpy(copy, m.buf, m.len);
		for (int k = 0; k < 1 + iter % 4; k++)
			copy[8 + rand() % (m.len - 8)] = (uint8_t)rand();
		enum bootinfo_status st =
			bootinfo_parse(MB2_BOOTLOADER_MAGIC, copy, m.len, MBI_HPA, &bi, err, 160);
		CHECK(st != BOOTINFO_OK || (bi.module_count <= BOOT_MAX_MODULES &&
					    bi.mmap_count <= BOOT_MAX_MMAP));
		free(copy);
	}
	free(m.buf);
}

static void test_uefi_layout(void)
{
	struct mbi m;
	begin(&m);
	tag_str(&m, 1, "");
	uint64_t st64 = 0x1f9ec018;
	tag(&m, 12, &st64, 8);
	uint8_t rsdp2[36] = "RSD PTR ";
	tag(&m, 15, rsdp2, 36);
	tag(&m, 17, "\x30\0\0\0\x01\0\0\0", 8);
	/* Adjacent usable ranges coalesce; a larger entry size is honoured. */
	struct e820 map[] = { { 0, 0xa0000, 1, 0 }, { 0x100000, 0x700000, 1, 0 },
			      { 0x800000, 0x8000, 4, 0 }, { 0x808000, 0x3000, 1, 0 },
			      { 0x80b000, 0x1000, 1, 0 }, { 0x80c000, 0, 2, 0 } };
	tag_mmap(&m, map, 6, 32);
	end(&m);

	CHECK_EQ(parse(&m, &bi, err), BOOTINFO_OK);
	CHECK_EQ(bi.efi64_system_table, 0x1f9ec018);
	CHECK(bi.rsdp_v2 != 0);
	CHECK(bi.efi_mmap_present);
	CHECK_EQ(bi.mmap_count, 4);	/* 0x808000 and 0x80b000 merged, empty range dropped */
	CHECK_EQ(bi.mmap[3].base, 0x808000);
	CHECK_EQ(bi.mmap[3].len, 0x4000);
	CHECK_EQ(bi.cmdline[0], '\0');
	CHECK_EQ(bi.module_count, 0);
	free(m.buf);
}

/* Build a block with one defect and expect @want. */
static void expect(enum bootinfo_status want, void (*build)(struct mbi *), const char *what)
{
	struct mbi m;
	begin(&m);
	build(&m);
	enum bootinfo_status got = parse(&m, &bi, err);
	if (!CHECK_EQ(got, want) && check_verbose())
		printf("  case '%s': message '%s'\n", what, err);
	CHECK(want == BOOTINFO_OK || err[0] != '\0');
	free(m.buf);
}

static void b_no_end(struct mbi *m) { tag_mmap(m, bios_map, 5, 24); memcpy(m->buf, &m->len, 4); }
static void b_no_mmap(struct mbi *m) { tag_str(m, 1, "x"); end(m); }
static void b_small_tag(struct mbi *m)
{
	tag_mmap(m, bios_map, 5, 24);
	uint32_t h[2] = { 1, 4 };
	put(m, h, 8);
	end(m);
}
static void b_tag_overruns(struct mbi *m)
{
	tag_mmap(m, bios_map, 5, 24);
	uint32_t h[2] = { 1, 4096 };
	put(m, h, 8);
	end(m);
}
static void b_unterminated(struct mbi *m) { tag(m, 1, "abc", 3); tag_mmap(m, bios_map, 5, 24); end(m); }
static void b_esize0(struct mbi *m) { tag_mmap(m, bios_map, 0, 0); end(m); }
static void b_esize20(struct mbi *m) { tag_mmap(m, bios_map, 5, 20); end(m); }
static void b_wrap(struct mbi *m)
{
	struct e820 e = { 0xfffffffffffff000ull, 0x2000, 1, 0 };
	tag_mmap(m, &e, 1, 24);
	end(m);
}
static void b_mod_backwards(struct mbi *m) { tag_mmap(m, bios_map, 5, 24); tag_module(m, 0x300000, 0x200000, "m"); end(m); }
static void b_mod_short(struct mbi *m) { tag_mmap(m, bios_map, 5, 24); tag(m, 3, "\0\0\0\0", 4); end(m); }
static void b_too_many_mods(struct mbi *m)
{
	tag_mmap(m, bios_map, 5, 24);
	for (int i = 0; i <= BOOT_MAX_MODULES; i++)
		tag_module(m, 0x200000, 0x201000, "m");
	end(m);
}
static void b_long_cmdline(struct mbi *m)
{
	char s[BOOT_CMDLINE_MAX + 10];
	memset(s, 'a', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	tag_str(m, 1, s);
	tag_mmap(m, bios_map, 5, 24);
	end(m);
}
static void b_end_size(struct mbi *m)
{
	tag_mmap(m, bios_map, 5, 24);
	uint32_t h[4] = { 0, 16, 0, 0 };
	put(m, h, 16);
	memcpy(m->buf, &m->len, 4);
}
static void b_unknown_tags(struct mbi *m)
{
	tag(m, 99, "whatever", 8);
	tag(m, 8, "\1\2\3\4\5\6\7\x8\x9\xa\xb\xc\xd\xe\xf\x10", 16);
	tag_mmap(m, bios_map, 5, 24);
	end(m);
}

static void test_malformed(void)
{
	expect(BOOTINFO_MALFORMED, b_no_end, "no end tag");
	expect(BOOTINFO_NO_MMAP, b_no_mmap, "no memory map");
	expect(BOOTINFO_MALFORMED, b_small_tag, "tag size below 8");
	expect(BOOTINFO_MALFORMED, b_tag_overruns, "tag runs past total size");
	expect(BOOTINFO_MALFORMED, b_unterminated, "unterminated command line");
	expect(BOOTINFO_MALFORMED, b_esize0, "mmap entry size 0");
	expect(BOOTINFO_MALFORMED, b_esize20, "mmap entry size 20");
	expect(BOOTINFO_MALFORMED, b_wrap, "range wraps");
	expect(BOOTINFO_MALFORMED, b_mod_backwards, "module end before start");
	expect(BOOTINFO_MALFORMED, b_mod_short, "module tag too short");
	expect(BOOTINFO_TOO_MANY, b_too_many_mods, "too many modules");
	expect(BOOTINFO_MALFORMED, b_long_cmdline, "command line too long");
	expect(BOOTINFO_MALFORMED, b_end_size, "end tag of size 16");
	expect(BOOTINFO_OK, b_unknown_tags, "unknown tags are skipped");

	uint32_t hdr[4] = { 16, 0, 0, 8 };
	CHECK_EQ(bootinfo_parse(0x2badb002, hdr, 16, MBI_HPA, &bi, err, 160), BOOTINFO_BAD_MAGIC);
	CHECK(strstr(err, "0x2badb002") != NULL);
	CHECK_EQ(bootinfo_parse(MB2_BOOTLOADER_MAGIC, hdr, 16, MBI_HPA + 4, &bi, err, 160),
		 BOOTINFO_MALFORMED);	/* misaligned */
	CHECK_EQ(bootinfo_parse(MB2_BOOTLOADER_MAGIC, hdr, 16, MBI_HPA, &bi, err, 160),
		 BOOTINFO_NO_MMAP);
	hdr[0] = 8;
	CHECK_EQ(bootinfo_parse(MB2_BOOTLOADER_MAGIC, hdr, 16, MBI_HPA, &bi, err, 160),
		 BOOTINFO_MALFORMED);	/* total size below header + end tag */
	hdr[0] = MB2_INFO_MAX + 8;
	CHECK_EQ(bootinfo_parse(MB2_BOOTLOADER_MAGIC, hdr, 16, MBI_HPA, &bi, err, 160),
		 BOOTINFO_MALFORMED);	/* total size beyond what may be read */
}

int main(void)
{
	test_bios_layout();
	test_uefi_layout();
	test_malformed();
	return check_done("bootinfo");
}
