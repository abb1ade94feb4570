// SPDX-License-Identifier: MIT
#pragma once

#include "store/store.h"
#include "store/storeresult.h"

#include <QTest>

/**
 * STORE_OK(expr): the value of a StoreResult in a test. A failed result fails the running
 * test at the caller's line, naming the call and the store's error, and yields a default
 * value so the test can reach its next check (which then fails too, or returns).
 */
#define STORE_OK(expr) ::autofact::testing::storeValue((expr), #expr, __FILE__, __LINE__)
/** QVERIFY for a StoreResult, with the store's error as the message. */
#define QVERIFY_STORE(expr)                                                                         \
    do {                                                                                            \
        const auto result_ = (expr);                                                                \
        QVERIFY2(result_.ok(), qPrintable(result_.errorMessage()));                                 \
    } while (false)

namespace autofact::testing {

/**
 * The store's enrolment with tokens not required: for tests that need clients but are not
 * about how they enrol (tst_store's token cases use store.enrolment() as it is).
 */
inline server::Enrolment &trustedEnrolment(server::Store &store)
{
    store.enrolment().setTokenRequired(false);
    return store.enrolment();
}

template<typename T>
T storeValue(server::StoreResult<T> result, const char *expr, const char *file, int line)
{
    if (!result.ok()) {
        QTest::qFail(qPrintable(QStringLiteral("%1 failed: %2")
                                        .arg(QLatin1StringView(expr), result.error().message)),
                     file, line);
        return T{};
    }
    return std::move(result).value();
}

inline void storeValue(server::StoreResult<void> result, const char *expr, const char *file, int line)
{
    if (!result.ok())
        QTest::qFail(qPrintable(QStringLiteral("%1 failed: %2")
                                        .arg(QLatin1StringView(expr), result.error().message)),
                     file, line);
}

} // namespace autofact::testing
