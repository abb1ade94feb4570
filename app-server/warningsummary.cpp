// SPDX-License-Identifier: MIT
#include "warningsummary.h"

namespace autofact::server {

void WarningSummary::note(const QString &kind, const QString &address, const QString &detail)
{
    Kind &k = m_kinds[kind];
    if (!k.firstLogged) {
        k.firstLogged = true;
        m_sink(detail);
        return;
    }
    ++k.more;
    ++k.byAddress[address];
}

void WarningSummary::flush(int seconds)
{
    for (auto it = m_kinds.begin(); it != m_kinds.end(); ++it) {
        Kind &k = it.value();
        if (k.more > 0) {
            QString top;
            int topCount = 0;
            for (auto a = k.byAddress.cbegin(); a != k.byAddress.cend(); ++a) {
                if (a.value() > topCount || (a.value() == topCount && a.key() < top)) {
                    top = a.key();
                    topCount = a.value();
                }
            }
            m_sink(QStringLiteral("%1: %2 more in the last %3 s from %4 address(es), most from %5 (%6)")
                       .arg(it.key())
                       .arg(k.more)
                       .arg(seconds)
                       .arg(k.byAddress.size())
                       .arg(top)
                       .arg(topCount));
        }
    }
    // The next interval starts afresh: its first event of each kind is logged at once.
    m_kinds.clear();
}

} // namespace autofact::server
