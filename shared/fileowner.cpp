// SPDX-License-Identifier: MIT
// platform: unix — compiled everywhere but Windows (shared/CMakeLists.txt).
#include "fileowner.h"

#include <QFile>

#include <cerrno>
#include <cstring>

#include <sys/stat.h>
#include <unistd.h>

namespace autofact::fileowner {

QString copyOwner(int fd, const QString &path)
{
    struct stat existing {};
    if (::stat(QFile::encodeName(path).constData(), &existing) != 0)
        return {};
    if (::fchown(fd, existing.st_uid, existing.st_gid) != 0)
        return QString::fromLocal8Bit(std::strerror(errno));
    return {};
}

} // namespace autofact::fileowner
