/* SPDX-License-Identifier: MIT */
/*
 * Counters read live from other threads (mvm_vm_metrics) while one writer
 * at a time (the device's lock holder, a vCPU's own thread) counts: a plain
 * add published with a relaxed store, read with a relaxed load.  No locked
 * read-modify-write on the hot path, and no torn or data-racy reads.
 */
#ifndef MINIVMM_STATS_H
#define MINIVMM_STATS_H

#define STAT_ADD(field, n)                                                                         \
	__atomic_store_n(&(field), __atomic_load_n(&(field), __ATOMIC_RELAXED) + (n),              \
			 __ATOMIC_RELAXED)
#define STAT_READ(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)

#endif
