/* SPDX-License-Identifier: MIT */
/* `minivmm snapshot-info FILE` (README "Snapshots"): the CLI hands over here. */
#ifndef MINIVMM_SNAPFILE_INFO_H
#define MINIVMM_SNAPFILE_INFO_H

#include <stdio.h>

/* Exit statuses of snapshot-info: the file is valid, or it is not, or we could not tell. */
enum {
	SNAP_INFO_VALID = 0,
	SNAP_INFO_INVALID = 1,
	SNAP_INFO_ERROR = 125,
};

/*
 * Validates FILE and prints its header and one line per section to out;
 * on a damaged or foreign file, one line on errout and SNAP_INFO_INVALID;
 * on a host error (cannot open or read) or bad usage, SNAP_INFO_ERROR.
 * argv[0] is "snapshot-info".
 */
int snapshot_info_main(int argc, char **argv, FILE *out, FILE *errout);

#endif
