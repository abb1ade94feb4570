// SPDX-License-Identifier: MIT
#pragma once

/**
 * @file schemav1.h
 * The server database's version-1 tables exactly as they shipped (no config columns, no
 * settings table): the start of every migration test's fixture.
 */
namespace autofact::testdata {

inline constexpr const char *schemaV1Tables[] = {
        "CREATE TABLE clients (num INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
        " secret_salt BLOB, secret_hash BLOB, hostname TEXT NOT NULL DEFAULT '',"
        " os_name TEXT NOT NULL DEFAULT '', os_version TEXT NOT NULL DEFAULT '',"
        " kernel TEXT NOT NULL DEFAULT '', arch TEXT NOT NULL DEFAULT '',"
        " cpu_model TEXT NOT NULL DEFAULT '', cpu_count INTEGER NOT NULL DEFAULT 0,"
        " mem_total INTEGER NOT NULL DEFAULT 0, boot_time_ms INTEGER NOT NULL DEFAULT 0,"
        " agent_version TEXT NOT NULL DEFAULT '', first_seen_ms INTEGER NOT NULL,"
        " last_seen_ms INTEGER NOT NULL, connection_count INTEGER NOT NULL DEFAULT 0,"
        " sample_count INTEGER NOT NULL DEFAULT 0, last_sequence INTEGER NOT NULL DEFAULT 0,"
        " last_sample_ms INTEGER, dropped_total INTEGER NOT NULL DEFAULT 0)",
        "CREATE INDEX clients_hostname ON clients(hostname COLLATE NOCASE)",
        "CREATE TABLE connections (id INTEGER PRIMARY KEY, client INTEGER NOT NULL"
        " REFERENCES clients(num) ON DELETE CASCADE, peer TEXT NOT NULL DEFAULT '',"
        " connected_ms INTEGER NOT NULL, disconnected_ms INTEGER, reason TEXT)",
        "CREATE INDEX connections_client ON connections(client, disconnected_ms)",
        "CREATE TABLE batches (client INTEGER NOT NULL REFERENCES clients(num) ON DELETE"
        " CASCADE, sequence INTEGER NOT NULL, received_ms INTEGER NOT NULL,"
        " sample_count INTEGER NOT NULL, PRIMARY KEY (client, sequence)) WITHOUT ROWID",
        "CREATE TABLE samples (client INTEGER NOT NULL REFERENCES clients(num) ON DELETE"
        " CASCADE, ts_ms INTEGER NOT NULL, sequence INTEGER NOT NULL,"
        " cpu_user REAL NOT NULL, cpu_nice REAL NOT NULL, cpu_system REAL NOT NULL,"
        " cpu_idle REAL NOT NULL, cpu_iowait REAL NOT NULL, cpu_irq REAL NOT NULL,"
        " cpu_softirq REAL NOT NULL, cpu_steal REAL NOT NULL, cpu_guest REAL NOT NULL,"
        " mem_total INTEGER NOT NULL, mem_free INTEGER NOT NULL,"
        " mem_available INTEGER NOT NULL, mem_buffers INTEGER NOT NULL,"
        " mem_cached INTEGER NOT NULL, mem_used INTEGER NOT NULL,"
        " swap_total INTEGER NOT NULL, swap_free INTEGER NOT NULL, load1 REAL NOT NULL,"
        " load5 REAL NOT NULL, load15 REAL NOT NULL, flags INTEGER NOT NULL, cores BLOB)",
        "CREATE INDEX samples_client_ts ON samples(client, ts_ms)",
        "CREATE TABLE gaps (id INTEGER PRIMARY KEY, client INTEGER NOT NULL REFERENCES"
        " clients(num) ON DELETE CASCADE, start_ms INTEGER NOT NULL, end_ms INTEGER NOT"
        " NULL, reason TEXT NOT NULL, seq_first INTEGER, seq_last INTEGER,"
        " samples_lost INTEGER NOT NULL DEFAULT 0, recorded_ms INTEGER NOT NULL)",
        "CREATE INDEX gaps_client_end ON gaps(client, end_ms)",
};

} // namespace autofact::testdata
