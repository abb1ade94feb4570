// SPDX-License-Identifier: MIT
#include "link/proxysetting.h"

#include <QNetworkProxyFactory>

namespace autofact::agent {

std::optional<ProxySetting> ProxySetting::parse(const QString &value, QString *error)
{
    const auto fail = [&](const QString &why) -> std::optional<ProxySetting> {
        if (error)
            *error = why;
        return std::nullopt;
    };
    ProxySetting s;
    const QString v = value.trimmed();
    if (v.isEmpty() || v == u"system")
        return s;
    if (v == u"none") {
        s.m_mode = Mode::None;
        return s;
    }
    const QUrl url(v, QUrl::StrictMode);
    QNetworkProxy::ProxyType type;
    if (url.scheme() == u"http")
        type = QNetworkProxy::HttpProxy;
    else if (url.scheme() == u"socks5")
        type = QNetworkProxy::Socks5Proxy;
    else
        // The value is not repeated: whatever was typed may hold a password.
        return fail(QStringLiteral("\"proxy\" must be \"system\", \"none\", http://host:port or "
                                   "socks5://host:port"));
    if (!url.isValid() || url.host().isEmpty() || url.port() <= 0)
        return fail(QStringLiteral("\"proxy\" URL needs a host and a port"));
    if (!url.path().isEmpty() && url.path() != u"/")
        return fail(QStringLiteral("\"proxy\" URL %1:%2 must not have a path")
                        .arg(url.host()).arg(url.port()));
    s.m_mode = Mode::Fixed;
    s.m_fixed = QNetworkProxy(type, url.host(), quint16(url.port()), url.userName(), url.password());
    s.m_text = v;
    return s;
}

QString ProxySetting::toString() const
{
    switch (m_mode) {
    case Mode::System:
        return QStringLiteral("system");
    case Mode::None:
        return QStringLiteral("none");
    case Mode::Fixed:
        break;
    }
    return m_text;
}

QNetworkProxy ProxySetting::proxyFor(const QUrl &server) const
{
    switch (m_mode) {
    case Mode::None:
        return QNetworkProxy(QNetworkProxy::NoProxy);
    case Mode::Fixed:
        return m_fixed;
    case Mode::System:
        break;
    }
    QUrl asked = server;
    asked.setScheme(server.scheme() == u"wss" ? QStringLiteral("https") : QStringLiteral("http"));
    const QList<QNetworkProxy> proxies =
        QNetworkProxyFactory::systemProxyForQuery(QNetworkProxyQuery(asked));
    for (const QNetworkProxy &p : proxies) {
        if (p.type() == QNetworkProxy::NoProxy)
            return p;
        // A caching proxy (or any other that cannot CONNECT) cannot carry a WebSocket.
        if (p.capabilities().testFlag(QNetworkProxy::TunnelingCapability))
            return p;
    }
    return QNetworkProxy(QNetworkProxy::NoProxy);
}

QString ProxySetting::describe(const QNetworkProxy &proxy)
{
    switch (proxy.type()) {
    case QNetworkProxy::NoProxy:
    case QNetworkProxy::DefaultProxy:
        return QStringLiteral("direct");
    case QNetworkProxy::Socks5Proxy:
        return QStringLiteral("socks5://%1:%2").arg(proxy.hostName()).arg(proxy.port());
    default:
        return QStringLiteral("http://%1:%2").arg(proxy.hostName()).arg(proxy.port());
    }
}

} // namespace autofact::agent
