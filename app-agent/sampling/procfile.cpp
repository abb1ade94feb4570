// SPDX-License-Identifier: MIT
// platform: linux — compiled only on Linux (app-agent/sampling/CMakeLists.txt).
#include "sampling/procfile.h"

#include <QFile>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace autofact::agent {

namespace {
// /proc/stat on a 2-core VM is ~1 KiB, on 8 cores with a long intr line ~130 KiB; start small
// and let the first read grow the buffer once.
constexpr qsizetype initialBufferSize = 4096;
} // namespace

ProcFile::ProcFile(const QString &path)
    : m_path(path)
    , m_nativePath(QFile::encodeName(path))
{
}

bool ProcFile::read(QString *error)
{
    m_size = 0;
    // Plain open/read/close: QFile adds an fstat, a QFileInfo cache and allocations per open,
    // which is most of the cost of reading a 1 KiB procfs file.
    const int fd = ::open(m_nativePath.constData(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (error)
            *error = m_path + u": " + QString::fromLocal8Bit(std::strerror(errno));
        return false;
    }
    if (m_buffer.size() < initialBufferSize)
        m_buffer.resize(initialBufferSize);
    qsizetype size = 0;
    for (;;) {
        if (size == m_buffer.size())
            m_buffer.resize(m_buffer.size() * 2);
        const ssize_t n = ::read(fd, m_buffer.data() + size, size_t(m_buffer.size() - size));
        if (n > 0) {
            size += n;
        } else if (n == 0) {
            break;
        } else if (errno != EINTR) {
            const int saved = errno;
            ::close(fd);
            if (error)
                *error = m_path + u": " + QString::fromLocal8Bit(std::strerror(saved));
            return false;
        }
    }
    ::close(fd);
    m_size = size;
    return true;
}

} // namespace autofact::agent
