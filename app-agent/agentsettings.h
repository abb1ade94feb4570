// SPDX-License-Identifier: MIT
#pragma once

#include "link/proxysetting.h"

#include <QString>
#include <QUrl>

#include <optional>

namespace autofact::agent {

/**
 * The agent's JSON config file: where the server is, how to recognise it, and the identity it
 * issued.
 * @code{.json}
 * { "server": "wss://host:8675", "fingerprint": "sha256:…", "id": "…", "secret": "…",
 *   "spool": "/var/lib/autofact/spool.db", "ca": "/etc/autofact/server.pem",
 *   "proxy": "http://proxy.example:3128", "token": "…", "insecure": false }
 * @endcode
 * Behaviour (intervals, limits) is never read from here: the server pushes it.
 */
struct AgentSettings {
    QString path;   ///< the file these settings came from / go to
    QUrl server;
    QString id;
    QString secret;
    QString spool;  ///< spool file; defaults to autofact-spool.db beside the config
    QString ca;     ///< optional PEM file of certificates to trust for wss:// instead of the platform's store
    ProxySetting proxy; ///< "system" (default), "none", or http://host:port / socks5://host:port
    QString token;       ///< enrolment token; kept only until the server issues an ID
    QString fingerprint; ///< "sha256:HEX" of the server's certificate: talk to no other server
    bool insecure = false; ///< allow plain ws:// (secrets in clear)

    /** Default config location: $AUTOFACT_PATH/autofact-agent.json, else the app-config dir. */
    static QString defaultPath();

    /**
     * Loads @p path. A missing file yields empty settings (first run). A corrupt or unreadable
     * file, or a bad server URL, yields std::nullopt and a one-line @p error naming the file.
     */
    static std::optional<AgentSettings> load(const QString &path, QString *error);

    /**
     * What load() does with the file's bytes: @p json parsed and checked with the same rules
     * and errors (which name @p path). Untrusted input; the agent-config fuzzer's entry point.
     */
    static std::optional<AgentSettings> parse(const QByteArray &json, QString *error,
                                              const QString &path = QString());

    /** Atomic write, mode 0600 (the file holds a secret). Empty string on success. */
    QString save() const;

    /** Validates a server URL (ws:// or wss:// with a host); empty string when fine. */
    static QString checkServerUrl(const QUrl &url);
    /** Refuses ws:// unless insecure is set; empty string when fine. */
    QString checkTransport() const;
    /**
     * Normalises a certificate fingerprint ("sha256:HEX", hex in any case, colons allowed as
     * openssl prints them) to "sha256:" + 64 lowercase hex digits; empty on a bad value.
     */
    static QString normaliseFingerprint(const QString &text);

    QString spoolPath() const;
};

} // namespace autofact::agent
