/* SPDX-License-Identifier: MIT */
/*
 * 16550A UART register model.
 *
 * References: the TI/National PC16550D datasheet (register map, interrupt
 * priorities in table "Interrupt Control Functions") and Linux's probe in
 * drivers/tty/serial/8250/8250_port.c (autoconfig(), serial8250_do_startup()),
 * which this model must pass to be detected as a 16550A:
 *  - IER keeps only bits 0-3 (the "IER test");
 *  - MCR loopback maps OUT2/OUT1/RTS/DTR onto DCD/RI/CTS/DSR (the "LOOP test"
 *    expects MSR & 0xf0 == 0x90 after MCR = LOOP | OUT2 | RTS);
 *  - IIR bits 6-7 set once FCR enables the FIFOs, bit 5 clear (not a 16750);
 *  - THRE re-asserts when IER.ETBEI goes 0 -> 1 while THR is empty, else
 *    Linux marks the port UART_BUG_THRE and polls it with a timer.
 *
 * Transmission is instant: THR and the shift register are always empty, so
 * LSR.THRE and LSR.TEMT always read 1.  Host input goes to a queue of
 * SERIAL8250_RX_QUEUE_SIZE bytes; the guest sees it as one long FIFO and
 * flow control happens at the host side (serial8250_receive short counts and
 * rx_ready).  There is no baud-rate timing, so the character-timeout
 * interrupt is never reported: received data always shows as "RX data
 * available", which Linux handles identically.
 */
#include "devices/serial8250.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Register offsets (DLAB = LCR bit 7 switches 0 and 1 to the divisor latch). */
enum {
	UART_RBR_THR_DLL = 0,
	UART_IER_DLM = 1,
	UART_IIR_FCR = 2,
	UART_LCR = 3,
	UART_MCR = 4,
	UART_LSR = 5,
	UART_MSR = 6,
	UART_SCR = 7,
	UART_NREGS = 8,
};

#define IER_ERBFI 0x01 /* received data available */
#define IER_ETBEI 0x02 /* THR empty */
#define IER_ELSI  0x04 /* receiver line status */
#define IER_EDSSI 0x08 /* modem status */
#define IER_MASK  0x0f

#define IIR_NO_INT    0x01
#define IIR_ID_MSR    0x00
#define IIR_ID_THRE   0x02
#define IIR_ID_RDA    0x04
#define IIR_ID_RLS    0x06
#define IIR_FIFO_BITS 0xc0

#define FCR_ENABLE     0x01
#define FCR_CLEAR_RX   0x02
#define FCR_CLEAR_TX   0x04
#define FCR_TRIG_SHIFT 6

#define LCR_DLAB 0x80

#define MCR_DTR	 0x01
#define MCR_RTS	 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1f

#define LSR_DR	   0x01
#define LSR_OE	   0x02
#define LSR_PE	   0x04
#define LSR_FE	   0x08
#define LSR_BI	   0x10
#define LSR_THRE   0x20
#define LSR_TEMT   0x40
#define LSR_ERRORS (LSR_OE | LSR_PE | LSR_FE | LSR_BI)

#define MSR_DCTS   0x01
#define MSR_DDSR   0x02
#define MSR_TERI   0x04
#define MSR_DDCD   0x08
#define MSR_CTS	   0x10
#define MSR_DSR	   0x20
#define MSR_RI	   0x40
#define MSR_DCD	   0x80
#define MSR_DELTAS 0x0f
#define MSR_LINES  0xf0

/* Depth of the 16550A's receive FIFO: what an FCR "clear RX" throws away. */
#define UART_FIFO_DEPTH 16

/* Modem inputs when not in loopback: a host "cable" that is always ready. */
#define MSR_LINES_CONNECTED (MSR_DCD | MSR_DSR | MSR_CTS)

struct serial8250 {
	/* Guards everything below; taken after tx_lock. */
	pthread_mutex_t lock;
	/* Serialises tx() calls so output keeps THR-write order across vCPUs. */
	pthread_mutex_t tx_lock;

