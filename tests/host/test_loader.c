/* Host tests of the Multiboot v1 guest loader (vmm/loader.c) on ELF32,
 * ELF64 and a.out-kludge images built in memory, and on broken ones. */
#include <stdlib.h>
#include <string.h>
#include "tests/host/check.h"
#include "vmm/loader.h"

#define GMEM (4u << 20)
static uint8_t gmem[GMEM];
static uint8_t img[0x4000];
static char err[200];

static void p16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void p32(uint8_t *p, uint32_t v) { p16(p, (uint16_t)v); p16(p + 2, (uint16_t)(v >> 16)); }
static void p64(uint8_t *p, uint64_t v) { p32(p, (uint32_t)v); p32(p + 4, (uint32_t)(v >> 32)); }

static void mb_header(size_t off, uint32_t flags)
{
	p32(img + off, MB1_HEADER_MAGIC);
	p32(img + off + 4, flags);
	p32(img + off + 8, (uint32_t)-(MB1_HEADER_MAGIC + flags));
}

/* ELF32: one PT_LOAD of 0x100 file bytes at paddr 0x100000, memsz 0x2000,
 * file offset 0x1000, entry 0x100010 (vaddr == paddr unless @vaddr). */
static size_t elf32(uint32_t vaddr)
{
	memset(img, 0, sizeof(img));
	memcpy(img, "\x7f" "ELF", 4);
	img[4] = 1;
	img[5] = 1;
	p16(img + 16, 2);
	p16(img + 18, 3);
	p32(img + 24, vaddr + 0x10);
	p32(img + 28, 52);
	p16(img + 42, 32);
	p16(img + 44, 1);
	uint8_t *ph = img + 52;
	p32(ph, 1);
	p32(ph + 4, 0x1000);
	p32(ph + 8, vaddr);
	p32(ph + 12, 0x100000);
	p32(ph + 16, 0x100);
	p32(ph + 20, 0x2000);
	mb_header(0x1000, 3);
	for (int i = 12; i < 0x100; i++)
		img[0x1000 + i] = (uint8_t)i;
	return 0x1100;
}

static size_t elf64(void)
{
	memset(img, 0, sizeof(img));
	memcpy(img, "\x7f" "ELF", 4);
	img[4] = 2;
	img[5] = 1;
	p16(img + 16, 2);
	p16(img + 18, 62);
	p64(img + 24, 0x200020);
	p64(img + 32, 64);
	p16(img + 54, 56);
	p16(img + 56, 1);
	uint8_t *ph = img + 64;
	p32(ph, 1);
	p64(ph + 8, 0x1000);
	p64(ph + 16, 0x200000);
	p64(ph + 24, 0x200000);
	p64(ph + 32, 0x80);
	p64(ph + 40, 0x80);
	mb_header(0x1000, 2);
	return 0x1080;
}

static void test_elf(void)
{
	struct load_result r;
	size_t n = elf32(0x100000);

	memset(gmem, 0xcc, sizeof(gmem));
	CHECK_EQ(loader_load(img, n, gmem, GMEM, &r, err, sizeof(err)), LOAD_OK);
	CHECK_EQ(r.entry, 0x100010);
	CHECK_EQ(r.image_lo, 0x100000);
	CHECK_EQ(r.image_hi, 0x102000);
	CHECK(!r.elf64);
	CHECK_EQ(gmem[0x100000], 0x02);		/* the header's magic bytes */
	CHECK_EQ(gmem[0x100020], 0x20);
	CHECK_EQ(gmem[0x100100], 0);		/* bss zeroed */
	CHECK_EQ(gmem[0x101fff], 0);
	CHECK_EQ(gmem[0x102000], 0xcc);

	/* Linked high, loaded low: the entry is translated. */
	n = elf32(0xc0100000u);
	CHECK_EQ(loader_load(img, n, gmem, GMEM, &r, err, sizeof(err)), LOAD_OK);
	CHECK_EQ(r.entry, 0x100010);

	n = elf64();
	CHECK_EQ(loader_load(img, n, gmem, GMEM, &r, err, sizeof(err)), LOAD_OK);
	CHECK(r.elf64);
	CHECK_EQ(r.entry, 0x200020);
}

