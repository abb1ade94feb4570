// SPDX-License-Identifier: MIT
#include "agentsettings.h"

#include "jsonfile.h"

#include <QDir>
#include <QFileInfo>
#include <QJsonObject>
#include <QStandardPaths>
#include <QTemporaryFile>

namespace autofact::agent {

namespace {

/** The checks of load() and parse() on the parsed JSON of @p path. */
std::optional<AgentSettings> fromJson(const jsonfile::LoadResult &r, const QString &path,
                                      QString *error)
{
    AgentSettings s;
    s.path = path;
    if (!r.ok()) {
        if (error)
            *error = r.error;
        return std::nullopt;
    }
    const QJsonObject &o = *r.object;
    const auto stringField = [&](const QString &key, QString &out) {
        const QJsonValue v = o.value(key);
        if (v.isUndefined() || v.isNull())
            return true;
        if (!v.isString()) {
            if (error)
                *error = path + QStringLiteral(": \"%1\" must be a string").arg(key);
            return false;
        }
        out = v.toString();
        return true;
    };
    QString server;
    QString proxy;
    if (!stringField(QStringLiteral("server"), server) || !stringField(QStringLiteral("id"), s.id)
        || !stringField(QStringLiteral("secret"), s.secret)
        || !stringField(QStringLiteral("spool"), s.spool)
        || !stringField(QStringLiteral("ca"), s.ca)
        || !stringField(QStringLiteral("proxy"), proxy)
        || !stringField(QStringLiteral("token"), s.token)
        || !stringField(QStringLiteral("fingerprint"), s.fingerprint))
        return std::nullopt;
    if (const QJsonValue v = o.value(QStringLiteral("insecure")); !v.isUndefined() && !v.isNull()) {
        if (!v.isBool()) {
            if (error)
                *error = path + QStringLiteral(": \"insecure\" must be true or false");
            return std::nullopt;
        }
        s.insecure = v.toBool();
    }
    if (!s.fingerprint.isEmpty()) {
        const QString normal = AgentSettings::normaliseFingerprint(s.fingerprint);
        if (normal.isEmpty()) {
            if (error)
                *error = path + QStringLiteral(": \"fingerprint\" must be sha256: and 64 hex digits");
            return std::nullopt;
        }
        s.fingerprint = normal;
    }
    QString proxyError;
    const std::optional<ProxySetting> parsedProxy = ProxySetting::parse(proxy, &proxyError);
    if (!parsedProxy) {
        if (error)
            *error = path + QStringLiteral(": ") + proxyError;
        return std::nullopt;
    }
    s.proxy = *parsedProxy;
    if (!server.isEmpty()) {
        s.server = QUrl(server, QUrl::StrictMode);
        if (const QString bad = AgentSettings::checkServerUrl(s.server); !bad.isEmpty()) {
            if (error)
                *error = path + QStringLiteral(": ") + bad;
            return std::nullopt;
        }
    }
    if (s.id.isEmpty() != s.secret.isEmpty()) {
        if (error)
            *error = path + QStringLiteral(": \"id\" and \"secret\" must be set together");
        return std::nullopt;
    }
    return s;
}

} // namespace

QString AgentSettings::defaultPath()
{
    const QString root = qEnvironmentVariable("AUTOFACT_PATH");
    if (!root.isEmpty())
        return QDir(root).filePath(QStringLiteral("autofact-agent.json"));
    return QDir(QStandardPaths::writableLocation(QStandardPaths::AppConfigLocation))
        .filePath(QStringLiteral("autofact-agent.json"));
}

QString AgentSettings::checkServerUrl(const QUrl &url)
{
    if (!url.isValid() || url.host().isEmpty())
        return QStringLiteral("server URL \"%1\" is not a valid URL with a host").arg(url.toString());
    if (url.scheme() != u"ws" && url.scheme() != u"wss")
        return QStringLiteral("server URL \"%1\" must start with ws:// or wss://").arg(url.toString());
    return {};
}

QString AgentSettings::checkTransport() const
{
    if (server.scheme() == u"ws" && !insecure)
        return QStringLiteral("server URL %1 is plain ws://: the secret would cross the network in "
                              "clear; use wss://, or set \"insecure\": true (--insecure) for a lab or a "
                              "TLS-terminating proxy")
            .arg(server.toString());
    return {};
}

QString AgentSettings::normaliseFingerprint(const QString &text)
{
    QString t = text.trimmed();
    if (!t.startsWith(QStringLiteral("sha256:"), Qt::CaseInsensitive))
        return {};
    QString hex = t.mid(7).remove(u':').toLower();
    if (hex.size() != 64)
        return {};
    for (const QChar c : std::as_const(hex))
        if (!((c >= u'0' && c <= u'9') || (c >= u'a' && c <= u'f')))
            return {};
    return QStringLiteral("sha256:") + hex;
}

std::optional<AgentSettings> AgentSettings::load(const QString &path, QString *error)
{
    const jsonfile::LoadResult r = jsonfile::load(path);
    if (r.missing) {
        AgentSettings s;
        s.path = path;
        return s;
    }
    return fromJson(r, path, error);
}

std::optional<AgentSettings> AgentSettings::parse(const QByteArray &json, QString *error,
                                                  const QString &path)
{
    return fromJson(jsonfile::parse(json, path), path, error);
}

QString AgentSettings::save() const
{
    QJsonObject o;
    o.insert(QStringLiteral("server"), server.toString());
    if (!id.isEmpty()) {
        o.insert(QStringLiteral("id"), id);
        o.insert(QStringLiteral("secret"), secret);
    }
    if (!spool.isEmpty())
        o.insert(QStringLiteral("spool"), spool);
    if (!ca.isEmpty())
        o.insert(QStringLiteral("ca"), ca);
    if (proxy.mode() != ProxySetting::Mode::System)
        o.insert(QStringLiteral("proxy"), proxy.toString());
    if (!fingerprint.isEmpty())
        o.insert(QStringLiteral("fingerprint"), fingerprint);
    if (!token.isEmpty())
        o.insert(QStringLiteral("token"), token);
    if (insecure)
        o.insert(QStringLiteral("insecure"), true);
    return jsonfile::save(path, o);
}

bool AgentSettings::useStateDir(const QString &dir, QString *error)
{
    if (!QDir().mkpath(dir)) {
        if (error)
            *error = dir + QStringLiteral(": cannot create the state folder");
        return false;
    }
    // Written here later (identity, spool): find out now, not after the server has enrolled us.
    if (QTemporaryFile probe(QDir(dir).filePath(QStringLiteral(".write-check-XXXXXX"))); !probe.open()) {
        if (error)
            *error = dir + QStringLiteral(": the state folder is not writable: ") + probe.errorString();
        return false;
    }
    identityPath = QDir(dir).absoluteFilePath(QStringLiteral("identity.json"));
    if (spool.isEmpty())
        spool = QDir(dir).absoluteFilePath(QStringLiteral("autofact-spool.db"));
    const jsonfile::LoadResult r = jsonfile::load(identityPath);
    if (r.missing)
        return true;
    if (!r.ok()) {
        if (error)
            *error = r.error;
        return false;
    }
    const QJsonValue idValue = r.object->value(QStringLiteral("id"));
    const QJsonValue secretValue = r.object->value(QStringLiteral("secret"));
    if (!idValue.isString() || !secretValue.isString() || idValue.toString().isEmpty()
        || secretValue.toString().isEmpty()) {
        if (error)
            *error = identityPath + QStringLiteral(": \"id\" and \"secret\" must both be non-empty strings");
        return false;
    }
    id = idValue.toString();
    secret = secretValue.toString();
    return true;
}

QString AgentSettings::enrolledIdIn(const QString &dir)
{
    const jsonfile::LoadResult r = jsonfile::load(QDir(dir).filePath(QStringLiteral("identity.json")));
    if (!r.ok())
        return {};
    return r.object->value(QStringLiteral("id")).toString();
}

QString AgentSettings::saveIdentity()
{
    if (identityPath.isEmpty()) {
        token.clear(); // spent: it is not kept after enrolment
        return save();
    }
    QJsonObject o;
    o.insert(QStringLiteral("id"), id);
    o.insert(QStringLiteral("secret"), secret);
    return jsonfile::save(identityPath, o);
}

QString AgentSettings::spoolPath() const
{
    if (!spool.isEmpty())
        return spool;
    return QFileInfo(path).absoluteDir().filePath(QStringLiteral("autofact-spool.db"));
}

} // namespace autofact::agent
