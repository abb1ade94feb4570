// SPDX-License-Identifier: MIT
#pragma once

#include <QDialog>
#include <QUrl>

class QComboBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;

namespace autofact::server {
class ServerCore;
}

namespace autofact::dashboard {

/**
 * Add agent: creates an enrolment token through ServerCore (answered on the store thread, so
 * the window never waits) and shows the command line that enrols a node with it, pinned to
 * this server's certificate. The token is shown once: the store keeps only its hash.
 *
 * One token per dialog; open the dialog again for another.
 */
class AddAgentDialog : public QDialog
{
    Q_OBJECT
public:
    /** How long a new token stays valid. */
    enum class Validity {
        OneHour,  ///< 1 h
        OneDay,   ///< 24 h (the default)
        OneWeek,  ///< 7 days
        Never,    ///< until used up or revoked
    };
    Q_ENUM(Validity)

    /** How the node runs the agent: the command differs. */
    enum class Install {
        Program, ///< a program the user starts (a build, a copied binary)
        Package, ///< the Debian package: write /etc/autofact/autofact-agent.json, enable the unit
    };
    Q_ENUM(Install)

    explicit AddAgentDialog(server::ServerCore *core, QWidget *parent = nullptr);

    void setMaxUses(int uses);
    int maxUses() const;
    void setValidity(Validity validity);
    Validity validity() const;
    void setLabel(const QString &label);
    void setInstall(Install install);
    Install install() const;
    /** The host name or address nodes use to reach this server (editable by the user). */
    void setHost(const QString &host);
    QString host() const;

    /** The command to run on a node; empty until a token was created. */
    QString command() const;
    /** The last progress or error line shown in the dialog. */
    QString statusText() const;
    bool isWaiting() const { return m_waiting; }

    /** Milliseconds for @p validity; 0 means it never expires. */
    static qint64 validForMs(Validity validity);
    /**
     * The host to put in the command: the bound address when it is a specific one, else this
     * machine's host name (a wildcard address is reachable under any of the machine's names).
     */
    static QString defaultHost(const QUrl &bound);
    /**
     * `autofact-agent --server URL --token TOKEN` followed by `--fingerprint FP`, or by
     * `--insecure` when @p fingerprint is empty (the server speaks plain ws://). For a packaged
     * agent, the same options written into the packaged config (`sudo autofact-agent --config
     * /etc/autofact/autofact-agent.json --state-dir /var/lib/autofact-agent --write-config …`),
     * then the unit enabled. Empty when
     * @p host cannot be used in a URL.
     */
    static QString agentCommand(const QUrl &bound, const QString &host, const QString &token,
                                const QString &fingerprint, Install install = Install::Program);

public Q_SLOTS:
    /** Asks the core for a token; tokenReady or an error in the dialog follows. */
    void createToken();
    /** Copies the command to the clipboard. */
    void copyCommand();

Q_SIGNALS:
    /** The token arrived and the command is shown. */
    void tokenReady();

private:
    void onTokenCreated(const QString &token, const QString &tokenId, qint64 expiresMs);
    void onStoreError(const QString &message);
    void updateCommand();
    void setStatus(const QString &text);

    server::ServerCore *m_core;
    QUrl m_bound;
    QString m_fingerprint;
    QString m_token; ///< only in memory, only while the dialog lives
    bool m_waiting = false;

    QSpinBox *m_uses = nullptr;
    QComboBox *m_validity = nullptr;
    QComboBox *m_install = nullptr;
    QLineEdit *m_label = nullptr;
    QPushButton *m_create = nullptr;
    QLineEdit *m_host = nullptr;
    QPlainTextEdit *m_command = nullptr;
    QPushButton *m_copy = nullptr;
    QLabel *m_note = nullptr;
    QLabel *m_status = nullptr;
};

} // namespace autofact::dashboard
