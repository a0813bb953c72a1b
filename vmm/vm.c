/* SPDX-License-Identifier: MIT */
/*
 * The composition root.  vm_create() reads top to bottom as the machine is
 * built: inputs checked → /dev/kvm → VM → guest memory → interrupt
 * controllers → devices → ACPI → kernel → vCPUs.  Everything it builds hangs
 * off struct vm, so several VMs can live in one process.
 */
#include "vmm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_ids.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "boot/acpi.h"
#include "boot/decompress.h"
#include "boot/x86_entry.h"
#include "boot/layout.h"
#include "boot/mptable.h"
#include "devices/acpi_pm.h"
#include "devices/cmos_rtc.h"
#include "devices/debug_port.h"
#include "devices/disk_image.h"
#include "devices/i8042.h"
#include "devices/pvpanic.h"
#include "devices/serial8250.h"
#include "devices/virtio_blk.h"
#include "devices/virtio_mmio.h"
#include "devices/virtio_net.h"
#include "devices/virtio_rng.h"
#include "devices/virtio_vsock.h"
#include "vmm/cpu_template.h"
#include "vmm/diagnose.h"
#include "vmm/vcpu.h"

#define KVM_API_VERSION_EXPECTED 12

/* ---- Inputs ------------------------------------------------------------------ */

static int map_input_file(const char *what, const char *path, struct mapped_file *out,
			  struct vmm_err *err)
{
	struct stat st;
	void *p;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vmm_errf(err, -errno, "cannot open %s %s: %s", what, path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return vmm_errf(err, -EINVAL, "%s %s is not a regular file", what, path);
	}
	if (st.st_size == 0) {
		close(fd);
		return vmm_errf(err, -EINVAL, "%s %s is empty", what, path);
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return vmm_errf(err, -errno, "cannot read %s %s: %s", what, path, strerror(errno));
	out->data = p;
	out->len = (size_t)st.st_size;
	return 0;
}

static void unmap_input_file(struct mapped_file *f)
{
	if (f->data)
		munmap((void *)f->data, f->len);
	f->data = NULL;
	f->len = 0;
}

/* ---- KVM ----------------------------------------------------------------------- */

static int kvm_open(struct vm *vm, struct vmm_err *err)
{
	static const struct {
		int cap;
		const char *name;
	} required[] = {
	    {KVM_CAP_IRQCHIP, "IRQCHIP"},
	    {KVM_CAP_USER_MEMORY, "USER_MEMORY"},
	    {KVM_CAP_SET_TSS_ADDR, "SET_TSS_ADDR"},
	    {KVM_CAP_SET_IDENTITY_MAP_ADDR, "SET_IDENTITY_MAP_ADDR"},
	    {KVM_CAP_PIT2, "PIT2"},
	    {KVM_CAP_EXT_CPUID, "EXT_CPUID"},
	    {KVM_CAP_IMMEDIATE_EXIT, "IMMEDIATE_EXIT"},
	    {KVM_CAP_IRQFD, "IRQFD"},
	    {KVM_CAP_IOEVENTFD, "IOEVENTFD"},
	};
	int version, max_vcpus;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		int e = errno;
		if (e == ENOENT)
			return vmm_errf(
			    err, -e,
			    "no /dev/kvm: this machine offers no KVM (load kvm_intel or "
			    "kvm_amd, or enable virtualization in the firmware)");
		if (e == EACCES || e == EPERM)
			return vmm_errf(
			    err, -e,
			    "no permission to open /dev/kvm: add your user to the 'kvm' "
			    "group (sudo usermod -aG kvm $USER, then log in again)");
		return vmm_errf(err, -e, "cannot open /dev/kvm: %s", strerror(e));
	}
	version = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION_EXPECTED)
		return vmm_errf(err, -ENOTSUP,
				"/dev/kvm speaks KVM API version %d, minivmm needs %d", version,
				KVM_API_VERSION_EXPECTED);
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, required[i].cap) <= 0)
			return vmm_errf(err, -ENOTSUP,
					"this KVM lacks the capability KVM_CAP_%s, which minivmm "
					"needs; use a newer host kernel",
					required[i].name);
	max_vcpus = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (max_vcpus > 0 && vm->ncpus > (uint32_t)max_vcpus)
		return vmm_errf(err, -EINVAL, "this KVM allows at most %d vCPUs, %u asked",
				max_vcpus, vm->ncpus);
	vm->vcpu_mmap_size = (size_t)ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if ((long)vm->vcpu_mmap_size <= 0)
		return vmm_errf(err, -errno, "KVM_GET_VCPU_MMAP_SIZE failed: %s", strerror(errno));
	vm->pvm_host = access("/sys/module/kvm_pvm", F_OK) == 0;
	return 0;
}

static int kvm_create_vm(struct vm *vm, struct vmm_err *err)
{
	struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
	uint64_t identity_map = KVM_IDENTITY_MAP_ADDR;

	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return vmm_errf(err, -errno, "KVM_CREATE_VM failed: %s", strerror(errno));
	/* Intel VMX needs these pages for real-mode emulation; they sit in the MMIO hole. */
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) < 0)
		return vmm_errf(err, -errno, "KVM_SET_TSS_ADDR failed: %s", strerror(errno));
	if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &identity_map) < 0)
		return vmm_errf(err, -errno, "KVM_SET_IDENTITY_MAP_ADDR failed: %s",
				strerror(errno));
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return vmm_errf(err, -errno, "KVM_CREATE_IRQCHIP failed: %s", strerror(errno));
	/* The PIT stays in the kernel; SPEAKER_DUMMY makes KVM answer port 0x61 too. */
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return vmm_errf(err, -errno, "KVM_CREATE_PIT2 failed: %s", strerror(errno));
	/*
	 * With this capability an emulation failure exit carries the instruction
	 * bytes, so we can say exactly what the guest ran.
	 */
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_EXIT_ON_EMULATION_FAILURE) > 0) {
		struct kvm_enable_cap cap = {.cap = KVM_CAP_EXIT_ON_EMULATION_FAILURE, .args = {1}};
		vm->emulation_failure_exits = ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) == 0;
	}
	return 0;
}

static int kvm_map_memory(struct vm *vm, struct vmm_err *err)
{
	int ret = gm_init_x86(&vm->mem, vm->mem_bytes, err);
	if (ret < 0)
		return ret;
	for (unsigned i = 0; i < vm->mem.nregions; i++) {
		const struct gm_region *r = &vm->mem.regions[i];
		struct kvm_userspace_memory_region region = {
		    .slot = i,
		    .guest_phys_addr = r->gpa,
		    .memory_size = r->size,
		    .userspace_addr = (uintptr_t)r->host,
		};
		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
			return vmm_errf(err, -errno, "KVM_SET_USER_MEMORY_REGION failed: %s",
					strerror(errno));
	}
	return 0;
}

/* ---- Machine glue: what devices call ------------------------------------------ */

static void kvm_irq_set_level(void *opaque, uint32_t gsi, int level)
{
	struct vm *vm = opaque;
	struct kvm_irq_level irq = {.irq = gsi, .level = (uint32_t)level};

	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) < 0)
		log_warn(&vm->log, "KVM_IRQ_LINE gsi %u failed: %s", gsi, strerror(errno));
}

