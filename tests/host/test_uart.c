/* Host tests of the emulated 16550 (vmm/uart.c). */
#include <stdlib.h>
#include <string.h>
#include "tests/host/check.h"
#include "vmm/uart.h"

static char lines[8][UART_LINE_MAX + 1];
static unsigned nlines;

static void sink(void *ctx, const char *line, size_t len)
{
	(void)ctx;
	if (nlines < 8) {
		memcpy(lines[nlines], line, len);
		lines[nlines][len] = 0;
	}
	nlines++;
}

static void put(struct uart *u, const char *s)
{
	while (*s)
		uart_write(u, 0, (uint8_t)*s++);
}

int main(void)
{
	struct uart u;

	uart_init(&u, sink, NULL);
	/* A driver's init sequence: divisor latch, 8N1, FIFO, MCR. */
	uart_write(&u, 1, 0);
	uart_write(&u, 3, 0x80);
	uart_write(&u, 0, 0x01);
	uart_write(&u, 1, 0x00);
	CHECK_EQ(uart_read(&u, 0), 0x01);
	CHECK_EQ(uart_read(&u, 1), 0x00);
	uart_write(&u, 3, 0x03);
	uart_write(&u, 2, 0xc7);
	uart_write(&u, 4, 0x0b);
	CHECK_EQ(uart_read(&u, 3), 0x03);
	CHECK_EQ(uart_read(&u, 2), 0xc1);
	CHECK_EQ(uart_read(&u, 5) & 0x60, 0x60);	/* THRE, TEMT */
	CHECK_EQ(uart_read(&u, 5) & 1, 0);		/* no data */

	put(&u, "hello\r\nworld");
	CHECK_EQ(nlines, 1);
	CHECK(strcmp(lines[0], "hello") == 0);
	uart_flush(&u);
	CHECK_EQ(nlines, 2);
	CHECK(strcmp(lines[1], "world") == 0);
	uart_flush(&u);
	CHECK_EQ(nlines, 2);

	/* Scratch register. */
	uart_write(&u, 7, 0x5a);
	CHECK_EQ(uart_read(&u, 7), 0x5a);

	/* Loopback: transmitted bytes come back, nothing reaches the sink. */
	uart_write(&u, 4, 0x13);
	uart_write(&u, 0, 0xae);
	CHECK_EQ(uart_read(&u, 5) & 1, 1);
	CHECK_EQ(uart_read(&u, 0), 0xae);
	CHECK_EQ(uart_read(&u, 5) & 1, 0);
	CHECK_EQ(uart_read(&u, 6) & 0xf0, 0x30);	/* DTR->DSR, RTS->CTS */
	CHECK_EQ(nlines, 2);
	uart_write(&u, 4, 0x03);

	/* Long lines are cut at UART_LINE_MAX. */
	for (int i = 0; i < UART_LINE_MAX + 5; i++)
		uart_write(&u, 0, 'a');
	CHECK_EQ(nlines, 3);
	CHECK_EQ(strlen(lines[2]), UART_LINE_MAX);
	CHECK_EQ(u.tx_bytes, 12 + 1 + UART_LINE_MAX + 5);
	return check_done("uart");
}
