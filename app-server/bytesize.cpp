// SPDX-License-Identifier: MIT
#include "bytesize.h"

#include <QRegularExpression>

#include <cmath>

namespace autofact::server::bytesize {

std::optional<qint64> parse(QStringView text)
{
    static const QRegularExpression shape(QStringLiteral("^\\s*(\\d+(?:\\.\\d+)?)\\s*([KMGT]i?B|B)?\\s*$"),
                                          QRegularExpression::CaseInsensitiveOption);
    const QRegularExpressionMatch m = shape.match(text.toString());
    if (!m.hasMatch())
        return std::nullopt;
    const double number = m.captured(1).toDouble();
    const QString unit = m.captured(2).toUpper();
    double scale = 1;
    if (!unit.isEmpty() && unit != u"B") {
        const int power = int(QStringLiteral("KMGT").indexOf(unit.at(0))) + 1;
        scale = std::pow(unit.contains(u'I') ? 1024.0 : 1000.0, power);
    }
    const double bytes = number * scale;
    if (bytes > 9.0e18)
        return std::nullopt;
    return qint64(bytes);
}

QString format(qint64 bytes)
{
    const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = double(bytes);
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        ++u;
    }
    return u == 0 ? QStringLiteral("%1 B").arg(bytes)
                  : QStringLiteral("%1 %2").arg(v, 0, 'f', 1).arg(QLatin1StringView(units[u]));
}

} // namespace autofact::server::bytesize