static void vm_ctl_request_exit(void *opaque, enum mvm_exit_reason reason, int status)
{
	vm_request_exit(opaque, reason, status, NULL);
}

static void vm_ctl_boot_marker(void *opaque, uint8_t code)
{
	struct vm *vm = opaque;
	uint64_t ns = clock_ns() - vm->start_ns;

	log_info(&vm->log, "boot marker 0x%02x at %" PRIu64 ".%03" PRIu64 " ms", code, ns / 1000000,
		 (ns / 1000) % 1000);
}

static void vm_console_quit(void *opaque)
{
	vm_request_exit(opaque, MVM_EXIT_STOPPED, 0, "console escape (Ctrl-A x)");
}

/* The embedder's exit callback, once, with the claimed exit. */
static void vm_call_exit_fn(struct vm *vm)
{
	bool expected = false;

	if (vm->exit_fn && atomic_compare_exchange_strong(&vm->exit_fn_called, &expected, true))
		vm->exit_fn(vm->exit_opaque, &vm->exit);
}

static bool vm_claim_exit(struct vm *vm, enum mvm_exit_reason reason, int status, const char *msg)
{
	int expected = 0;

	if (!atomic_compare_exchange_strong(&vm->exit_claimed, &expected, 1))
		return false;
	vm->exit.reason = reason;
	vm->exit.guest_status = status;
	if (msg)
		snprintf(vm->exit.message, sizeof(vm->exit.message), "%s", msg);
	ev_stop(vm->loop);
	return true;
}

void vm_request_exit(struct vm *vm, enum mvm_exit_reason reason, int status, const char *msg)
{
	if (vm_claim_exit(vm, reason, status, msg))
		vm_call_exit_fn(vm);
}

void vm_request_stop(struct vm *vm)
{
	/* From a signal handler: no callback here; vm_loop() makes the call. */
	vm_claim_exit(vm, MVM_EXIT_STOPPED, 0, NULL);
}

/* ---- Devices ------------------------------------------------------------------- */

static int register_pio(struct vm *vm, uint64_t base, uint64_t len, bus_read_fn rd, bus_write_fn wr,
			void *dev, const char *name, struct vmm_err *err)
{
	int ret = bus_register(&vm->pio, base, len, rd, wr, dev, name);
	if (ret < 0)
		return vmm_errf(err, ret, "cannot place %s at port 0x%" PRIx64 ": %s", name, base,
				strerror(-ret));
	return 0;
}

static void ignore_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
}

static int create_devices(struct vm *vm, struct vmm_err *err)
{
	struct irq_line com1_irq = {&vm->irqchip, COM1_IRQ};
	struct irq_line kbd_irq = {&vm->irqchip, I8042_KBD_IRQ};
	int ret;

	if ((ret = serial8250_create(&vm->uart, &com1_irq, console_output, console_rx_ready,
				     &vm->console, &vm->log)) < 0 ||
	    (ret = i8042_create(&vm->i8042, &vm->ctl, &kbd_irq, &vm->log)) < 0 ||
	    (ret = cmos_rtc_create(&vm->rtc, &vm->log)) < 0 ||
	    (ret = acpi_pm_create(&vm->acpi_pm, &vm->ctl, &vm->log)) < 0 ||
	    (ret = pvpanic_create(&vm->pvpanic, &vm->ctl, &vm->log)) < 0 ||
	    (ret = debug_port_create(&vm->debug_port, &vm->ctl, &vm->log)) < 0)
		return vmm_errf(err, ret, "cannot create devices: %s", strerror(-ret));

	if ((ret = register_pio(vm, COM1_PORT, 8, serial8250_io_read, serial8250_io_write, vm->uart,
				"com1", err)) < 0 ||
	    (ret = register_pio(vm, I8042_DATA_PORT, 5, i8042_io_read, i8042_io_write, vm->i8042,
				"i8042", err)) < 0 ||
	    (ret = register_pio(vm, CMOS_INDEX_PORT, 2, cmos_rtc_io_read, cmos_rtc_io_write,
				vm->rtc, "cmos-rtc", err)) < 0 ||
	    (ret = register_pio(vm, ACPI_SLEEP_CONTROL_PORT, 3, acpi_pm_io_read, acpi_pm_io_write,
				vm->acpi_pm, "acpi-pm", err)) < 0 ||
	    (ret = register_pio(vm, PVPANIC_PORT, 1, pvpanic_io_read, pvpanic_io_write, vm->pvpanic,
				"pvpanic", err)) < 0 ||
	    (ret = register_pio(vm, DEBUG_PORT_BASE, DEBUG_PORT_LEN, debug_port_io_read,
				debug_port_io_write, vm->debug_port, "debug-port", err)) < 0 ||
	    /* POST codes / io_delay: Linux writes here constantly; accept silently. */
	    (ret = register_pio(vm, POST_PORT, 1, NULL, ignore_write, NULL, "post", err)) < 0)
		return ret;
	return 0;
}

/* ---- virtio-mmio devices: one slot table for MMIO windows, GSIs, ACPI, cmdline ---- */

static void irqfd_set_level(void *opaque, uint32_t gsi, int level)
{
	struct vm *vm = opaque;
	uint32_t slot = gsi - VIRTIO_MMIO_GSI0;
	uint64_t one = 1;

	/* An irqfd write is a whole edge (assert + deassert); the 0 half is a no-op. */
	if (!level || slot >= vm->nvirtio)
		return;
	if (write(vm->virtio[slot].irqfd, &one, sizeof(one)) < 0)
		log_warn(&vm->log, "irqfd write for GSI %u failed: %s", gsi, strerror(errno));
}

static int kvm_register_ioeventfd(void *opaque, uint64_t addr, uint32_t queue, int fd, bool assign)
{
	struct vm *vm = opaque;
	struct kvm_ioeventfd io = {
	    .datamatch = queue,
	    .addr = addr,
	    .len = 4,
	    .fd = fd,
	    .flags = KVM_IOEVENTFD_FLAG_DATAMATCH | (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
	};

	return ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) < 0 ? -errno : 0;
}

