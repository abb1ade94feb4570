// SPDX-License-Identifier: MIT
#include "metricslogging.h"

Q_LOGGING_CATEGORY(lcMetrics, "autofact.server.metrics")
