// SPDX-License-Identifier: MIT
#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QString>

namespace autofact::agent {

/**
 * Reads a small kernel text file (/proc, /sys) whole, into a buffer that is kept between reads.
 *
 * procfs files report a size of 0, so the file is read until end of file; the buffer doubles
 * when a read fills it and keeps its size afterwards, so steady-state reads do not allocate.
 * The file is opened on the first read() and kept open: each later read() starts with a
 * pread() from offset 0, which makes the kernel generate the text anew.
 */
class ProcFile
{
public:
    enum class Layout {
        /// Read until read() returns 0. Files that list one entry per item (cpuinfo, diskstats,
        /// net/dev, mountinfo) hand out about a page per read, short of the end.
        Records,
        /// The kernel formats the whole file in one go (single_open(): stat, meminfo, loadavg),
        /// so a read that does not fill the buffer reached the end: one pread() per read().
        SingleRecord,
    };

    explicit ProcFile(const QString &path, Layout layout = Layout::Records);
    ~ProcFile();
    ProcFile(ProcFile &&other) noexcept;
    ProcFile(const ProcFile &) = delete;
    ProcFile &operator=(const ProcFile &) = delete;
    ProcFile &operator=(ProcFile &&) = delete;

    /**
     * Reads the whole file. On failure returns false, leaves data() empty and, if @p error is
     * not null, sets it to a one-line reason naming the file.
     */
    bool read(QString *error = nullptr);

    /**
     * read(), then @p parse(data(), error); a parse error is prefixed with the file's path.
     * The parsers' read() methods are this one call.
     */
    template<typename Parse>
    bool readAndParse(Parse &&parse, QString *error)
    {
        if (!read(error))
            return false;
        if (!parse(data(), error)) {
            if (error)
                *error = m_path + u": " + *error;
            return false;
        }
        return true;
    }

    /** Bytes of the last successful read(); valid until the next read(). */
    QByteArrayView data() const { return QByteArrayView(m_buffer.constData(), m_size); }

    const QString &path() const { return m_path; }

private:
    void closeFile();

    QString m_path;
    QByteArray m_nativePath;
    QByteArray m_buffer;
    qsizetype m_size = 0;
    int m_fd = -1; ///< open between reads; closed after a failed read
    Layout m_layout = Layout::Records;
};

} // namespace autofact::agent
