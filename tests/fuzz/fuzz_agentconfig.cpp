// SPDX-License-Identifier: MIT
// libFuzzer target: the agent's JSON config reader (AgentSettings::parse, what load() runs on
// the file's bytes): never crashes, refuses with an error naming the file, and what it accepts
// keeps the file's rules (a usable server URL; id and secret together).
#include "agentsettings.h"
#include "fuzzsupport.h"

#include <cstddef>
#include <cstdint>

using namespace autofact;
using namespace autofact::agent;

extern "C" int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz::initQt(argc, argv);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const QByteArray json = QByteArray::fromRawData(reinterpret_cast<const char *>(data), qsizetype(size));
    QString error;
    const std::optional<AgentSettings> s = AgentSettings::parse(json, &error, QStringLiteral("fuzz.json"));
    if (!s) {
        fuzz::require(error.startsWith(u"fuzz.json: "), "an error names the file");
        return 0;
    }
    fuzz::require(s->server.isEmpty() || AgentSettings::checkServerUrl(s->server).isEmpty(),
                  "an accepted server URL passes checkServerUrl()");
    fuzz::require(s->id.isEmpty() == s->secret.isEmpty(), "id and secret are set together");
    return 0;
}
