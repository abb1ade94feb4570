// SPDX-License-Identifier: MIT
#include "transaction.h"

#include "database.h"
#include "storelogging.h"

namespace autofact::server {

Transaction::~Transaction()
{
    if (m_active && !m_db.exec(QStringLiteral("ROLLBACK")))
        qCWarning(lcStore) << "rollback failed on" << m_db.path();
}

StoreResult<void> Transaction::begin()
{
    auto q = m_db.exec(QStringLiteral("BEGIN IMMEDIATE"));
    if (!q)
        return q.error();
    m_active = true;
    return {};
}

StoreResult<void> Transaction::commit()
{
    auto q = m_db.exec(QStringLiteral("COMMIT"));
    if (!q)
        return q.error();
    m_active = false;
    return {};
}

} // namespace autofact::server
