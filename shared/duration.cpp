// SPDX-License-Identifier: MIT
#include "duration.h"

#include <QStringBuilder>

#include <cmath>
#include <limits>

namespace autofact::duration {

std::optional<std::chrono::milliseconds> parse(QStringView text)
{
    text = text.trimmed();
    if (text.isEmpty())
        return std::nullopt;
    double totalMs = 0;
    qsizetype i = 0;
    while (i < text.size()) {
        const qsizetype numberStart = i;
        bool sawDigit = false;
        bool sawDot = false;
        while (i < text.size() && (text[i].isDigit() || (text[i] == u'.' && !sawDot))) {
            sawDot = sawDot || text[i] == u'.';
            sawDigit = sawDigit || text[i].isDigit();
            ++i;
        }
        if (!sawDigit)
            return std::nullopt;
        bool ok = false;
        const double number = text.mid(numberStart, i - numberStart).toDouble(&ok);
        if (!ok)
            return std::nullopt;
        const qsizetype unitStart = i;
        while (i < text.size() && text[i].isLetter())
            ++i;
        const QStringView unit = text.mid(unitStart, i - unitStart);
        double scale = 0;
        if (unit == u"ms")
            scale = 1;
        else if (unit == u"s")
            scale = 1000;
        else if (unit == u"m")
            scale = 60 * 1000;
        else if (unit == u"h")
            scale = 3600 * 1000;
        else if (unit == u"d")
            scale = 24 * 3600 * 1000;
        else
            return std::nullopt;
        totalMs += number * scale;
    }
    if (!std::isfinite(totalMs) || totalMs > double(std::numeric_limits<std::int64_t>::max() / 2))
        return std::nullopt;
    return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(totalMs)));
}

QString format(std::chrono::milliseconds value)
{
    std::int64_t ms = value.count();
    if (ms == 0)
        return QStringLiteral("0s");
    QString out;
    if (ms < 0) {
        out += u'-';
        ms = -ms;
    }
    struct Unit {
        std::int64_t ms;
        char16_t name;
    };
    static constexpr Unit units[] = {{24ll * 3600 * 1000, u'd'}, {3600 * 1000, u'h'},
                                     {60 * 1000, u'm'},          {1000, u's'}};
    for (const Unit &u : units) {
        if (ms >= u.ms) {
            out += QString::number(ms / u.ms) + QChar(u.name);
            ms %= u.ms;
        }
    }
    if (ms > 0)
        out += QString::number(ms) + QStringLiteral("ms");
    return out;
}

} // namespace autofact::duration