	struct irq_line irq;
	serial_tx_fn tx;
	serial_rx_ready_fn rx_ready;
	void *cb_opaque;
	const struct logger *log;
	struct ratelimit rl;

	uint8_t ier;
	uint8_t lcr;
	uint8_t mcr;
	uint8_t lsr_errors; /* sticky LSR error bits, cleared by reading LSR */
	uint8_t msr;	    /* lines in bits 4-7, deltas in bits 0-3 */
	uint8_t scr;
	uint8_t dll;
	uint8_t dlm;
	uint8_t fcr_trigger;
	bool fifo_enabled;
	bool thre_pending;
	int irq_level;

	uint8_t rxq[SERIAL8250_RX_QUEUE_SIZE];
	size_t rx_head;
	size_t rx_count;
	bool rx_blocked; /* receive() turned bytes away: rx_ready is owed */
};

static uint8_t msr_lines_for(uint8_t mcr)
{
	uint8_t lines = 0;

	if (!(mcr & MCR_LOOP))
		return MSR_LINES_CONNECTED;
	/* Loopback wiring, PC16550D "Modem Control Register" bit 4. */
	if (mcr & MCR_RTS)
		lines |= MSR_CTS;
	if (mcr & MCR_DTR)
		lines |= MSR_DSR;
	if (mcr & MCR_OUT1)
		lines |= MSR_RI;
	if (mcr & MCR_OUT2)
		lines |= MSR_DCD;
	return lines;
}

/* Interrupt identification, highest priority first (RLS > RDA > THRE > MSR). */
static uint8_t iir_id_locked(const struct serial8250 *uart)
{
	if ((uart->ier & IER_ELSI) && (uart->lsr_errors & LSR_ERRORS))
		return IIR_ID_RLS;
	if ((uart->ier & IER_ERBFI) && uart->rx_count)
		return IIR_ID_RDA;
	if ((uart->ier & IER_ETBEI) && uart->thre_pending)
		return IIR_ID_THRE;
	if ((uart->ier & IER_EDSSI) && (uart->msr & MSR_DELTAS))
		return IIR_ID_MSR;
	return IIR_NO_INT;
}

/* Called with the lock held so that level changes reach the chip in order. */
static void update_irq_locked(struct serial8250 *uart)
{
	int level = iir_id_locked(uart) != IIR_NO_INT;

	if (level != uart->irq_level) {
		uart->irq_level = level;
		irq_line_set(&uart->irq, level);
	}
}

/* Returns true when rx_ready is now owed (the caller calls it unlocked). */
static bool rx_drop_locked(struct serial8250 *uart, size_t n)
{
	if (n > uart->rx_count)
		n = uart->rx_count;
	uart->rx_head = (uart->rx_head + n) % SERIAL8250_RX_QUEUE_SIZE;
	uart->rx_count -= n;
	if (uart->rx_blocked && uart->rx_count < SERIAL8250_RX_QUEUE_SIZE / 2) {
		uart->rx_blocked = false;
		return true;
	}
	return false;
}

static size_t rx_push_locked(struct serial8250 *uart, const uint8_t *buf, size_t len)
{
	size_t room = SERIAL8250_RX_QUEUE_SIZE - uart->rx_count;
	size_t n = len < room ? len : room;

	for (size_t i = 0; i < n; i++) {
		size_t tail = (uart->rx_head + uart->rx_count + i) % SERIAL8250_RX_QUEUE_SIZE;
		uart->rxq[tail] = buf[i];
	}
	uart->rx_count += n;
	return n;
}

static void set_mcr_locked(struct serial8250 *uart, uint8_t mcr)
{
	uint8_t old = uart->msr & MSR_LINES;
	uint8_t new = msr_lines_for(mcr);
	uint8_t changed = old ^ new;
	uint8_t deltas = 0;

	uart->mcr = mcr;
	if (changed & MSR_CTS)
		deltas |= MSR_DCTS;
	if (changed & MSR_DSR)
		deltas |= MSR_DDSR;
	if ((old & MSR_RI) && !(new &MSR_RI)) /* trailing edge only */
		deltas |= MSR_TERI;
	if (changed & MSR_DCD)
		deltas |= MSR_DDCD;
	uart->msr = (uint8_t)(new | (uart->msr & MSR_DELTAS) | deltas);
}

