// SPDX-License-Identifier: MIT
#include "transaction.h"

#include "database.h"
#include "storelogging.h"

namespace autofact::server {

Transaction::~Transaction()
{
    if (!m_active)
        return;
    m_db.forgetPartitions();
    if (!m_db.exec(QStringLiteral("ROLLBACK")))
        qCWarning(lcStore) << "rollback failed on" << m_db.location().display();
    m_db.setInTransaction(false);
}

StoreResult<void> Transaction::begin()
{
    // SQLite: take the write lock now, not at the first write, so a busy database fails here.
    // PostgreSQL: row locks (ingest locks its client's row first) order concurrent nodes.
    auto q = m_db.exec(m_db.isPostgres() ? QStringLiteral("BEGIN") : QStringLiteral("BEGIN IMMEDIATE"));
    if (!q)
        return q.error();
    m_active = true;
    m_db.setInTransaction(true);
    return {};
}

StoreResult<void> Transaction::commit()
{
    auto q = m_db.exec(QStringLiteral("COMMIT"));
    if (!q)
        return q.error();
    m_active = false;
    m_db.setInTransaction(false);
    return {};
}

} // namespace autofact::server
