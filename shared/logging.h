// SPDX-License-Identifier: MIT
#pragma once

#include <QLoggingCategory>

// Categories of the shared library. Apps declare their own (autofact.agent.*, autofact.server.*).
Q_DECLARE_LOGGING_CATEGORY(lcConfig)
