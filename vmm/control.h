/* SPDX-License-Identifier: MIT */
/*
 * The VM's life cycle and the command channel to its event-loop thread
 * (Firecracker's model: the API thread parses, posts one command, waits; the
 * loop executes it and owns every state transition).
 *
 *   NOT_STARTED --start--> RUNNING <--pause/resume--> PAUSED
 *                              \                       /
 *                               `------ end ----------'--> ENDED
 *
 * Any thread posts a command into one mutex-guarded slot and writes an
 * eventfd the loop watches (a control source: served while devices are
 * paused); the loop takes it, checks the transition again against the state
 * it owns, runs it and wakes the poster.  The poster waits at most
 * CTL_TIMEOUT_MS for the loop to take the command (-ETIMEDOUT: the command
 * was withdrawn, nothing ran); once taken, the loop's work is bounded (a
 * pause waits at most VM_PAUSE_TIMEOUT_MS for the vCPUs) and the poster
 * waits for its result.  When the run ends, posters of commands not yet
 * taken are released with -ESHUTDOWN.
 */
#ifndef MINIVMM_CONTROL_H
#define MINIVMM_CONTROL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/eventloop.h"
#include "vmm/minivmm.h"

#define CTL_TIMEOUT_MS 5000

enum ctl_cmd {
	CTL_START = 0,	  /* mvm_vm_start/run: before the loop exists */
	CTL_PAUSE,	  /* mvm_vm_pause */
	CTL_RESUME,	  /* mvm_vm_resume */
	CTL_POWER_BUTTON, /* mvm_vm_power_button */
	CTL_REPLACE_DISK, /* mvm_vm_replace_disk */
	CTL_END,	  /* the run ended (the loop returned) */
	CTL_CMD_COUNT,
};

const char *ctl_cmd_name(enum ctl_cmd cmd);

/*
 * The transition rule, pure: 0 and the state after `cmd` in *to, or
 * -EINVAL (not allowed in `from`), -EALREADY (START once started).
 */
int ctl_transition(enum mvm_vm_state from, enum ctl_cmd cmd, enum mvm_vm_state *to);

/* One command in flight; lives on the poster's stack. */
struct ctl_request {
	enum ctl_cmd cmd;
	unsigned index; /* CTL_REPLACE_DISK: the disk */
	void *arg;	/* CTL_REPLACE_DISK: the opened image */
	int result;
	bool taken; /* the loop owns it: the poster waits for done */
	bool done;
};

/* Runs a command on the loop thread; 0 lets the transition happen. */
typedef int (*ctl_exec_fn)(void *opaque, struct ctl_request *req);

struct control {
	pthread_mutex_t lock; /* guards slot, shutdown, taken/done of requests */
	pthread_cond_t cond;  /* slot freed, request taken or done, shutdown */
	int efd;	      /* the loop's doorbell */
	struct ev_loop *loop;
	pthread_t loop_thread; /* posting from it would wait for itself */
	bool loop_thread_known;
	struct ctl_request *slot;
	bool shutdown;
	_Atomic int state;	   /* enum mvm_vm_state; written by the owner of transitions */
	_Atomic uint64_t start_ns; /* clock_ns() at start */
	_Atomic uint64_t end_ns;   /* ... at the end; 0 while running */
	ctl_exec_fn exec;
	void *opaque;
	unsigned timeout_ms; /* CTL_TIMEOUT_MS; unit tests shorten it */
};

int ctl_init(struct control *c, ctl_exec_fn exec, void *opaque);
void ctl_destroy(struct control *c);

/* NOT_STARTED -> RUNNING (before any thread of the run exists); -EALREADY after. */
int ctl_start(struct control *c);
/* Adds the doorbell to the loop as a control source. */
int ctl_attach(struct control *c, struct ev_loop *loop);
/* The thread that runs the loop (the one thread that must not post). */
void ctl_set_loop_thread(struct control *c);
/*
 * The loop has returned: state ENDED, uptime frozen, every poster whose
 * command was not taken gets -ESHUTDOWN.  Loop thread (or the starter, if
 * the start failed).
 */
void ctl_end(struct control *c);

/* Posts `req` and waits (see above).  Any thread but the loop's: -EDEADLK there. */
int ctl_post(struct control *c, struct ctl_request *req);

enum mvm_vm_state ctl_state(struct control *c);
uint64_t ctl_uptime_ns(struct control *c);

#endif
