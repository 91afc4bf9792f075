/* An emulated 16550 UART (COM1) for one guest: enough of the register set
 * (SDM-independent; National Semiconductor PC16550D data sheet) for a polled
 * driver, including divisor latch, scratch register, FIFO control and
 * loopback. Transmitted bytes are collected into lines and handed to a sink
 * that prefixes them with the guest's name. No receive data ever arrives
 * except in loopback. Pure logic: host-testable. */
#ifndef UMBRA_VMM_UART_H
#define UMBRA_VMM_UART_H

#include "include/types.h"

#define UART_LINE_MAX	200

typedef void (*uart_line_fn)(void *ctx, const char *line, size_t len);

struct uart {
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
	uint8_t rbr;
	bool rx_ready;
	char line[UART_LINE_MAX];
	size_t line_len;
	uint64_t tx_bytes;
	uart_line_fn sink;
	void *sink_ctx;
};

void uart_init(struct uart *u, uart_line_fn sink, void *ctx);
/* @reg is the port offset 0..7. */
uint8_t uart_read(struct uart *u, unsigned reg);
void uart_write(struct uart *u, unsigned reg, uint8_t val);
/* Hand any partial line to the sink. */
void uart_flush(struct uart *u);

#endif
