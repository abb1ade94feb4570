// SPDX-License-Identifier: MIT
#pragma once

#include <QString>

namespace autofact::fileowner {

/**
 * Gives the open file @p fd the owner and group of the existing file @p path, where the
 * process may (root editing a packaged config; a user may set a group they belong to).
 * Returns an empty string on success or when there is nothing to do, else why not; a failure
 * leaves the file owned by its writer, which is never worse than not trying.
 * Unix only; elsewhere a no-op.
 */
QString copyOwner(int fd, const QString &path);

} // namespace autofact::fileowner
