// SPDX-License-Identifier: MIT
// platform: windows — compiled only for Windows (shared/CMakeLists.txt); not built by this CI.
#include "signalwatcher.h"

#include <QMetaObject>

#include <atomic>

#include <windows.h>

namespace autofact {

namespace {
std::atomic<SignalWatcher *> watcher{nullptr};

// Runs on a thread the system creates for the event; the watcher's signal is queued onto
// its own thread.
BOOL WINAPI onConsoleEvent(DWORD type)
{
    switch (type) {
    case CTRL_C_EVENT:
    case CTRL_BREAK_EVENT:
    case CTRL_CLOSE_EVENT:
    case CTRL_SHUTDOWN_EVENT:
        break;
    default:
        return FALSE;
    }
    SignalWatcher *w = watcher.load();
    if (!w)
        return FALSE;
    QMetaObject::invokeMethod(w, [w, type] { Q_EMIT w->terminationRequested(int(type)); },
                              Qt::QueuedConnection);
    return TRUE;
}
} // namespace

SignalWatcher::SignalWatcher(QObject *parent)
    : QObject(parent)
{
    watcher.store(this);
    SetConsoleCtrlHandler(onConsoleEvent, TRUE);
}

SignalWatcher::~SignalWatcher()
{
    SetConsoleCtrlHandler(onConsoleEvent, FALSE);
    watcher.store(nullptr);
}

} // namespace autofact
