// SPDX-License-Identifier: MIT
#include "spool/spoollogging.h"

Q_LOGGING_CATEGORY(lcSpool, "autofact.agent.spool")
