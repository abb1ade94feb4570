// SPDX-License-Identifier: MIT
#pragma once

#include <QString>
#include <QStringView>

namespace autofact {

/**
 * Text a peer sent (an agent's hostname, a close reason, a server's error reason), made safe
 * to keep, log and show: C0/C1 control characters (newlines that would forge log lines, ANSI
 * escapes that would drive a terminal), line and paragraph separators, and the bidirectional
 * embedding, override and isolate marks (which can make "exe.txt" read "txt.exe") are
 * removed; everything else is kept as it came. Length limits are the codec's (maxStringBytes).
 */
QString cleanUntrustedText(QStringView text);

} // namespace autofact
