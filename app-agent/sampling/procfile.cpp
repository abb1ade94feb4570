// SPDX-License-Identifier: MIT
// platform: linux — compiled only on Linux (app-agent/sampling/CMakeLists.txt).
#include "sampling/procfile.h"

#include <QFile>

#include <cerrno>
#include <cstring>
#include <utility>
#include <fcntl.h>
#include <unistd.h>

namespace autofact::agent {

namespace {
// /proc/stat on a 2-core VM is ~1 KiB, on 8 cores with a long intr line ~130 KiB; start small
// and let the first read grow the buffer once.
constexpr qsizetype initialBufferSize = 4096;
} // namespace

ProcFile::ProcFile(const QString &path, Layout layout)
    : m_path(path)
    , m_nativePath(QFile::encodeName(path))
    , m_layout(layout)
{
}

ProcFile::~ProcFile()
{
    closeFile();
}

ProcFile::ProcFile(ProcFile &&other) noexcept
    : m_path(std::move(other.m_path))
    , m_nativePath(std::move(other.m_nativePath))
    , m_buffer(std::move(other.m_buffer))
    , m_size(other.m_size)
    , m_fd(std::exchange(other.m_fd, -1))
    , m_layout(other.m_layout)
{
}

void ProcFile::closeFile()
{
    if (m_fd >= 0)
        ::close(m_fd);
    m_fd = -1;
}

bool ProcFile::read(QString *error)
{
    m_size = 0;
    const auto fail = [&](int code) {
        closeFile(); // the next read opens afresh
        if (error)
            *error = m_path + u": " + QString::fromLocal8Bit(std::strerror(code));
        return false;
    };
    // Opened once and kept: on this project's VMs every system call costs microseconds, and
    // open/read/read/close per file per sample was most of the agent's syscalls. Plain POSIX,
    // not QFile, which adds an fstat, a QFileInfo cache and allocations.
    if (m_fd < 0) {
        m_fd = ::open(m_nativePath.constData(), O_RDONLY | O_CLOEXEC);
        if (m_fd < 0)
            return fail(errno);
    }
    if (m_buffer.size() < initialBufferSize)
        m_buffer.resize(initialBufferSize);
    qsizetype size = 0;
    for (;;) {
        if (size == m_buffer.size())
            m_buffer.resize(m_buffer.size() * 2);
        const qsizetype room = m_buffer.size() - size;
        // A read from offset 0 makes the kernel generate the procfs text anew (procps reads
        // /proc/stat the same way); later reads continue that same text.
        const ssize_t n = ::pread(m_fd, m_buffer.data() + size, size_t(room), off_t(size));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return fail(errno);
        }
        size += n;
        if (n == 0 || (m_layout == Layout::SingleRecord && n < room))
            break;
    }
    m_size = size;
    return true;
}

} // namespace autofact::agent
