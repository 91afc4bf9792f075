/* Polled 16550 UART. */
#include "arch/x86/cpu.h"
#include "drivers/serial.h"

enum { UART_THR = 0, UART_IER = 1, UART_DLL = 0, UART_DLM = 1, UART_FCR = 2, UART_LCR = 3,
       UART_MCR = 4, UART_LSR = 5 };
#define LSR_THRE	0x20	/* transmit holding register empty */
#define LSR_TEMT	0x40	/* transmitter completely empty */

static uint16_t serial_port;

void serial_init(uint16_t port)
{
	serial_port = port;
	outb(port + UART_IER, 0);
	outb(port + UART_LCR, 0x80);	/* DLAB */
	outb(port + UART_DLL, 1);	/* 115200 baud */
	outb(port + UART_DLM, 0);
	outb(port + UART_LCR, 0x03);	/* 8N1 */
	outb(port + UART_FCR, 0xc7);	/* FIFO enabled and cleared */
	outb(port + UART_MCR, 0x03);	/* DTR, RTS */
}

void serial_putc(char c)
{
	if (!serial_port)
		return;
	/* Bounded wait: a missing UART (all-ones LSR is "ready") never hangs us. */
	for (unsigned spin = 0; spin < 1000000 && !(inb(serial_port + UART_LSR) & LSR_THRE); spin++)
		cpu_relax();
	outb(serial_port + UART_THR, (uint8_t)c);
}

void serial_write(const char *s, size_t n)
{
	while (n--)
		serial_putc(*s++);
}

void serial_drain(void)
{
	if (!serial_port)
		return;
	for (unsigned spin = 0; spin < 10000000 && !(inb(serial_port + UART_LSR) & LSR_TEMT); spin++)
		cpu_relax();
}