static int add_virtio_device(struct vm *vm, const struct virtio_device_ops *ops, void *dev,
			     void (*destroy_dev)(void *), struct vmm_err *err)
{
	struct virtio_slot *slot;
	struct kvm_irqfd irqfd;
	struct virtio_mmio_env env;
	int ret;

	if (vm->nvirtio >= VIRTIO_MMIO_MAX) {
		destroy_dev(dev);
		return vmm_errf(err, -ENOSPC, "too many virtio devices (at most %d)",
				VIRTIO_MMIO_MAX);
	}
	slot = &vm->virtio[vm->nvirtio];
	*slot = (struct virtio_slot){
	    .name = ops->name,
	    .base = VIRTIO_MMIO_BASE + vm->nvirtio * VIRTIO_MMIO_SIZE,
	    .gsi = VIRTIO_MMIO_GSI0 + vm->nvirtio,
	    .irqfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK),
	    .dev = dev,
	    .ops = ops,
	    .destroy_dev = destroy_dev,
	};
	vm->nvirtio++; /* from here on vm_destroy() cleans the slot up */
	if (slot->irqfd < 0)
		return vmm_errf(err, -errno, "eventfd: %s", strerror(errno));
	irqfd = (struct kvm_irqfd){.fd = (uint32_t)slot->irqfd, .gsi = slot->gsi};
	if (ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0)
		return vmm_errf(err, -errno, "KVM_IRQFD for %s failed: %s", ops->name,
				strerror(errno));
	env = (struct virtio_mmio_env){
	    .mem = &vm->mem,
	    .log = &vm->log,
	    .irq = {&vm->irqfd_chip, slot->gsi},
	    .loop = vm->loop,
	    .register_notify = kvm_register_ioeventfd,
	    .opaque = vm,
	};
	ret = virtio_mmio_create(&slot->transport, ops, dev, slot->base, &env, err);
	if (ret < 0)
		return ret;
	ret = bus_register(&vm->mmio, slot->base, VIRTIO_MMIO_SIZE, virtio_mmio_read,
			   virtio_mmio_write, slot->transport, ops->name);
	if (ret < 0)
		return vmm_errf(err, ret, "cannot place %s at 0x%" PRIx64, ops->name, slot->base);
	return 0;
}

static void destroy_virtio_devices(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nvirtio; i++) {
		struct virtio_slot *slot = &vm->virtio[i];
		if (slot->transport)
			virtio_mmio_destroy(slot->transport);
		if (slot->dev)
			slot->destroy_dev(slot->dev);
		if (slot->irqfd >= 0) {
			struct kvm_irqfd irqfd = {.fd = (uint32_t)slot->irqfd,
						  .gsi = slot->gsi,
						  .flags = KVM_IRQFD_FLAG_DEASSIGN};
			if (vm->vm_fd >= 0)
				ioctl(vm->vm_fd, KVM_IRQFD, &irqfd);
			close(slot->irqfd);
		}
	}
	vm->nvirtio = 0;
}

static void destroy_blk(void *dev)
{
	virtio_blk_destroy(dev);
}

static int create_disks(struct vm *vm, const struct mvm_config *cfg, struct vmm_err *err)
{
	for (unsigned i = 0; i < cfg->ndisks; i++) {
		const struct mvm_disk_config *disk = &cfg->disks[i];
		struct virtio_blk *blk;
		int ret;

		ret = virtio_blk_create(&blk, disk, vm->loop, &vm->log, err);
		if (ret < 0)
			return ret;
		ret = add_virtio_device(vm, virtio_blk_device_ops(blk), blk, destroy_blk, err);
		if (ret < 0)
			return ret;
		vm->disk_slot[i] = vm->nvirtio - 1;
		vm->disk_cfg[i] =
		    (struct mvm_disk_config){.read_only = disk->read_only, .cache = disk->cache};
		vm->ndisks = i + 1;
		log_info(&vm->log, "vd%c: %s, %" PRIu64 " MiB%s at 0x%" PRIx64 " GSI %u", 'a' + i,
			 disk->path, virtio_blk_capacity_bytes(blk) >> 20,
			 disk->read_only ? ", read-only" : "", vm->virtio[vm->nvirtio - 1].base,
			 vm->virtio[vm->nvirtio - 1].gsi);
	}
	return 0;
}

static void destroy_net(void *dev)
{
	virtio_net_destroy(dev);
}

/*
 * A stable identity for default MAC addresses: the same kernel and first
 * disk give the same MACs run after run, different VMs different ones.
 */
static uint32_t vm_identity_hash(const struct mvm_config *cfg)
{
	const char *parts[] = {cfg->kernel, cfg->ndisks ? cfg->disks[0].path : ""};
	uint32_t h = 2166136261u; /* FNV-1a */

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		for (const char *p = parts[i] ? parts[i] : ""; *p; p++)
			h = (h ^ (uint8_t)*p) * 16777619u;
	return h;
}

static int create_nics(struct vm *vm, const struct mvm_config *cfg, struct vmm_err *err)
{
	for (unsigned i = 0; i < cfg->nnets; i++) {
		const struct mvm_net_config *nc = &cfg->nets[i];
		struct virtio_net_params params = {
		    .backend = nc->backend == MVM_NET_TAP ? NET_BACKEND_TAP : NET_BACKEND_USER,
		    .tap_name = nc->tap,
		    .hostfwd = nc->hostfwd,
		    .index = i,
		    .vm_id = vm_identity_hash(cfg),
		};
		struct virtio_net *net;
		int ret;

		if (nc->mac && nc->mac[0]) {
			if (virtio_net_parse_mac(nc->mac, params.mac) < 0)
				return vmm_errf(err, -EINVAL, "[net%u] mac = \"%s\": not a MAC", i,
						nc->mac);
			params.mac_set = true;
		}
		ret = virtio_net_create(&net, &params, vm->loop, &vm->log, err);
		if (ret < 0)
			return ret;
		ret = add_virtio_device(vm, virtio_net_device_ops(net), net, destroy_net, err);
		if (ret < 0)
			return ret;
		log_info(&vm->log, "eth%u: %s%s at 0x%" PRIx64 " GSI %u", i,
			 nc->backend == MVM_NET_TAP ? "tap " : "user-mode networking",
			 nc->backend == MVM_NET_TAP ? nc->tap : "",
			 vm->virtio[vm->nvirtio - 1].base, vm->virtio[vm->nvirtio - 1].gsi);
	}
	return 0;
}

static void destroy_rng(void *dev)
{
	virtio_rng_destroy(dev);
}

static int create_rng(struct vm *vm, const struct mvm_config *cfg, struct vmm_err *err)
{
	struct virtio_rng *rng;
	int ret;

	if (!cfg->rng)
		return 0;
	ret = virtio_rng_create(&rng, cfg->rng_rate, vm->loop, &vm->log, err);
	if (ret < 0)
		return ret;
	ret = add_virtio_device(vm, &virtio_rng_ops, rng, destroy_rng, err);
	if (ret < 0)
		return ret;
	log_debug(&vm->log, "virtio-rng at 0x%" PRIx64 " GSI %u, %s",
		  vm->virtio[vm->nvirtio - 1].base, vm->virtio[vm->nvirtio - 1].gsi,
		  cfg->rng_rate ? "rate-limited" : "unlimited");
	return 0;
}

static void destroy_vsock(void *dev)
{
	virtio_vsock_destroy(dev);
}

static int create_vsock(struct vm *vm, const struct mvm_config *cfg, struct vmm_err *err)
{
	struct virtio_vsock *vs;
	int ret;

	if (!cfg->vsock_cid)
		return 0;
	ret = virtio_vsock_create(&vs, cfg->vsock_cid, cfg->vsock_uds, vm->loop, &vm->log, err);
	if (ret < 0)
		return ret;
	ret = add_virtio_device(vm, &virtio_vsock_ops, vs, destroy_vsock, err);
	if (ret < 0)
		return ret;
	vm->vsock = vs;
	log_info(&vm->log, "vsock: guest CID %u, host socket %s at 0x%" PRIx64 " GSI %u",
		 cfg->vsock_cid, cfg->vsock_uds, vm->virtio[vm->nvirtio - 1].base,
		 vm->virtio[vm->nvirtio - 1].gsi);
	return 0;
}

