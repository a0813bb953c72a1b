/* SPDX-License-Identifier: MIT */
/* Everything a test guest includes (tests/guests/README.md). */
#ifndef GUEST_GUEST_H
#define GUEST_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/layout.h"
#include "tests/guests/lib/acpi.h"
#include "tests/guests/lib/boot.h"
#include "tests/guests/lib/io.h"
#include "tests/guests/lib/report.h"
#include "tests/guests/lib/serial.h"
#include "tests/guests/lib/str.h"

#endif
