// SPDX-License-Identifier: MIT
#pragma once

#include <QByteArray>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QString>

namespace autofact::testdata {

/** Path of a saved /proc file under tests/fixtures/procfs/. */
inline QString procFixture(const QString &name)
{
    return QStringLiteral(AUTOFACT_FIXTURES "/procfs/") + name;
}

/** Contents of a saved /proc file; a missing fixture ends the test run. */
inline QByteArray readProcFixture(const QString &name)
{
    QFile f(procFixture(name));
    if (!f.open(QIODevice::ReadOnly))
        qFatal("missing fixture %s", qPrintable(name));
    return f.readAll();
}

/** Writes @p bytes to @p path (replacing it, creating its folder); a failure ends the test run. */
inline QString writeFile(const QString &path, const QByteArray &bytes)
{
    QDir().mkpath(QFileInfo(path).absolutePath());
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate) || f.write(bytes) != bytes.size())
        qFatal("cannot write %s", qPrintable(path));
    return path;
}

/** Contents of @p path; a missing file ends the test run. */
inline QByteArray readFile(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        qFatal("cannot read %s", qPrintable(path));
    return f.readAll();
}

} // namespace autofact::testdata
