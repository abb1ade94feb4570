// SPDX-License-Identifier: MIT
#include "dashboardlogging.h"

Q_LOGGING_CATEGORY(lcDashboard, "autofact.dashboard", QtInfoMsg)
