// SPDX-License-Identifier: MIT
#pragma once

#include <span>

namespace autofact::server::postgresschema {

/**
 * The PostgreSQL schema at the version PostgreSQL support started (v11): the same tables and
 * columns, in the same order, as the SQLite schema the migrations build, with PostgreSQL's
 * types (bigint, double precision, bytea), identity columns where SQLite has rowids, and
 * sample_chunks / device_chunks partitioned by day of window_ms. connections has one column
 * more, node: the application_name of the node holding the session. Later versions add steps to
 * both backends.
 */
std::span<const char *const> baseline();
inline constexpr int baselineVersion = 11;

} // namespace autofact::server::postgresschema
