// SPDX-License-Identifier: MIT
#include "agentlogging.h"

Q_LOGGING_CATEGORY(lcAgent, "autofact.agent")
Q_LOGGING_CATEGORY(lcSampler, "autofact.agent.sampler")
Q_LOGGING_CATEGORY(lcSpool, "autofact.agent.spool")
Q_LOGGING_CATEGORY(lcLink, "autofact.agent.link")