static void destroy_devices(struct vm *vm)
{
	destroy_virtio_devices(vm);
	serial8250_destroy(vm->uart);
	i8042_destroy(vm->i8042);
	cmos_rtc_destroy(vm->rtc);
	acpi_pm_destroy(vm->acpi_pm);
	pvpanic_destroy(vm->pvpanic);
	debug_port_destroy(vm->debug_port);
}

/* ---- Boot --------------------------------------------------------------------- */

/*
 * The command line the guest gets: the user's, then one virtio_mmio.device=
 * entry per slot for kernels that find devices that way
 * (CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES); ACPI describes the same devices for
 * kernels that do not.
 */
/*
 * The kernel command line: the user's (or the default), then what the
 * machine needs the kernel to know: the CPU template's parameters when the
 * host cannot enforce it through CPUID alone, and one virtio_mmio.device=
 * per slot (kernels with VIRTIO_MMIO_CMDLINE_DEVICES; ACPI describes the same).
 */
static char *build_cmdline(const struct vm *vm, const char *user, const char *template_params)
{
	size_t len = strlen(user) + 2 + strlen(template_params) + vm->nvirtio * 64;
	char *cmdline = malloc(len);
	size_t n;

	if (!cmdline)
		return NULL;
	n = (size_t)snprintf(cmdline, len, "%s%s%s", user, *user && *template_params ? " " : "",
			     template_params);
	for (unsigned i = 0; i < vm->nvirtio; i++)
		n += (size_t)snprintf(cmdline + n, len - n,
				      "%svirtio_mmio.device=%lluK@0x%" PRIx64 ":%u", n ? " " : "",
				      (unsigned long long)(VIRTIO_MMIO_SIZE >> 10),
				      vm->virtio[i].base, vm->virtio[i].gsi);
	return cmdline;
}

/*
 * Without --cmdline: the serial console, and with a disk but no initrd the
 * root file system on the first disk (vda), so that
 * `minivmm --kernel bzImage --disk root.img` boots (kernels with virtio-blk
 * and the file system built in, like guest-images' microVM kernel).
 */
static const char *default_cmdline(const struct mvm_config *cfg)
{
	if (cfg->ndisks == 0 || cfg->initrd)
		return "console=ttyS0";
	return cfg->disks[0].read_only ? "console=ttyS0 root=/dev/vda ro"
				       : "console=ttyS0 root=/dev/vda rw";
}

/*
 * A gzip'd initramfs is inflated on the host unless --decompress guest: the
 * guest kernel then only copies the archive (with emulated CPL0 code its
 * inflate takes tens of seconds).  Anything but one gzip member holding a
 * cpio archive goes to the guest as it is.
 */
static void unpack_initrd(struct vm *vm, const struct mvm_config *cfg)
{
	uint64_t t0 = clock_ns();

	if (!vm->initrd.data || cfg->decompress == MVM_DECOMPRESS_GUEST ||
	    initrd_gunzip_whole(vm->initrd.data, vm->initrd.len, vm->mem_bytes / 2,
				&vm->initrd_unpacked, &vm->initrd_unpacked_len) < 0)
		return;
	log_info(&vm->log, "initrd %s: gzip decompressed on the host in %.1f ms (%zu -> %zu bytes)",
		 cfg->initrd, (double)(clock_ns() - t0) / 1e6, vm->initrd.len,
		 vm->initrd_unpacked_len);
}

/* Whether Linux will run without ACPI: an "acpi=off" word on its command line. */
static bool cmdline_acpi_off(const char *cmdline)
{
	const char *p = cmdline;
	size_t len = strlen("acpi=off");

	while ((p = strstr(p, "acpi=off")) != NULL) {
		if ((p == cmdline || p[-1] == ' ') && (p[len] == '\0' || p[len] == ' '))
			return true;
		p += len;
	}
	return false;
}

/*
 * The power button's GSI comes from the virtio slots' allocation: the next
 * one after the last slot (GSI VIRTIO_MMIO_GSI0 + nvirtio), so the slot
 * table stays "slot i has GSI 5 + i".  Called once every virtio device
 * exists.
 */
static int alloc_power_button_gsi(struct vm *vm, struct vmm_err *err)
{
	uint32_t gsi = VIRTIO_MMIO_GSI0 + vm->nvirtio;

	if (gsi >= IOAPIC_GSI_BASE + IOAPIC_PINS)
		return vmm_errf(err, -ENOSPC, "no IOAPIC pin left for the power button (GSI %u)",
				gsi);
	vm->power_button_gsi = gsi;
	return 0;
}

static int load_kernel(struct vm *vm, const struct mvm_config *cfg, struct vmm_err *err)
{
	struct acpi_mmio_device mmio_devices[VIRTIO_MMIO_MAX];
	struct acpi_config acpi = {
	    .ncpus = vm->ncpus,
	    .pvpanic = true,
	    .mmio_devices = mmio_devices,
	    .n_mmio_devices = vm->nvirtio,
	    .power_button = true,
	};
	uint32_t gsis[VIRTIO_MMIO_MAX];
	struct mptable_config mpt = {.ncpus = vm->ncpus, .gsis = gsis, .ngsis = vm->nvirtio};
	char template_params[256] = "";
	char *cmdline;
	struct boot_request req = {
	    .kernel = vm->kernel.data,
	    .kernel_len = vm->kernel.len,
	    .kernel_path = cfg->kernel,
	    .initrd = vm->initrd_unpacked ? vm->initrd_unpacked : vm->initrd.data,
	    .initrd_len = vm->initrd_unpacked ? vm->initrd_unpacked_len : vm->initrd.len,
	    .initrd_path = cfg->initrd,
	    .decompress = cfg->decompress,
	    .prefer_pvh = true,
	};
	int ret;

	for (unsigned i = 0; i < vm->nvirtio; i++) {
		mmio_devices[i] = (struct acpi_mmio_device){.base = vm->virtio[i].base,
							    .size = VIRTIO_MMIO_SIZE,
							    .gsi = vm->virtio[i].gsi,
							    .hid = "LNRO0005"};
		gsis[i] = vm->virtio[i].gsi;
	}
	ret = alloc_power_button_gsi(vm, err);
	if (ret < 0)
		return ret;
	acpi.power_button_gsi = vm->power_button_gsi;
	ret = acpi_build(&vm->mem, &acpi, &vm->rsdp_addr, err);
	if (ret < 0)
		return ret;
	/* Always, beside ACPI: a guest booted with acpi=off finds its CPUs and IRQs here. */
	ret = mptable_build(&vm->mem, &mpt, err);
	if (ret < 0)
		return ret;
	if (x86_write_reset_stub(&vm->mem) < 0)
		return vmm_errf(err, -EFAULT, "cannot write the reset-vector stub");
	req.acpi_rsdp_addr = vm->rsdp_addr;
	if (vm->pvm_host && cpu_template_linux_params(vm->cpu_template, template_params,
						      sizeof(template_params)) < 0)
		log_warn(&vm->log,
			 "CPU template parameters do not fit in %zu bytes; the kernel "
			 "gets none (it may stop at an instruction the host cannot emulate)",
			 sizeof(template_params));
	cmdline =
	    build_cmdline(vm, cfg->cmdline ? cfg->cmdline : default_cmdline(cfg), template_params);
	if (!cmdline)
		return vmm_errf(err, -ENOMEM, "out of memory");
	req.cmdline = cmdline;
	vm->acpi_off = cmdline_acpi_off(cmdline);
	ret = boot_load_kernel(&vm->mem, &req, &vm->entry, err);
	free(cmdline);
	if (ret < 0)
		return ret;
	if (vm->entry.note)
		log_warn(&vm->log, "%s", vm->entry.note);
	if (template_params[0])
		log_info(&vm->log,
			 "PVM host: KVM applies only part of the CPU template's CPUID; added "
			 "\"%s\" to the kernel command line so Linux honours it "
			 "(--cpu-template host: none)",
			 template_params);
	log_info(&vm->log, "kernel %s: %s at 0x%" PRIx64 "-0x%" PRIx64 ", entry 0x%" PRIx64,
		 cfg->kernel, vm->entry.format, vm->entry.kernel_start, vm->entry.kernel_end,
		 vm->entry.entry);
	if (vm->entry.initrd_size)
		log_info(&vm->log, "initrd at 0x%" PRIx64 ", %" PRIu64 " bytes",
			 vm->entry.initrd_start, vm->entry.initrd_size);
	return 0;
}

