// SPDX-License-Identifier: MIT
// Writes the seed corpora of fuzz_codec and fuzz_server_message: one real message of each kind,
// encoded by codec::encode, so the fuzzers start from what agents and servers really send.
//   fuzz_seeds --write-seeds DIR   writes DIR/fuzz_codec/* and DIR/fuzz_server_message/*
//   fuzz_seeds --check DIR         exit 1 if a seed in DIR is missing or decodes to another
//                                  message than the one written (CTest fuzzseeds)
// Server seeds start with the role byte fuzz_server_message reads: 0 unauthenticated,
// 1 authenticated. Other files in DIR (saved crashes, inputs the fuzzers found) are kept.
#include "codec.h"
#include "testdata.h"

#include <QDir>
#include <QFile>
#include <QTextStream>

#include <optional>
#include <utility>
#include <vector>

using namespace autofact;

namespace {

SystemFacts facts()
{
    SystemFacts f;
    f.hostname = QStringLiteral("build-7.example.org");
    f.osName = QStringLiteral("Debian GNU/Linux");
    f.osVersion = QStringLiteral("12 (bookworm)");
    f.kernel = QStringLiteral("6.1.0-18-amd64");
    f.arch = QStringLiteral("x86_64");
    f.cpuModel = QStringLiteral("Intel(R) Core(TM) i7-8550U CPU @ 1.80GHz");
    f.cpuCount = 8;
    f.memTotal = 16ull << 30;
    f.bootTimeMs = 1'699'990'000'000;
    f.agentVersion = QStringLiteral("0.1.0");
    return f;
}

/** The messages, by file name. Fixed values: the same bytes on every run. */
std::vector<std::pair<QString, Message>> messages()
{
    std::vector<std::pair<QString, Message>> out;
    Hello fresh;
    static_cast<SystemFacts &>(fresh) = facts();
    out.emplace_back(QStringLiteral("hello-new"), fresh);
    Hello returning = fresh;
    returning.agentId = QStringLiteral("5f0c6b8e-2d1a-4c47-9a3e-7b1f0d9c2e44");
    returning.secret = QStringLiteral("q3J9xv0bWm2kR7tYc4LpZs8NfH1uGd6A");
    out.emplace_back(QStringLiteral("hello-returning"), returning);
    Welcome welcome;
    welcome.agentId = returning.agentId;
    welcome.secret = returning.secret;
    welcome.serverTimeMs = 1'700'000'000'000;
    out.emplace_back(QStringLiteral("welcome-new"), welcome);
    Welcome welcomeBack = welcome;
    welcomeBack.secret.clear();
    welcomeBack.returning = true;
    welcomeBack.lastAckedSequence = 41;
    out.emplace_back(QStringLiteral("welcome-returning"), welcomeBack);
    out.emplace_back(QStringLiteral("batch-1x8"), testdata::makeBatch(1, 1, 8));
    out.emplace_back(QStringLiteral("batch-60x8"), testdata::makeBatch(42, 60, 8));
    SampleBatch withDevices = testdata::makeBatch(43, 5, 2);
    testdata::addDevices(withDevices);
    out.emplace_back(QStringLiteral("batch-devices"), withDevices);
    Ack ack;
    ack.cumulative = 40;
    ack.ranges = {{42, 45}, {47, 47}, {50, 59}};
    out.emplace_back(QStringLiteral("ack-ranges"), ack);
    out.emplace_back(QStringLiteral("heartbeat"), Heartbeat{1'700'000'005'000, 3, 12'288, 7});
    out.emplace_back(QStringLiteral("pong"), Pong{1'700'000'005'000, 1'700'000'005'012});
    out.emplace_back(QStringLiteral("error"),
                     ErrorMessage{ErrorCode::BadSecret, QStringLiteral("wrong secret for this agent ID")});
    AgentConfig config;
    config.revision = 3;
    config.sampleIntervalMs = 2000;
    out.emplace_back(QStringLiteral("agentconfig"), config);
    out.emplace_back(QStringLiteral("configapplied"), ConfigApplied{3});
    return out;
}

/** One seed file: path relative to the corpus folder, its role byte (server seeds), its message. */
struct Seed {
    QString name;
    std::optional<char> role;
    Message message;
    QByteArray bytes() const
    {
        const QByteArray encoded = codec::encode(message);
        return role ? QByteArray(1, *role) + encoded : encoded;
    }
};

std::vector<Seed> seeds()
{
    std::vector<Seed> out;
    for (const auto &[name, message] : messages()) {
        out.push_back({QStringLiteral("fuzz_codec/") + name, std::nullopt, message});
        out.push_back({QStringLiteral("fuzz_server_message/unauth-") + name, '\0', message});
        out.push_back({QStringLiteral("fuzz_server_message/auth-") + name, '\1', message});
    }
    return out;
}

int write(const QDir &dir)
{
    QTextStream err(stderr);
    for (const Seed &seed : seeds()) {
        const QString path = dir.filePath(seed.name);
        const QByteArray bytes = seed.bytes();
        QDir().mkpath(QFileInfo(path).absolutePath());
        QFile file(path);
        if (!file.open(QIODevice::WriteOnly) || file.write(bytes) != bytes.size()) {
            err << path << ": cannot write: " << file.errorString() << '\n';
            return 1;
        }
    }
    return 0;
}

/**
 * Each seed must hold the same message: compared decoded, not byte for byte, because the
 * encoding may legitimately differ between compilers (the order in which arguments building a
 * table are evaluated decides where its strings land).
 */
int check(const QDir &dir)
{
    QTextStream err(stderr);
    int bad = 0;
    for (const Seed &seed : seeds()) {
        QFile file(dir.filePath(seed.name));
        QByteArray bytes = file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
        bool same = !bytes.isEmpty();
        if (same && seed.role) {
            same = bytes.front() == *seed.role;
            bytes.remove(0, 1);
        }
        const DecodeResult decoded = codec::decode(bytes);
        if (!same || !decoded.ok() || !(*decoded.message == seed.message)) {
            err << file.fileName() << ": missing, or not the message fuzz_seeds writes"
                << (decoded.ok() ? QString() : QStringLiteral(" (") + decoded.reason + u')') << '\n';
            ++bad;
        }
    }
    if (bad)
        err << "regenerate with: fuzz_seeds --write-seeds tests/fuzz/corpus\n";
    return bad ? 1 : 0;
}

} // namespace

int main(int argc, char **argv)
{
    const QStringList args = [&] {
        QStringList l;
        for (int i = 1; i < argc; ++i)
            l << QString::fromLocal8Bit(argv[i]);
        return l;
    }();
    if (args.size() == 2 && args[0] == u"--write-seeds")
        return write(QDir(args[1]));
    if (args.size() == 2 && args[0] == u"--check")
        return check(QDir(args[1]));
    QTextStream(stderr) << "usage: fuzz_seeds --write-seeds DIR | --check DIR\n";
    return 2;
}
