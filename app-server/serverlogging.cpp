// SPDX-License-Identifier: MIT
#include "serverlogging.h"

Q_LOGGING_CATEGORY(lcServer, "autofact.server")
Q_LOGGING_CATEGORY(lcHub, "autofact.server.hub")
Q_LOGGING_CATEGORY(lcExport, "autofact.server.export")
Q_LOGGING_CATEGORY(lcFleet, "autofact.server.fleet")