static int create_vcpus(struct vm *vm, enum mvm_cpu_template asked, struct vmm_err *err)
{
	enum mvm_cpu_template template = vm->cpu_template;
	struct kvm_cpuid2 *supported = NULL;
	char hidden[512];
	int ret;

	vm->vcpus = calloc(vm->ncpus, sizeof(vm->vcpus[0]));
	if (!vm->vcpus)
		return -ENOMEM;
	ret = cpuid_get_supported(vm->kvm_fd, &supported, err);
	if (ret < 0)
		return ret;
	if (template != MVM_CPU_TEMPLATE_HOST &&
	    cpu_template_describe_hidden(supported, hidden, sizeof(hidden)) > 0)
		log_info(&vm->log, "CPU template %s%s hides: %s", cpu_template_name(template),
			 asked == MVM_CPU_TEMPLATE_AUTO ? " (auto: PVM host)" : "", hidden);
	else
		log_debug(&vm->log, "CPU template %s", cpu_template_name(template));
	cpu_template_apply(template, supported);
	for (unsigned i = 0; i < vm->ncpus && ret == 0; i++)
		ret = vcpu_create(vm, i, supported, &vm->vcpus[i], err);
	free(supported);
	if (ret < 0)
		return ret;
	/* Only the boot CPU gets registers; the others wait for INIT/SIPI in the LAPIC. */
	return vcpu_set_boot_state(vm->vcpus[0], err);
}

/* ---- Lifecycle ---------------------------------------------------------------- */

/* Generated once here so that a thread only loads its filter (vmm/seccomp.h). */
static int build_seccomp(struct vm *vm, const struct mvm_config *cfg, struct vmm_err *err)
{
	unsigned needs = 0;

	for (unsigned i = 0; i < cfg->nnets; i++)
		if (cfg->nets[i].backend == MVM_NET_USER)
			needs |= SC_NEED_SLIRP;
	if (cfg->vsock_cid)
		needs |= SC_NEED_VSOCK;
	if (cfg->seccomp == MVM_SECCOMP_OFF)
		log_info(&vm->log, "seccomp off: minivmm's threads run unconfined");
	return sc_filters_build(&vm->seccomp, cfg->seccomp, needs, err);
}

static int vm_control_exec(void *opaque, struct ctl_request *req);

int vm_create(const struct mvm_config *cfg, struct vm **out, struct vmm_err *err)
{
	struct vm *vm;
	int ret;

	ret = mvm_config_validate(cfg, err->msg, sizeof(err->msg));
	if (ret < 0)
		return ret;
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return vmm_errf(err, -ENOMEM, "out of memory");
	vm->start_ns = clock_ns();
	vm->log = (struct logger){
	    .level = (enum log_level)cfg->log_level, .fd = STDERR_FILENO, .prefix = "minivmm"};
	vm->ncpus = cfg->cpus;
	vm->mem_bytes = cfg->mem_bytes;
	vm->timeout_s = cfg->timeout_s;
	vm->kvm_fd = vm->vm_fd = -1;
	atomic_init(&vm->exit_claimed, 0);
	atomic_init(&vm->stopping, false);
	atomic_init(&vm->exit_fn_called, false);
	atomic_init(&vm->pause.requested, false);
	vm->exit_fn = cfg->exit_fn;
	vm->exit_opaque = cfg->exit_opaque;
	pthread_mutex_init(&vm->pause.lock, NULL);
	{
		/* The pause's deadline is on CLOCK_MONOTONIC, immune to clock steps. */
		pthread_condattr_t attr;
		pthread_condattr_init(&attr);
		pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
		pthread_cond_init(&vm->pause.cond, &attr);
		pthread_condattr_destroy(&attr);
	}
	vm->control.efd = -1;
	bus_init(&vm->pio, "pio", &vm->log);
	bus_init(&vm->mmio, "mmio", &vm->log);
	vm->irqchip = (struct irq_chip){kvm_irq_set_level, vm};
	vm->irqfd_chip = (struct irq_chip){irqfd_set_level, vm};
	vm->ctl = (struct machine_ctl){vm_ctl_request_exit, vm_ctl_boot_marker, vm};
	console_init(&vm->console, &vm->log, false, NULL, false, NULL); /* inert until opened */

	/* Inputs first: a bad kernel path must fail before anything is created. */
	if ((ret = map_input_file("kernel", cfg->kernel, &vm->kernel, err)) < 0)
		goto fail;
	if (cfg->initrd && cfg->initrd[0] &&
	    (ret = map_input_file("initrd", cfg->initrd, &vm->initrd, err)) < 0)
		goto fail;

	if ((ret = kvm_open(vm, err)) < 0)
		goto fail;
	if ((ret = kvm_create_vm(vm, err)) < 0)
		goto fail;
	if ((ret = kvm_map_memory(vm, err)) < 0)
		goto fail;
	if ((ret = ev_loop_create(&vm->loop)) < 0) {
		vmm_errf(err, ret, "cannot create the event loop: %s", strerror(-ret));
		goto fail;
	}
	if ((ret = ctl_init(&vm->control, vm_control_exec, vm)) < 0) {
		vmm_errf(err, ret, "cannot create the control channel: %s", strerror(-ret));
		goto fail;
	}
	if ((ret = create_devices(vm, err)) < 0)
		goto fail;
	if ((ret = create_disks(vm, cfg, err)) < 0)
		goto fail;
	if ((ret = create_nics(vm, cfg, err)) < 0)
		goto fail;
	if ((ret = create_rng(vm, cfg, err)) < 0)
		goto fail;
	if ((ret = create_vsock(vm, cfg, err)) < 0)
		goto fail;
	vm->cpu_template = cpu_template_resolve(cfg->cpu_template, vm->pvm_host);
	unpack_initrd(vm, cfg);
	if ((ret = load_kernel(vm, cfg, err)) < 0)
		goto fail;
	if ((ret = create_vcpus(vm, cfg->cpu_template, err)) < 0)
		goto fail;
	if ((ret = build_seccomp(vm, cfg, err)) < 0)
		goto fail;
	/* Last: the console log file is the first thing we write on the host. */
	if ((ret = console_init(&vm->console, &vm->log, cfg->console_stdout, cfg->console_log,
				cfg->console_stdin, err)) < 0)
		goto fail;
	if ((ret = console_redirect(&vm->console, cfg->console_fn, cfg->console_opaque,
				    cfg->console_fds_set, cfg->console_out_fd, cfg->console_in_fd,
				    err)) < 0)
		goto fail;
	if (vm->pvm_host)
		log_info(&vm->log, "host KVM is PVM: guest kernel code runs in KVM's instruction "
				   "emulator (slow; see README)");
	vm->ready_ns = clock_ns();
	log_info(&vm->log, "VM ready: %u vCPU(s), %" PRIu64 " MiB, built in %.1f ms", vm->ncpus,
		 vm->mem_bytes >> 20, (double)(vm->ready_ns - vm->start_ns) / 1e6);
	*out = vm;
	return 0;
fail:
	vm_destroy(vm);
	return ret;
}

