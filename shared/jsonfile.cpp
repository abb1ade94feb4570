// SPDX-License-Identifier: MIT
#include "jsonfile.h"

#include "fileowner.h"
#include "logging.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonParseError>
#include <QSaveFile>
#include <QStringBuilder>

namespace autofact::jsonfile {

LoadResult load(const QString &path, qint64 maxBytes)
{
    LoadResult result;
    QFile file(path);
    if (!file.exists()) {
        result.missing = true;
        result.error = path + QStringLiteral(": file does not exist");
        return result;
    }
    if (!file.open(QIODevice::ReadOnly)) {
        result.error = path + QStringLiteral(": cannot open: ") + file.errorString();
        return result;
    }
    if (file.size() > maxBytes) {
        result.error = path + QStringLiteral(": %1 bytes is over the %2-byte limit")
                                  .arg(file.size())
                                  .arg(maxBytes);
        return result;
    }
    return parse(file.read(maxBytes + 1), path);
}

LoadResult parse(const QByteArray &bytes, const QString &path)
{
    LoadResult result;
    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(bytes, &parseError);
    if (parseError.error != QJsonParseError::NoError) {
        result.error = path + QStringLiteral(": invalid JSON at offset %1: %2")
                                  .arg(parseError.offset)
                                  .arg(parseError.errorString());
        return result;
    }
    if (!doc.isObject()) {
        result.error = path + QStringLiteral(": the top level must be a JSON object");
        return result;
    }
    result.object = doc.object();
    return result;
}

QString save(const QString &path, const QJsonObject &object, QFileDevice::Permissions permissions)
{
    const QFileInfo info(path);
    if (!QDir().mkpath(info.absolutePath()))
        return path + QStringLiteral(": cannot create folder ") + info.absolutePath();
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly))
        return path + QStringLiteral(": cannot write: ") + file.errorString();
    // Permissions go on the temporary file before any secret is written to it. A file that
    // exists keeps its mode (never with access for others) and, where the writer may set them
    // (root editing a packaged file), its owner and group: the service reading it must still
    // be able to after an edit.
    if (info.exists()) {
        permissions = info.permissions()
                      & (QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner
                         | QFileDevice::ReadGroup | QFileDevice::WriteGroup | QFileDevice::ExeGroup);
        if (const QString why = fileowner::copyOwner(file.handle(), path); !why.isEmpty())
            qCDebug(lcConfig) << "keeping" << path << "owned by its writer:" << why;
    }
    file.setPermissions(permissions);
    const QByteArray bytes = QJsonDocument(object).toJson(QJsonDocument::Indented);
    if (file.write(bytes) != bytes.size()) {
        const QString error = file.errorString();
        file.cancelWriting();
        return path + QStringLiteral(": write failed: ") + error;
    }
    if (!file.commit())
        return path + QStringLiteral(": commit failed: ") + file.errorString();
    qCDebug(lcConfig) << "saved" << path;
    return {};
}

} // namespace autofact::jsonfile