static void test_aout(void)
{
	struct load_result r;

	memset(img, 0, sizeof(img));
	/* Header at file offset 0x40, linked at 0x100040; load 0x100000-0x100200,
	 * bss to 0x101000, entry 0x100080. */
	mb_header(0x40, MB1_FLAG_AOUT_KLUDGE | 2);
	p32(img + 0x4c, 0x100040);
	p32(img + 0x50, 0x100000);
	p32(img + 0x54, 0x100200);
	p32(img + 0x58, 0x101000);
	p32(img + 0x5c, 0x100080);
	img[0x1ff] = 0x77;
	memset(gmem, 0xcc, sizeof(gmem));
	CHECK_EQ(loader_load(img, 0x400, gmem, GMEM, &r, err, sizeof(err)), LOAD_OK);
	CHECK(r.aout_kludge);
	CHECK_EQ(r.entry, 0x100080);
	CHECK_EQ(gmem[0x1001ff], 0x77);
	CHECK_EQ(gmem[0x100200], 0);
	CHECK_EQ(gmem[0x100fff], 0);
	CHECK_EQ(gmem[0x101000], 0xcc);

	/* Entry outside the image. */
	p32(img + 0x5c, 0x200000);
	mb_header(0x40, MB1_FLAG_AOUT_KLUDGE | 2);
	CHECK_EQ(loader_load(img, 0x400, gmem, GMEM, &r, err, sizeof(err)), LOAD_BAD_ENTRY);
}

static void test_broken(void)
{
	struct load_result r;
	size_t n;

	memset(img, 'x', sizeof(img));
	CHECK_EQ(loader_load(img, sizeof(img), gmem, GMEM, &r, err, sizeof(err)), LOAD_NO_HEADER);
	CHECK(strstr(err, "no Multiboot header") != NULL);
	CHECK_EQ(loader_load(img, 3, gmem, GMEM, &r, err, sizeof(err)), LOAD_NO_HEADER);

	n = elf32(0x100000);
	p32(img + 0x1008, 0);				/* bad checksum */
	CHECK_EQ(loader_load(img, n, gmem, GMEM, &r, err, sizeof(err)), LOAD_BAD_HEADER);
	CHECK(strstr(err, "checksum") != NULL);

	n = elf32(0x100000);
	mb_header(0x1000, 3 | (1u << 5));		/* unknown required flag */
	CHECK_EQ(loader_load(img, n, gmem, GMEM, &r, err, sizeof(err)), LOAD_BAD_HEADER);

	n = elf32(0x100000);
	p32(img + 52 + 12, GMEM - 0x1000);		/* segment past the end of RAM */
	CHECK_EQ(loader_load(img, n, gmem, GMEM, &r, err, sizeof(err)), LOAD_TOO_BIG);

	n = elf32(0x100000);
	p32(img + 52 + 12, LOADER_MBI);			/* on the loader area */
	CHECK_EQ(loader_load(img, n, gmem, GMEM, &r, err, sizeof(err)), LOAD_TOO_BIG);

	n = elf32(0x100000);
	p32(img + 52 + 16, 0x100000);			/* file range beyond the image */
	CHECK_EQ(loader_load(img, n, gmem, GMEM, &r, err, sizeof(err)), LOAD_BAD_ELF);

	n = elf32(0x100000);
	p16(img + 18, 40);				/* ARM */
	CHECK_EQ(loader_load(img, n, gmem, GMEM, &r, err, sizeof(err)), LOAD_BAD_ELF);

	n = elf32(0x100000);
	p32(img + 24, 0x500000);			/* entry outside */
	CHECK_EQ(loader_load(img, n, gmem, GMEM, &r, err, sizeof(err)), LOAD_BAD_ENTRY);

	n = elf32(0x100000);
	p16(img + 44, 1000);				/* phnum beyond file */
	CHECK_EQ(loader_load(img, n, gmem, GMEM, &r, err, sizeof(err)), LOAD_BAD_ELF);
}

static uint32_t g32(uint32_t a) { uint32_t v; memcpy(&v, gmem + a, 4); return v; }

static void test_mbi(void)
{
	uint32_t mbi = loader_write_mbi(gmem, GMEM, "guest.elf a=b");

	CHECK_EQ(mbi, LOADER_MBI);
	CHECK_EQ(g32(mbi) & (MB1_INFO_MEM | MB1_INFO_CMDLINE | MB1_INFO_MMAP), 0x45);
	CHECK_EQ(g32(mbi + 4), 639);
	CHECK_EQ(g32(mbi + 8), (GMEM - 0x100000) / 1024);
	CHECK(strcmp((char *)gmem + g32(mbi + 16), "guest.elf a=b") == 0);
	CHECK_EQ(g32(mbi + 44), 72);
	uint32_t mm = g32(mbi + 48);
	CHECK_EQ(g32(mm), 20);
	CHECK_EQ(g32(mm + 24 + 20), 2);		/* the legacy hole is reserved */
	CHECK_EQ(g32(mm + 48 + 4), 0x100000);
	CHECK_EQ(g32(mm + 48 + 12), GMEM - 0x100000);
	CHECK_EQ(g32(LOADER_GDT + 8 + 4), 0x00cf9b00);
}

int main(void)
{
	test_elf();
	test_aout();
	test_broken();
	test_mbi();
	return check_done("loader");
}
