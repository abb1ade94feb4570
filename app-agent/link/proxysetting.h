// SPDX-License-Identifier: MIT
#pragma once

#include <QNetworkProxy>
#include <QString>
#include <QUrl>

#include <optional>

namespace autofact::agent {

/**
 * The agent config's "proxy" key: how the agent reaches its server.
 *  - absent or "system": the platform's proxy configuration (QNetworkProxyFactory: on Linux
 *    the https_proxy / http_proxy / all_proxy / no_proxy variables through libproxy, on Windows
 *    and macOS the system settings), looked up anew for every connection attempt;
 *  - "none": always connect directly;
 *  - "http://[user:password@]host:port" (HTTP CONNECT) or "socks5://…": that proxy.
 */
class ProxySetting
{
public:
    enum class Mode { System, None, Fixed };

    ProxySetting() = default;

    /** Parses the config value; std::nullopt with a one-line @p error if it is not valid. */
    static std::optional<ProxySetting> parse(const QString &value, QString *error);

    Mode mode() const { return m_mode; }
    /** The config value this setting writes back ("system", "none" or the proxy URL). */
    QString toString() const;

    /**
     * The proxy for one connection to @p server (ws:// asks as http, wss:// as https, which is
     * how curl and browsers pick https_proxy for TLS). NoProxy when the system has none that
     * can tunnel a TCP connection.
     */
    QNetworkProxy proxyFor(const QUrl &server) const;

    /** For logs: "direct" or "http://host:port" (never the password). */
    static QString describe(const QNetworkProxy &proxy);

private:
    Mode m_mode = Mode::System;
    QNetworkProxy m_fixed{QNetworkProxy::NoProxy};
    QString m_text;
};

} // namespace autofact::agent
