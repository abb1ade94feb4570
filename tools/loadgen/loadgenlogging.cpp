// SPDX-License-Identifier: MIT
#include "loadgenlogging.h"

Q_LOGGING_CATEGORY(lcLoadgen, "autofact.loadgen")
