// SPDX-License-Identifier: MIT
#include "link/linklogging.h"

Q_LOGGING_CATEGORY(lcLink, "autofact.agent.link")
