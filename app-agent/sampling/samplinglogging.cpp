// SPDX-License-Identifier: MIT
#include "sampling/samplinglogging.h"

Q_LOGGING_CATEGORY(lcSampler, "autofact.agent.sampler")
