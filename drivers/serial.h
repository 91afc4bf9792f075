/* Polled 16550 UART driver (COM1 at 0x3f8 by default). */
#ifndef UMBRA_DRIVERS_SERIAL_H
#define UMBRA_DRIVERS_SERIAL_H

#include "include/types.h"

#define COM1_PORT	0x3f8

void serial_init(uint16_t port);
void serial_putc(char c);
void serial_write(const char *s, size_t n);
/* Wait until every queued byte has left the transmitter (LSR.TEMT). */
void serial_drain(void);

#endif
