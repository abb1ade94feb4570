// SPDX-License-Identifier: MIT
#pragma once

#include <QLoggingCategory>

Q_DECLARE_LOGGING_CATEGORY(lcAgent)
Q_DECLARE_LOGGING_CATEGORY(lcSampler)
Q_DECLARE_LOGGING_CATEGORY(lcSpool)
Q_DECLARE_LOGGING_CATEGORY(lcLink)