static void on_timeout(struct ev_loop *loop, int fd, uint32_t events, void *opaque)
{
	struct vm *vm = opaque;
	char msg[64];

	snprintf(msg, sizeof(msg), "timeout after %u s", vm->timeout_s);
	vm_request_exit(vm, MVM_EXIT_TIMEOUT, 0, msg);
}

static double ms_since_start(const struct vm *vm, uint64_t ns)
{
	return (double)(ns - vm->start_ns) / 1e6;
}

/*
 * Where the run's time went, at info level: VM construction (the kernel
 * line above says how long loading and decompressing took), the guest's
 * first console byte, the end; then per vCPU the time inside KVM_RUN and
 * the exits by kind (on a PVM host each guest kernel instruction is
 * emulated inside KVM_RUN, so that time dominates).
 */
static void log_timeline(struct vm *vm, uint64_t end_ns)
{
	uint64_t first = atomic_load(&vm->console.first_output_ns);
	char first_s[48] = "no guest output";
	char emul[128];

	if (first)
		snprintf(first_s, sizeof(first_s), "first guest output at %.1f ms",
			 ms_since_start(vm, first));
	log_info(&vm->log, "timeline: VM built in %.1f ms, %s, %s at %.1f ms",
		 ms_since_start(vm, vm->ready_ns), first_s, mvm_exit_reason_name(vm->exit.reason),
		 ms_since_start(vm, end_ns));
	for (unsigned i = 0; i < vm->ncpus; i++) {
		const struct vcpu *v = vm->vcpus[i];
		const struct vcpu_stats *st = &v->stats;

		if (emul_stats_format(&v->emul_stats, emul, sizeof(emul)) <= 0)
			snprintf(emul, sizeof(emul), "none");
		log_info(&vm->log,
			 "vCPU %u: %.1f ms in KVM_RUN, exits: %" PRIu64 " port I/O, %" PRIu64
			 " MMIO, %" PRIu64 " other; emulation failures completed: %s",
			 i, (double)st->run_ns / 1e6, st->exits_io, st->exits_mmio, st->exits_other,
			 emul);
	}
}

/*
 * A guest that died of its host: say so in one line.  Only on a PVM host,
 * where Linux's first system call from user space reaches the kernel's
 * entry still in user mode (the guest then panics: "Attempted to kill init").
 */
static void explain_host_caused_failure(struct vm *vm)
{
	char tail[sizeof(vm->console.recent)];
	uint64_t lstar;

	if (!vm->pvm_host || vm->ncpus == 0 ||
	    (vm->exit.reason != MVM_EXIT_PANIC && vm->exit.reason != MVM_EXIT_REBOOT) ||
	    vcpu_get_msr(vm->vcpus[0], MSR_LSTAR, &lstar) < 0)
		return;
	console_recent(&vm->console, tail, sizeof(tail));
	if (diagnose_syscall_entry_fault(tail, lstar))
		log_error(&vm->log,
			  "the guest's first system call from user space reached its kernel entry "
			  "(LSTAR 0x%" PRIx64 ") still in user mode: this PVM host delivers system "
			  "calls only to PVM-aware guest kernels; run Linux user space on hardware "
			  "KVM (README: The KVM on our own machines)",
			  lstar);
}

#ifdef MINIVMM_TEST_HOOKS
/*
 * Test builds only (build/minivmm-test): MINIVMM_TEST_POWER_BUTTON_AFTER_MS=N
 * presses the power button every N ms until the run ends; with
 * MINIVMM_TEST_POWER_BUTTON_WHEN=TEXT, only once the guest's console has
 * shown TEXT (e.g. its init's "up" line: a Ctrl-Alt-Del before init has set
 * kernel.ctrl-alt-del = 0 reboots at once, as on real hardware).  The API's
 * SendCtrlAltDel does the same through mvm_vm_power_button().  The context
 * lives until the process exits.
 */
struct test_hook_button {
	struct vm *vm;
	uint64_t ms;
	const char *when;
	bool seen;
};

static void test_hook_press(struct ev_loop *loop, int fd, uint32_t events, void *opaque)
{
	struct test_hook_button *h = opaque;
	struct itimerspec again = {0};
	uint64_t expirations;

	if (read(fd, &expirations, sizeof(expirations)) < 0) {
		/* Level-triggered: nothing to drain means nothing fired. */
	}
	if (h->when && !h->seen) {
		char tail[sizeof(h->vm->console.recent)];

		/* Racy against the vCPU writing the tail: a torn read only delays a press. */
		console_recent(&h->vm->console, tail, sizeof(tail));
		h->seen = strstr(tail, h->when) != NULL;
	}
	if (!h->when || h->seen)
		vm_power_button(h->vm);
	again.it_value.tv_sec = (time_t)(h->ms / 1000);
	again.it_value.tv_nsec = (long)(h->ms % 1000) * 1000000;
	timerfd_settime(fd, 0, &again, NULL);
}

static void test_hook_power_button(struct vm *vm)
{
	const char *after = getenv("MINIVMM_TEST_POWER_BUTTON_AFTER_MS");
	struct test_hook_button *h;

	if (!after || strtoull(after, NULL, 10) == 0 || !(h = calloc(1, sizeof(*h))))
		return;
	h->vm = vm;
	h->ms = strtoull(after, NULL, 10);
	h->when = getenv("MINIVMM_TEST_POWER_BUTTON_WHEN");
	if (ev_add_timer_ms(vm->loop, h->ms, test_hook_press, h) < 0)
		log_warn(&vm->log, "test hook: cannot arm the power-button timer");
}
#endif

