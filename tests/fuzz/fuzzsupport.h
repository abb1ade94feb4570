// SPDX-License-Identifier: MIT
#pragma once

#include <QCoreApplication>
#include <QLoggingCategory>

#include <cstdio>
#include <cstdlib>

/**
 * What every fuzz target shares: a QCoreApplication (Qt Sql and QStandardPaths want one),
 * silenced logging (the product warns about every malformed input, which would drown the
 * fuzzer's own output and cost most of its time), and abort-with-a-reason for broken rules.
 */
namespace autofact::fuzz {

inline void initQt(int *argc, char ***argv)
{
    static QCoreApplication app(*argc, *argv);
    QLoggingCategory::setFilterRules(QStringLiteral("*.debug=false\n*.info=false\n*.warning=false"));
}

/** Stops the run as a crash (libFuzzer saves the input) when @p ok is false. */
inline void require(bool ok, const char *what)
{
    if (ok)
        return;
    std::fprintf(stderr, "fuzz: rule broken: %s\n", what);
    std::abort();
}

} // namespace autofact::fuzz