int serial8250_create(struct serial8250 **out, const struct irq_line *irq, serial_tx_fn tx,
		      serial_rx_ready_fn rx_ready, void *cb_opaque, const struct logger *log)
{
	struct serial8250 *uart;
	int ret;

	if (!out || !irq)
		return -EINVAL;
	uart = calloc(1, sizeof(*uart));
	if (!uart)
		return -ENOMEM;
	ret = pthread_mutex_init(&uart->lock, NULL);
	if (ret) {
		free(uart);
		return -ret;
	}
	ret = pthread_mutex_init(&uart->tx_lock, NULL);
	if (ret) {
		pthread_mutex_destroy(&uart->lock);
		free(uart);
		return -ret;
	}
	uart->irq = *irq;
	uart->tx = tx;
	uart->rx_ready = rx_ready;
	uart->cb_opaque = cb_opaque;
	uart->log = log;
	uart->rl = (struct ratelimit)RATELIMIT_INIT;
	uart->dll = 1; /* 115200 baud until the guest programs it */
	uart->msr = msr_lines_for(0);
	*out = uart;
	return 0;
}

void serial8250_destroy(struct serial8250 *uart)
{
	if (!uart)
		return;
	pthread_mutex_destroy(&uart->tx_lock);
	pthread_mutex_destroy(&uart->lock);
	free(uart);
}

static uint8_t read_reg_locked(struct serial8250 *uart, uint64_t offset, bool *rx_ready_owed)
{
	bool dlab = uart->lcr & LCR_DLAB;
	uint8_t val = 0, id;

	switch (offset) {
	case UART_RBR_THR_DLL:
		if (dlab)
			return uart->dll;
		if (uart->rx_count) {
			val = uart->rxq[uart->rx_head];
			*rx_ready_owed = rx_drop_locked(uart, 1);
		}
		return val;
	case UART_IER_DLM:
		return dlab ? uart->dlm : uart->ier;
	case UART_IIR_FCR:
		id = iir_id_locked(uart);
		/* Reading IIR acknowledges THRE only when THRE is what it reports. */
		if (id == IIR_ID_THRE)
			uart->thre_pending = false;
		return (uint8_t)(id | (uart->fifo_enabled ? IIR_FIFO_BITS : 0));
	case UART_LCR:
		return uart->lcr;
	case UART_MCR:
		return uart->mcr;
	case UART_LSR:
		val = (uint8_t)(LSR_THRE | LSR_TEMT | uart->lsr_errors |
				(uart->rx_count ? LSR_DR : 0));
		uart->lsr_errors = 0;
		return val;
	case UART_MSR:
		val = uart->msr;
		uart->msr &= MSR_LINES;
		return val;
	case UART_SCR:
		return uart->scr;
	}
	return 0xff;
}

void serial8250_io_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct serial8250 *uart = opaque;
	bool rx_ready_owed = false;

	pthread_mutex_lock(&uart->lock);
	if (len != 1 || offset >= UART_NREGS) {
		log_guest_error(uart->log, &uart->rl,
				"serial: %u-byte read at offset %llu (only 1-byte accesses)", len,
				(unsigned long long)offset);
		pthread_mutex_unlock(&uart->lock);
		memset(data, 0xff, len);
		return;
	}
	*(uint8_t *)data = read_reg_locked(uart, offset, &rx_ready_owed);
	update_irq_locked(uart);
	pthread_mutex_unlock(&uart->lock);

	if (rx_ready_owed && uart->rx_ready)
		uart->rx_ready(uart->cb_opaque);
}

