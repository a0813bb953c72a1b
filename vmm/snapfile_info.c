/* SPDX-License-Identifier: MIT */
#include "vmm/snapfile_info.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "vmm/snapfile.h"

int snapshot_info_main(int argc, char **argv, FILE *out, FILE *errout)
{
	struct vmm_err err = {{0}};
	struct snap_reader *r;
	const struct snap_info *h;
	const char *arch;
	int ret;

	if (argc != 2 || argv[1][0] == '-') {
		bool help = argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"));

		/* Asked-for help is output (stdout, 0); a wrong call is an error (stderr, 125). */
		fprintf(help ? out : errout,
			"Usage: minivmm snapshot-info FILE\n"
			"Validates a snapshot state file and prints its header and sections.\n"
			"Exit status: 0 valid, 1 damaged or foreign, 125 cannot read it.\n");
		return help ? SNAP_INFO_VALID : SNAP_INFO_ERROR;
	}
	ret = snap_read_file(argv[1], &r, &err);
	if (ret < 0) {
		fprintf(errout, "minivmm: %s\n", err.msg[0] ? err.msg : strerror(-ret));
		/* Damaged or foreign: the answer to the question asked, not a failure to ask it. */
		return ret == -EBADMSG || ret == -ENOTSUP ? SNAP_INFO_INVALID : SNAP_INFO_ERROR;
	}
	h = snap_reader_info(r);
	arch = snap_arch_name(h->arch);
	fprintf(out, "state file %s\n", argv[1]);
	fprintf(out, "format:   %u.%u%s\n", h->major, h->minor,
		h->minor > SNAP_VERSION_MINOR ? " (newer than this minivmm's: unknown optional "
						"sections are skipped)"
					      : "");
	fprintf(out, "arch:     %s\n", arch ? arch : "?");
	fprintf(out, "length:   %" PRIu64 " bytes, header %" PRIu32 " bytes, flags %#" PRIx64 "\n",
		h->file_len, h->header_len, h->flags);
	fprintf(out, "checksum: header %08" PRIx32 " ok, file %08" PRIx32 " ok\n", h->header_crc,
		h->file_crc);
	fprintf(out, "sections: %" PRIu32 "\n", h->sections);
	fprintf(out, "%5s  %-10s %10s %12s %12s  %s\n", "#", "tag", "index", "offset", "length",
		"crc32");
	for (uint32_t i = 0; i < snap_reader_count(r); i++) {
		const struct snap_section *s = snap_reader_section(r, i);
		char t[12];

		fprintf(out,
			"%5" PRIu32 "  %-10s %10" PRIu32 " %12" PRIu64 " %12" PRIu64 "  %08" PRIx32
			" ok%s\n",
			i, snap_tag_str(s->tag, t), s->index, s->offset, s->len, s->crc,
			s->known ? "" : ", unknown optional section: skipped");
	}
	snap_reader_free(r);
	return SNAP_INFO_VALID;
}
