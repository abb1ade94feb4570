// SPDX-License-Identifier: MIT
#pragma once

#include <QLoggingCategory>

/// autofact.dashboard: the desktop dashboard (models, history reads, export, windows).
Q_DECLARE_LOGGING_CATEGORY(lcDashboard)
