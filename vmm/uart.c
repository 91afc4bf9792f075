/* Emulated 16550 UART. Register map (offset, DLAB): 0/0 RBR/THR, 0/1 DLL,
 * 1/0 IER, 1/1 DLM, 2 IIR (read) / FCR (write), 3 LCR, 4 MCR, 5 LSR,
 * 6 MSR, 7 SCR. */
#include "vmm/uart.h"
#include "lib/string.h"

#define LCR_DLAB	0x80
#define MCR_LOOP	0x10
#define LSR_DR		0x01
#define LSR_THRE	0x20
#define LSR_TEMT	0x40

void uart_init(struct uart *u, uart_line_fn sink, void *ctx)
{
	memset(u, 0, sizeof(*u));
	u->lcr = 0x03;
	u->sink = sink;
	u->sink_ctx = ctx;
}

void uart_flush(struct uart *u)
{
	if (u->line_len) {
		u->sink(u->sink_ctx, u->line, u->line_len);
		u->line_len = 0;
	}
}

static void uart_tx(struct uart *u, uint8_t c)
{
	u->tx_bytes++;
	if (u->mcr & MCR_LOOP) {
		u->rbr = c;
		u->rx_ready = true;
		return;
	}
	if (c == '\n') {
		u->sink(u->sink_ctx, u->line, u->line_len);
		u->line_len = 0;
		return;
	}
	if (c == '\r')
		return;
	u->line[u->line_len++] = (char)c;
	if (u->line_len == UART_LINE_MAX)
		uart_flush(u);
}

uint8_t uart_read(struct uart *u, unsigned reg)
{
	switch (reg & 7) {
	case 0:
		if (u->lcr & LCR_DLAB)
			return u->dll;
		u->rx_ready = false;
		return u->rbr;
	case 1:
		return (u->lcr & LCR_DLAB) ? u->dlm : u->ier;
	case 2:
		/* No interrupt pending; FIFO-enabled bits mirror FCR bit 0. */
		return (uint8_t)(0x01 | ((u->fcr & 1) ? 0xc0 : 0));
	case 3:
		return u->lcr;
	case 4:
		return u->mcr;
	case 5:
		return (uint8_t)(LSR_THRE | LSR_TEMT | (u->rx_ready ? LSR_DR : 0));
	case 6:
		if (u->mcr & MCR_LOOP)	/* DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD */
			return (uint8_t)(((u->mcr & 0x01) << 5) | ((u->mcr & 0x02) << 3) |
					 ((u->mcr & 0x04) << 4) | ((u->mcr & 0x08) << 4));
		return 0xb0;	/* DCD, DSR, CTS */
	default:
		return u->scr;
	}
}

void uart_write(struct uart *u, unsigned reg, uint8_t val)
{
	switch (reg & 7) {
	case 0:
		if (u->lcr & LCR_DLAB)
			u->dll = val;
		else
			uart_tx(u, val);
		break;
	case 1:
		if (u->lcr & LCR_DLAB)
			u->dlm = val;
		else
			u->ier = val & 0x0f;
		break;
	case 2:
		u->fcr = val & 0xc9;
		break;
	case 3:
		u->lcr = val;
		break;
	case 4:
		u->mcr = val & 0x1f;
		break;
	case 7:
		u->scr = val;
		break;
	default:	/* LSR and MSR are read-only */
		break;
	}
}
