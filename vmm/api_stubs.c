/* SPDX-License-Identifier: MIT */
/* TEMPORARY: link stubs until branches ctl and vsock are merged; removed then. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmm/config.h"

int mvm_config_get(const struct mvm_config *cfg, const char *section, const char *key, char *buf,
		   size_t buflen)
{
	unsigned i;
	int n = -1;

	if (strcmp(section, "vm") == 0 && strcmp(key, "cpus") == 0)
		n = snprintf(buf, buflen, "%u", cfg->cpus);
	else if (strcmp(section, "vm") == 0 && strcmp(key, "mem") == 0)
		n = snprintf(buf, buflen, "%lluM", (unsigned long long)(cfg->mem_bytes >> 20));
	else if (strcmp(section, "boot") == 0 && strcmp(key, "cmdline") == 0)
		n = snprintf(buf, buflen, "%s", cfg->cmdline ? cfg->cmdline : "");
	else if (strcmp(section, "vsock") == 0 && strcmp(key, "uds") == 0)
		n = snprintf(buf, buflen, "%s", cfg->vsock_uds ? cfg->vsock_uds : "");
	else if (sscanf(section, "disk%u", &i) == 1 && i < MVM_MAX_DISKS && !strcmp(key, "path"))
		n = snprintf(buf, buflen, "%s", cfg->disks[i].path ? cfg->disks[i].path : "");
	else if (sscanf(section, "net%u", &i) == 1 && i < MVM_MAX_NICS && !strcmp(key, "backend"))
		n = snprintf(buf, buflen, "%s",
			     cfg->nets[i].backend == MVM_NET_TAP    ? "tap"
			     : cfg->nets[i].backend == MVM_NET_USER ? "user"
								    : "none");
	else
		return -EINVAL;
	return n < 0 || (size_t)n >= buflen ? -ENOSPC : 0;
}
const char *mvm_vm_state_name(enum mvm_vm_state state)
{
	static const char *const n[] = {"Not started", "Running", "Paused", "Ended"};
	return (unsigned)state < 4 ? n[state] : "?";
}
/* Until ctl lands. */
void mvm_config_set_exit_callback(struct mvm_config *cfg, mvm_exit_fn fn, void *opaque)
{
}
int mvm_vm_start(struct mvm_vm *vm, char *err, size_t errlen)
{
	snprintf(err, errlen, "mvm_vm_start: not yet (branch ctl)");
	return -ENOSYS;
}
int mvm_vm_wait(struct mvm_vm *vm, struct mvm_exit *exit)
{
	return -ENOSYS;
}
enum mvm_vm_state mvm_vm_state(struct mvm_vm *vm)
{
	return MVM_STATE_RUNNING;
}
uint64_t mvm_vm_uptime_ns(struct mvm_vm *vm)
{
	return 0;
}
int mvm_vm_exit_info(struct mvm_vm *vm, struct mvm_exit *exit)
{
	return -EAGAIN;
}
int mvm_vm_pause(struct mvm_vm *vm)
{
	return -ENOSYS;
}
int mvm_vm_resume(struct mvm_vm *vm)
{
	return -ENOSYS;
}
int mvm_vm_power_button(struct mvm_vm *vm)
{
	return -ENOSYS;
}
int mvm_vm_metrics(struct mvm_vm *vm, mvm_metric_fn fn, void *opaque)
{
	return -ENOSYS;
}
int mvm_vm_replace_disk(struct mvm_vm *vm, unsigned index, const char *path, char *err,
			size_t errlen)
{
	return -ENOSYS;
}