/* Stops the vCPU threads, parked or running, and joins them. */
static void vm_stop_vcpus(struct vm *vm)
{
	atomic_store_explicit(&vm->stopping, true, memory_order_release);
	/* Parked vCPUs wait on the pause condvar, not in KVM_RUN: wake them too. */
	pthread_mutex_lock(&vm->pause.lock);
	pthread_cond_broadcast(&vm->pause.cond);
	pthread_mutex_unlock(&vm->pause.lock);
	for (unsigned i = 0; i < vm->ncpus; i++)
		vcpu_kick(vm->vcpus[i]);
	for (unsigned i = 0; i < vm->ncpus; i++)
		vcpu_join(vm->vcpus[i]);
}

int vm_start(struct vm *vm, struct vmm_err *err)
{
	int ret;

	ret = ctl_start(&vm->control);
	if (ret < 0)
		return vmm_errf(err, ret, "the VM was started before");
	ret = console_attach(&vm->console, vm->uart, vm->loop, vm_console_quit, vm);
	/*
	 * --timeout is a control source: a hard wall-clock limit that runs on
	 * while the VM is paused (a paused VM still ends on time).
	 */
	if (ret == 0 && vm->timeout_s) {
		ret = ev_add_timer_ms(vm->loop, (uint64_t)vm->timeout_s * 1000, on_timeout, vm);
		if (ret >= 0)
			ret = ev_set_control(vm->loop, ret);
	}
	if (ret == 0)
		ret = ctl_attach(&vm->control, vm->loop);
	if (ret < 0) {
		vmm_errf(err, ret, "cannot start the VM's event sources: %s", strerror(-ret));
		vm_request_exit(vm, MVM_EXIT_HOST_ERROR, 0, err->msg);
		ctl_end(&vm->control);
		return ret;
	}
#ifdef MINIVMM_TEST_HOOKS
	test_hook_power_button(vm);
#endif
	for (unsigned i = 0; i < vm->ncpus; i++) {
		ret = vcpu_start(vm->vcpus[i]);
		if (ret < 0) {
			vmm_errf(err, ret, "cannot start vCPU thread %u: %s", i, strerror(-ret));
			vm_request_exit(vm, MVM_EXIT_HOST_ERROR, 0, err->msg);
			vm_stop_vcpus(vm);
			ctl_end(&vm->control);
			return ret;
		}
	}
	return 0;
}

void vm_loop(struct vm *vm, struct mvm_exit *exit)
{
	struct vmm_err e = {{0}};
	int ret;

	ctl_set_loop_thread(&vm->control);
	/*
	 * Before the first callback, after the vCPU threads exist (each loads
	 * its own filter; they must not inherit this one): from here to its
	 * end this thread runs the loop's filter, teardown included.
	 */
	if (sc_filters_apply(&vm->seccomp, SC_ROLE_LOOP, "loop", &e) < 0)
		vm_request_exit(vm, MVM_EXIT_HOST_ERROR, 0, e.msg);
	ret = ev_run(vm->loop);
	if (ret < 0)
		vm_request_exit(vm, MVM_EXIT_HOST_ERROR, 0, "event loop failed");
	vm_loop_abandon(vm, exit);
}

void vm_loop_abandon(struct vm *vm, struct mvm_exit *exit)
{
	/* Waiters are released first: nothing is served from here on. */
	ctl_end(&vm->control);
	vm_call_exit_fn(vm); /* a stop from a signal handler left the call to us */
	vm_stop_vcpus(vm);
	*exit = vm->exit;
	log_timeline(vm, clock_ns());
	explain_host_caused_failure(vm);
	log_debug(&vm->log,
		  "run ended (%s) after %.1f ms; %" PRIu64 " unhandled port and %" PRIu64
		  " unhandled MMIO accesses",
		  mvm_exit_reason_name(vm->exit.reason), (double)(clock_ns() - vm->start_ns) / 1e6,
		  (uint64_t)atomic_load(&vm->pio.unhandled),
		  (uint64_t)atomic_load(&vm->mmio.unhandled));
}

int vm_run(struct vm *vm, struct mvm_exit *exit)
{
	struct vmm_err e = {{0}};
	int ret = vm_start(vm, &e);

	if (ret < 0) {
		log_error(&vm->log, "%s", e.msg);
		return ret;
	}
	vm_loop(vm, exit);
	return 0;
}

/* ---- Control: what the loop runs for other threads (vmm/control.h) ------------- */

#define VM_PAUSE_TIMEOUT_MS 2000

static void vm_unpark(struct vm *vm)
{
	pthread_mutex_lock(&vm->pause.lock);
	atomic_store(&vm->pause.requested, false);
	pthread_cond_broadcast(&vm->pause.cond);
	pthread_mutex_unlock(&vm->pause.lock);
}

/*
 * Every vCPU out of KVM_RUN and parked, then the guest's clock read and
 * device sources out of the loop: from here the guest's memory and device
 * state change no more (the next issue snapshots them).  Loop thread.
 */
static int vm_do_pause(struct vm *vm)
{
	struct timespec deadline = monotonic_after_ms(VM_PAUSE_TIMEOUT_MS);
	int ret = 0;

	pthread_mutex_lock(&vm->pause.lock);
	atomic_store(&vm->pause.requested, true);
	pthread_mutex_unlock(&vm->pause.lock);
	for (unsigned i = 0; i < vm->ncpus; i++)
		vcpu_kick(vm->vcpus[i]);
	pthread_mutex_lock(&vm->pause.lock);
	while (vm->pause.parked + vm->pause.exited < vm->ncpus && ret == 0)
		ret = -pthread_cond_timedwait(&vm->pause.cond, &vm->pause.lock, &deadline);
	if (vm->pause.parked + vm->pause.exited == vm->ncpus)
		ret = 0;
	pthread_mutex_unlock(&vm->pause.lock);
	if (ret < 0) {
		log_warn(&vm->log, "pause: the vCPUs did not stop within %u ms; still running",
			 VM_PAUSE_TIMEOUT_MS);
		vm_unpark(vm);
		return ret;
	}
	memset(&vm->pause.clock, 0, sizeof(vm->pause.clock));
	if (ioctl(vm->vm_fd, KVM_GET_CLOCK, &vm->pause.clock) < 0) {
		ret = -errno;
		log_warn(&vm->log, "pause: KVM_GET_CLOCK failed: %s; still running",
			 strerror(errno));
		vm_unpark(vm);
		return ret;
	}
	ev_pause_devices(vm->loop, true);
	log_info(&vm->log, "paused");
	return 0;
}

static int vm_do_resume(struct vm *vm)
{
	/*
	 * The clock continues from the paused value.  flags 0: with
	 * KVM_CLOCK_REALTIME (which KVM_GET_CLOCK may have reported) KVM would
	 * add the time spent paused, the jump this is meant to avoid.
	 */
	struct kvm_clock_data clock = {.clock = vm->pause.clock.clock};
	int ret;

	if (ioctl(vm->vm_fd, KVM_SET_CLOCK, &clock) < 0)
		log_warn(&vm->log, "resume: KVM_SET_CLOCK failed: %s; the guest's clock jumps",
			 strerror(errno));
	ret = ev_pause_devices(vm->loop, false);
	if (ret < 0)
		log_warn(&vm->log, "resume: a device source could not rejoin the loop: %s",
			 strerror(-ret));
	vm_unpark(vm);
	log_info(&vm->log, "resumed");
	return 0;
}

