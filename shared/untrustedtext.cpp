// SPDX-License-Identifier: MIT
#include "untrustedtext.h"

namespace autofact {

namespace {
bool isUnsafe(char16_t c)
{
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) // C0, DEL, C1
        return true;
    switch (c) {
    case 0x061c: // arabic letter mark
    case 0x200e: // left-to-right mark
    case 0x200f: // right-to-left mark
    case 0x2028: // line separator
    case 0x2029: // paragraph separator
        return true;
    default:
        break;
    }
    return (c >= 0x202a && c <= 0x202e)    // embeddings and overrides
           || (c >= 0x2066 && c <= 0x2069); // isolates
}
} // namespace

QString cleanUntrustedText(QStringView text)
{
    qsizetype i = 0;
    while (i < text.size() && !isUnsafe(text[i].unicode()))
        ++i;
    if (i == text.size())
        return text.toString(); // the common case: nothing to remove, one copy
    QString out;
    out.reserve(text.size());
    out.append(text.left(i));
    for (; i < text.size(); ++i) {
        if (!isUnsafe(text[i].unicode()))
            out.append(text[i]);
    }
    return out;
}

} // namespace autofact
