/* SPDX-License-Identifier: MIT */
/*
 * 16550A UART (COM1_PORT, 8 registers), a pure register model.
 *
 * Threads: vCPU threads call serial8250_io_read/io_write, the event-loop
 * thread calls serial8250_receive; the device serialises both with its own
 * mutex.  Callbacks and the lock:
 *  - irq->chip->set_level is called WITH the device lock held, so level
 *    changes reach the interrupt controller in the order the state changed;
 *    it must not call back into this device (KVM_IRQ_LINE does not).
 *  - tx is called WITHOUT the device lock but under a separate transmit lock
 *    that keeps guest output in THR-write order across vCPUs; it must not
 *    call serial8250_io_write on the same device.
 *  - rx_ready is called without any device lock (it may call
 *    serial8250_receive).
 */
#ifndef MINIVMM_SERIAL8250_H
#define MINIVMM_SERIAL8250_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/irq.h"
#include "vmm/log.h"

/* Host input bytes the UART buffers behind its 16-byte FIFO. */
#define SERIAL8250_RX_QUEUE_SIZE 1024

struct serial8250;

/* Guest output bytes. */
typedef void (*serial_tx_fn)(void *opaque, const uint8_t *buf, size_t len);
/* The RX buffer has room again; called without the device lock. */
typedef void (*serial_rx_ready_fn)(void *opaque);

/* irq is copied; tx and rx_ready may be NULL. Returns 0, -EINVAL or -ENOMEM. */
int serial8250_create(struct serial8250 **out, const struct irq_line *irq, serial_tx_fn tx,
		      serial_rx_ready_fn rx_ready, void *cb_opaque, const struct logger *log);
void serial8250_destroy(struct serial8250 *uart);

void serial8250_io_read(void *opaque, uint64_t offset, void *data, uint32_t len);
void serial8250_io_write(void *opaque, uint64_t offset, const void *data, uint32_t len);

/*
 * Host input (event-loop thread): queues up to len bytes and returns how many
 * it accepted (0 when full).  After a short count, rx_ready fires once the
 * guest has drained the queue below half.
 */
size_t serial8250_receive(struct serial8250 *uart, const uint8_t *buf, size_t len);

#endif
