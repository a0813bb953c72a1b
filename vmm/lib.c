/* SPDX-License-Identifier: MIT */
/* The public API (vmm/minivmm.h): a thin shell around struct vm. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "devices/virtio_vsock.h"
#include "devices/vsock_muxer.h"
#include "vmm/config.h"
#include "vmm/vm.h"

struct mvm_vm {
	struct vm *vm;
};

int mvm_vm_create(const struct mvm_config *cfg, struct mvm_vm **out, char *err, size_t errlen)
{
	struct vmm_err e = {{0}};
	struct mvm_vm *h;
	int ret;

	h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ret = vm_create(cfg, &h->vm, &e);
	if (ret < 0) {
		free(h);
		if (err && errlen)
			snprintf(err, errlen, "%s", e.msg[0] ? e.msg : "cannot create the VM");
		return ret;
	}
	*out = h;
	return 0;
}

int mvm_vm_run(struct mvm_vm *h, struct mvm_exit *exit)
{
	return vm_run(h->vm, exit);
}

void mvm_vm_request_stop(struct mvm_vm *h)
{
	if (h && h->vm)
		vm_request_exit(h->vm, MVM_EXIT_STOPPED, 0, NULL);
}

void mvm_vm_destroy(struct mvm_vm *h)
{
	if (!h)
		return;
	vm_destroy(h->vm);
	free(h);
}

/* How long the guest has to accept a host connection (Firecracker's LocalInit timeout is 2 s). */
#define VSOCK_CONNECT_TIMEOUT_MS 5000u

int mvm_vm_vsock_connect(struct mvm_vm *h, uint32_t port, char *err, size_t errlen)
{
	if (!h || !h->vm || !h->vm->vsock) {
		if (err && errlen)
			snprintf(err, errlen, "the VM has no vsock device");
		return -ENODEV;
	}
	return vsock_uds_connect(virtio_vsock_uds_path(h->vm->vsock), port,
				 VSOCK_CONNECT_TIMEOUT_MS, err, errlen);
}
