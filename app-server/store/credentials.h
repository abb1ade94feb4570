// SPDX-License-Identifier: MIT
#pragma once

#include <QByteArray>

namespace autofact::server::credentials {

/** @p count bytes from the operating system's random source (IDs, secrets, salts, tokens). */
QByteArray randomBytes(int count);

/**
 * Compares two hashes over their whole length whatever the content, so timing reveals nothing
 * about where a guessed secret or token first differs.
 */
bool constantTimeEquals(const QByteArray &a, const QByteArray &b);

} // namespace autofact::server::credentials
