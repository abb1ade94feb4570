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
    /**
     * With a state folder (useStateDir()): the file holding the identity the server issued,
     * so that a running agent never writes its config (a system service reads
     * /etc/autofact/autofact-agent.json and keeps its state under /var/lib). Empty: the
     * identity lives in the config file itself.
     */
    QString identityPath;

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

    /**
     * Writes the config file atomically. A new file gets mode 0600 (it may hold a secret); an
     * existing one keeps its owner, group and mode, minus any access for others, so a packaged
     * root:autofact-agent 0640 file edited by root stays readable by the service.
     * Empty string on success.
     */
    QString save() const;

    /**
     * Keeps the identity and, unless "spool" is set, the spool in @p dir: loads
     * DIR/identity.json when it exists (its id and secret win over the config's) and creates
     * @p dir when missing. False and a one-line @p error on a corrupt identity file or a
     * folder this process cannot write (the identity and every sample would be lost).
     */
    bool useStateDir(const QString &dir, QString *error);

    /**
     * The ID in DIR/identity.json, or empty when there is none (or it cannot be read). Reads
     * only: creates nothing, so root configuring a service leaves the state folder alone.
     */
    static QString enrolledIdIn(const QString &dir);

    /**
     * Stores the identity the server issued: into identityPath (mode 0600) with a state
     * folder, else into the config, dropping the spent token. Empty string on success.
     */
    QString saveIdentity();

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
