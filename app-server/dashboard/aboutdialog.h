// SPDX-License-Identifier: MIT
#pragma once

#include <QDialog>
#include <QString>
#include <QUrl>

namespace autofact::dashboard {

/**
 * Help → About: the icon, version, licence and links, and the facts a user needs to connect
 * an agent or find the data (the URL agents connect to, the certificate they pin, the
 * database file).
 */
class AboutDialog : public QDialog
{
    Q_OBJECT
public:
    /** This running server, as the dialog shows it. */
    struct Facts {
        QUrl serverUrl;
        QString certificateFingerprint; ///< empty when serving plain ws://
        QString databasePath;
    };

    explicit AboutDialog(const Facts &facts, QWidget *parent = nullptr);

    /** The project's home page, also in the metainfo and the package. */
    static QUrl homepage();
};

} // namespace autofact::dashboard
