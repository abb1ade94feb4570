// SPDX-License-Identifier: MIT
#pragma once

#include <QFileDevice>
#include <QJsonObject>
#include <QString>

#include <optional>

namespace autofact {

/** Reading and atomically writing small JSON documents (agent config, load-generator state). */
namespace jsonfile {

/** A loaded object, or a one-line error naming the file and the problem. */
struct LoadResult {
    std::optional<QJsonObject> object;
    bool missing = false; ///< the file does not exist (not an error for a first run)
    QString error;
    bool ok() const { return object.has_value(); }
};

/** Loads @p path; refuses files over @p maxBytes, unparsable JSON and non-object roots. */
LoadResult load(const QString &path, qint64 maxBytes = 1024 * 1024);

/**
 * What load() does with the bytes it read: unparsable JSON and non-object roots are refused
 * with an error naming @p path. Never sets LoadResult::missing.
 */
LoadResult parse(const QByteArray &bytes, const QString &path);

/**
 * Writes @p object to @p path through QSaveFile (write to a temporary, fsync, rename), so a
 * crash leaves the old or the new file, never half of one. Creates missing parent folders.
 * A new file gets @p permissions; an existing one keeps its mode without access for others,
 * and its owner and group where the writer is allowed to set them.
 * @return an empty string on success, else a one-line error.
 */
QString save(const QString &path, const QJsonObject &object,
             QFileDevice::Permissions permissions = QFileDevice::ReadOwner
                                                    | QFileDevice::WriteOwner);

} // namespace jsonfile
} // namespace autofact
