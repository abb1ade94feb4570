// SPDX-License-Identifier: MIT
#pragma once

#include "store/retention.h"

#include <QDialog>

class QLabel;
class QLineEdit;
class QPushButton;
class QTableWidget;

namespace autofact::server {
class ServerCore;
}

namespace autofact::dashboard {

class StoreReader;

/**
 * The Storage page: how long each tier is kept and the size cap (what `--keep-raw`,
 * `--keep-minutes`, `--keep-hours` and `--max-db-size` set), each tier's rows, size, oldest
 * and newest, and what the settings cost per machine at the sizes measured in this database.
 * Figures are read on the reader thread; Save goes through ServerCore to the store worker,
 * which purges by the new settings at once.
 */
class StorageDialog : public QDialog
{
    Q_OBJECT
public:
    StorageDialog(server::ServerCore *core, StoreReader *reader, QWidget *parent = nullptr);

    bool isLoaded() const { return m_loaded; }
    /** The settings as edited; nullopt while a field is wrong (the error says which). */
    std::optional<server::RetentionSettings> edited() const;
    QLineEdit *field(int index) const { return m_fields[index]; }
    QString error() const;
    /** "≈ 2.1 GiB a machine": the current settings' cost, from this database's sizes. */
    QString costText() const;

public Q_SLOTS:
    void save();
    void reload();

Q_SIGNALS:
    void loaded();

private:
    void onLoaded(const server::StorageStats &stats, const server::RetentionSettings &settings);
    void validate();

    server::ServerCore *m_core;
    StoreReader *m_reader;
    bool m_loaded = false;
    server::StorageStats m_stats;
    server::RetentionSettings m_settings;
    QLineEdit *m_fields[4] = {};
    QTableWidget *m_table = nullptr;
    QLabel *m_summary = nullptr;
    QLabel *m_cost = nullptr;
    QLabel *m_error = nullptr;
    QPushButton *m_save = nullptr;
};

} // namespace autofact::dashboard
