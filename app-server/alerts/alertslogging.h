// SPDX-License-Identifier: MIT
#pragma once

#include <QLoggingCategory>

namespace autofact::server {
Q_DECLARE_LOGGING_CATEGORY(lcAlerts)  ///< autofact.server.alerts: firings, resolutions
Q_DECLARE_LOGGING_CATEGORY(lcNotify)  ///< autofact.server.notify: deliveries, retries, dead letters
} // namespace autofact::server
