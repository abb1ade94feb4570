// SPDX-License-Identifier: MIT
#include "messages.h"

#include <algorithm>

namespace autofact {

void DeviceTables::clear()
{
    names.clear();
    filesystems.clear();
    disks.clear();
    networks.clear();
    temperatures.clear();
}

std::uint16_t DeviceTables::nameIndex(const QString &name)
{
    const auto it = std::find(names.begin(), names.end(), name);
    if (it != names.end())
        return std::uint16_t(it - names.begin());
    names.push_back(name);
    return std::uint16_t(names.size() - 1);
}

namespace {

/// Device indexes are 16-bit: a table holds at most this many names.
constexpr std::size_t kMaxNames = std::size_t(UINT16_MAX) + 1;
constexpr int kNoName = -1;

template<typename Entry>
void appendEntries(std::vector<Entry> &to, const std::vector<Entry> &from, const std::vector<int> &map,
                   std::uint32_t sample)
{
    for (Entry e : from) {
        if (e.device >= map.size() || map[e.device] == kNoName)
            continue;
        e.sample = sample;
        e.device = std::uint16_t(map[e.device]);
        to.push_back(e);
    }
}

/**
 * Copies sample @p sample's run of @p from (entries are in sample order) into @p to as sample
 * 0, giving each device its name in @p out through @p map (source index → out index).
 */
template<typename Entry>
void takeSample(std::vector<Entry> &to, const std::vector<Entry> &from, std::uint32_t sample,
                DeviceTables &out, const std::vector<QString> &names, std::vector<int> &map)
{
    auto first = std::lower_bound(from.begin(), from.end(), sample,
                                  [](const Entry &e, std::uint32_t s) { return e.sample < s; });
    for (; first != from.end() && first->sample == sample; ++first) {
        if (first->device >= names.size())
            continue;
        int &at = map[first->device];
        if (at == kNoName) {
            at = int(out.names.size());
            out.names.push_back(names[first->device]);
        }
        Entry e = *first;
        e.sample = 0;
        e.device = std::uint16_t(at);
        to.push_back(e);
    }
}

/** Keeps the entries marked in @p keep, renumbering devices through @p map; returns how many went. */
template<typename Entry>
std::size_t filterEntries(std::vector<Entry> &entries, const std::vector<int> &map, const std::vector<bool> &keep)
{
    std::size_t to = 0;
    for (std::size_t i = 0; i < entries.size(); ++i) {
        if (!keep[i])
            continue;
        entries[to] = entries[i];
        entries[to].device = std::uint16_t(map[entries[i].device]);
        ++to;
    }
    const std::size_t dropped = entries.size() - to;
    entries.resize(to);
    return dropped;
}

} // namespace

void DeviceTables::append(const DeviceTables &one, std::uint32_t sample, QHash<QString, std::uint16_t> *index)
{
    if (one.empty())
        return;
    QHash<QString, std::uint16_t> local;
    if (!index) {
        for (std::size_t i = 0; i < names.size(); ++i)
            local.insert(names[i], std::uint16_t(i));
        index = &local;
    }
    // The sample's names mapped once, through a hash: a window can hold thousands of names.
    std::vector<int> map;
    map.reserve(one.names.size());
    for (const QString &name : one.names) {
        const auto it = index->constFind(name);
        if (it != index->cend()) {
            map.push_back(*it);
        } else if (names.size() < kMaxNames) {
            map.push_back(int(names.size()));
            index->insert(name, std::uint16_t(names.size()));
            names.push_back(name);
        } else {
            map.push_back(kNoName);
        }
    }
    appendEntries(filesystems, one.filesystems, map, sample);
    appendEntries(disks, one.disks, map, sample);
    appendEntries(networks, one.networks, map, sample);
    appendEntries(temperatures, one.temperatures, map, sample);
}

DeviceTables DeviceTables::forSample(std::uint32_t sample) const
{
    DeviceTables out;
    std::vector<int> map(names.size(), kNoName);
    takeSample(out.filesystems, filesystems, sample, out, names, map);
    takeSample(out.disks, disks, sample, out, names, map);
    takeSample(out.networks, networks, sample, out, names, map);
    takeSample(out.temperatures, temperatures, sample, out, names, map);
    return out;
}

std::size_t DeviceTables::dropInvalid()
{
    std::vector<bool> goodName(names.size());
    for (std::size_t i = 0; i < names.size(); ++i)
        goodName[i] = !names[i].isEmpty() && names[i].toUtf8().size() <= protocol::maxDeviceNameBytes;
    // A device read twice at one sample: the second reading goes (rows are per sample and device).
    std::vector<std::uint64_t> seenAt(names.size(), 0);
    std::uint64_t generation = 0;
    std::uint32_t lastSample = UINT32_MAX;
    const auto keep = [&](const auto &e) {
        if (e.device >= names.size() || !goodName[e.device] || !e.valid())
            return false;
        if (e.sample != lastSample) {
            lastSample = e.sample;
            ++generation;
        }
        if (seenAt[e.device] == generation)
            return false;
        seenAt[e.device] = generation;
        return true;
    };
    // Entries that stay decide which names stay.
    std::vector<int> map(names.size(), kNoName);
    std::vector<bool> used(names.size());
    const auto markUsed = [&](auto &entries) {
        lastSample = UINT32_MAX;
        ++generation;
        std::vector<bool> keepIt(entries.size());
        for (std::size_t i = 0; i < entries.size(); ++i)
            if ((keepIt[i] = keep(entries[i])))
                used[entries[i].device] = true;
        return keepIt;
    };
    const std::vector<bool> keepFs = markUsed(filesystems);
    const std::vector<bool> keepDisks = markUsed(disks);
    const std::vector<bool> keepNets = markUsed(networks);
    const std::vector<bool> keepTemps = markUsed(temperatures);
    std::vector<QString> kept;
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (used[i]) {
            map[i] = int(kept.size());
            kept.push_back(names[i]);
        }
    }
    names = std::move(kept);
    return filterEntries(filesystems, map, keepFs) + filterEntries(disks, map, keepDisks)
           + filterEntries(networks, map, keepNets) + filterEntries(temperatures, map, keepTemps);
}

} // namespace autofact