static int vm_do_replace_disk(struct vm *vm, unsigned index, struct disk_image *img)
{
	struct virtio_slot *slot = &vm->virtio[vm->disk_slot[index]];
	uint64_t size = img->size;
	char path[256];
	int ret;

	snprintf(path, sizeof(path), "%s", img->path ? img->path : "?");
	ret = virtio_blk_replace_image(slot->dev, img);
	if (ret < 0)
		return ret;
	/* Swapped now: tell the driver (config generation + interrupt, §2.5.1). */
	if (ret == 0)
		virtio_config_changed(slot->transport);
	log_info(&vm->log, "vd%c: now %s, %" PRIu64 " MiB%s", 'a' + index, path, size >> 20,
		 ret > 0 ? " (after the request in flight)" : "");
	return 0;
}

static int vm_control_exec(void *opaque, struct ctl_request *req)
{
	struct vm *vm = opaque;

	switch (req->cmd) {
	case CTL_PAUSE:
		return vm_do_pause(vm);
	case CTL_RESUME:
		return vm_do_resume(vm);
	case CTL_POWER_BUTTON:
		return vm_power_button(vm);
	case CTL_REPLACE_DISK:
		return vm_do_replace_disk(vm, req->index, req->arg);
	default:
		return -EINVAL;
	}
}

int vm_replace_disk(struct vm *vm, unsigned index, const char *path, struct vmm_err *err)
{
	struct ctl_request req = {.cmd = CTL_REPLACE_DISK, .index = index};
	const struct mvm_disk_config *dc;
	struct disk_image *img;
	int ret;

	if (index >= vm->ndisks)
		return vmm_errf(err, -EINVAL, "no disk %u (the VM has %u)", index, vm->ndisks);
	if (!path || !path[0])
		return vmm_errf(err, -EINVAL, "no image path for disk %u", index);
	dc = &vm->disk_cfg[index];
	img = calloc(1, sizeof(*img));
	if (!img)
		return vmm_errf(err, -ENOMEM, "out of memory");
	/* Here, on the caller's thread: the loop's filter allows no open(). */
	ret = disk_image_open(img, path, dc->read_only, dc->cache == MVM_DISK_CACHE_NONE, &vm->log,
			      err);
	if (ret < 0) {
		free(img);
		return ret;
	}
	req.arg = img;
	ret = ctl_post(&vm->control, &req);
	if (ret < 0)
		vmm_errf(err, ret, "disk %u not replaced: %s", index,
			 ret == -EINVAL ? "the VM is not running" : strerror(-ret));
	/* The device took what it needed (fd, path): whatever is left is ours to close. */
	disk_image_close(img);
	free(img);
	return ret;
}

/* ---- Metrics ------------------------------------------------------------------ */

int vm_metrics(struct vm *vm, mvm_metric_fn fn, void *opaque)
{
	unsigned nblk = 0, nnet = 0;
	char name[48];

	if (!fn)
		return -EINVAL;
	fn(opaque, "vm.uptime_ns", ctl_uptime_ns(&vm->control));
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct vcpu_stats *st = &vm->vcpus[i]->stats;
		const struct {
			const char *what;
			_Atomic uint64_t *v;
		} c[] = {{"run_ns", &st->run_ns},
			 {"exits_io", &st->exits_io},
			 {"exits_mmio", &st->exits_mmio},
			 {"exits_other", &st->exits_other}};

		for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
			snprintf(name, sizeof(name), "vcpu%u.%s", i, c[k].what);
			fn(opaque, name, atomic_load_explicit(c[k].v, memory_order_relaxed));
		}
	}
	for (unsigned i = 0; i < vm->nvirtio; i++) {
		const struct virtio_slot *slot = &vm->virtio[i];

		if (!slot->ops || !slot->ops->metrics)
			continue;
		switch (slot->ops->device_id) {
		case VIRTIO_ID_BLOCK:
			snprintf(name, sizeof(name), "blk%u", nblk++);
			break;
		case VIRTIO_ID_NET:
			snprintf(name, sizeof(name), "net%u", nnet++);
			break;
		case VIRTIO_ID_RNG:
			snprintf(name, sizeof(name), "rng");
			break;
		case VIRTIO_ID_VSOCK:
			snprintf(name, sizeof(name), "vsock");
			break;
		default:
			snprintf(name, sizeof(name), "virtio%u", i);
			break;
		}
		slot->ops->metrics(slot->dev, name, fn, opaque);
	}
	return 0;
}

void vm_destroy(struct vm *vm)
{
	if (!vm)
		return;
	if (vm->vcpus) {
		for (unsigned i = 0; i < vm->ncpus; i++) {
			if (vm->vcpus[i]) {
				vcpu_kick(vm->vcpus[i]);
				vcpu_join(vm->vcpus[i]);
				vcpu_destroy(vm->vcpus[i]);
			}
		}
		free(vm->vcpus);
	}
	console_destroy(&vm->console);
	ctl_destroy(&vm->control);
	destroy_devices(vm);
	if (vm->loop)
		ev_loop_destroy(vm->loop);
	bus_destroy(&vm->pio);
	bus_destroy(&vm->mmio);
	gm_destroy(&vm->mem);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	unmap_input_file(&vm->kernel);
	unmap_input_file(&vm->initrd);
	free(vm->initrd_unpacked);
	sc_filters_free(&vm->seccomp);
	pthread_cond_destroy(&vm->pause.cond);
	pthread_mutex_destroy(&vm->pause.lock);
	free(vm);
}

int vm_power_button(struct vm *vm)
{
	int ret;

	/*
	 * Without ACPI the guest has no power button; Firecracker's
	 * SendCtrlAltDel types Ctrl-Alt-Del, which Linux's keyboard driver turns
	 * into SIGINT to init (kernel.ctrl-alt-del = 0) or a reboot.
	 */
	if (vm->acpi_off) {
		ret = i8042_ctrl_alt_del(vm->i8042);
		if (ret == -EAGAIN)
			log_warn(&vm->log, "power button: the guest (acpi=off) has no keyboard "
					   "driver listening yet; Ctrl-Alt-Del not sent");
		else if (ret == -EBUSY)
			log_warn(&vm->log, "power button: the guest has not read the keys typed "
					   "before; Ctrl-Alt-Del not sent");
		else if (ret == 0)
			log_info(&vm->log, "power button: Ctrl-Alt-Del sent (acpi=off)");
		return ret;
	}
	/* An edge on the GED's GSI is a press: its _EVT notifies the button with 0x80. */
	vm->irqchip.set_level(vm->irqchip.opaque, vm->power_button_gsi, 1);
	vm->irqchip.set_level(vm->irqchip.opaque, vm->power_button_gsi, 0);
	log_info(&vm->log, "power button: pressed (ACPI GED, GSI %u)", vm->power_button_gsi);
	return 0;
}
