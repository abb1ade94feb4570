// SPDX-License-Identifier: MIT
#include "alertslogging.h"

namespace autofact::server {
Q_LOGGING_CATEGORY(lcAlerts, "autofact.server.alerts")
Q_LOGGING_CATEGORY(lcNotify, "autofact.server.notify")
} // namespace autofact::server