static void write_fcr_locked(struct serial8250 *uart, uint8_t val, bool *rx_ready_owed)
{
	bool enable = val & FCR_ENABLE;
	bool clear_rx = false;

	/* Changing FCR0 clears both FIFOs (PC16550D, "FIFO Control Register"). */
	if (enable != uart->fifo_enabled)
		clear_rx = true;
	uart->fifo_enabled = enable;
	/* The other bits are only programmed together with FCR0 = 1. */
	if (enable) {
		if (val & FCR_CLEAR_RX)
			clear_rx = true;
		uart->fcr_trigger = (uint8_t)(val >> FCR_TRIG_SHIFT);
	}
	/*
	 * Only the 16 bytes that would be in the hardware FIFO are lost; the
	 * rest of the host queue has not "arrived on the wire" yet.
	 */
	if (clear_rx && uart->rx_count)
		*rx_ready_owed = rx_drop_locked(uart, UART_FIFO_DEPTH);
}

/* Returns true when `*tx_byte` must be sent to the host. */
static bool write_reg_locked(struct serial8250 *uart, uint64_t offset, uint8_t val,
			     uint8_t *tx_byte, bool *rx_ready_owed)
{
	bool dlab = uart->lcr & LCR_DLAB;
	bool send = false;
	uint8_t changed;

	switch (offset) {
	case UART_RBR_THR_DLL:
		if (dlab) {
			uart->dll = val;
			break;
		}
		if (uart->mcr & MCR_LOOP) {
			if (rx_push_locked(uart, &val, 1) == 0)
				uart->lsr_errors |= LSR_OE;
		} else {
			*tx_byte = val;
			send = true;
		}
		/*
		 * Writing THR clears the THRE interrupt, but transmission is
		 * instant, so THR is empty again at once and THRE re-asserts.
		 */
		uart->thre_pending = uart->ier & IER_ETBEI;
		break;
	case UART_IER_DLM:
		if (dlab) {
			uart->dlm = val;
			break;
		}
		changed = (uart->ier ^ val) & IER_MASK;
		uart->ier = val & IER_MASK;
		/*
		 * Enabling ETBEI with THR empty raises THRE even if an IIR read
		 * acknowledged it before (what Linux's THRE test checks).
		 */
		if (changed & IER_ETBEI)
			uart->thre_pending = uart->ier & IER_ETBEI;
		break;
	case UART_IIR_FCR:
		write_fcr_locked(uart, val, rx_ready_owed);
		break;
	case UART_LCR:
		uart->lcr = val;
		break;
	case UART_MCR:
		set_mcr_locked(uart, val & MCR_MASK);
		break;
	case UART_LSR:
	case UART_MSR:
		/* Read-only (LSR writes are a factory-test mode). */
		break;
	case UART_SCR:
		uart->scr = val;
		break;
	}
	return send;
}

void serial8250_io_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct serial8250 *uart = opaque;
	bool rx_ready_owed = false, send;
	uint8_t tx_byte = 0;

	pthread_mutex_lock(&uart->tx_lock);
	pthread_mutex_lock(&uart->lock);
	if (len != 1 || offset >= UART_NREGS) {
		log_guest_error(uart->log, &uart->rl,
				"serial: %u-byte write at offset %llu (only 1-byte accesses)", len,
				(unsigned long long)offset);
		pthread_mutex_unlock(&uart->lock);
		pthread_mutex_unlock(&uart->tx_lock);
		return;
	}
	send = write_reg_locked(uart, offset, *(const uint8_t *)data, &tx_byte, &rx_ready_owed);
	update_irq_locked(uart);
	pthread_mutex_unlock(&uart->lock);

	if (send && uart->tx)
		uart->tx(uart->cb_opaque, &tx_byte, 1);
	pthread_mutex_unlock(&uart->tx_lock);

	if (rx_ready_owed && uart->rx_ready)
		uart->rx_ready(uart->cb_opaque);
}

size_t serial8250_receive(struct serial8250 *uart, const uint8_t *buf, size_t len)
{
	size_t n;

	if (len == 0)
		return 0;
	pthread_mutex_lock(&uart->lock);
	n = rx_push_locked(uart, buf, len);
	if (n < len)
		uart->rx_blocked = true;
	update_irq_locked(uart);
	pthread_mutex_unlock(&uart->lock);
	return n;
}
