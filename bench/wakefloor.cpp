// SPDX-License-Identifier: MIT
// platform: linux — the reference bench/agent-footprint measures beside the agent.
// The floor for "wake once a second and read /proc": no Qt, no spool, no network — plain
// read(2) of the three files the agent samples, then sleep until the next second. Whatever
// this costs on a machine, no agent sampling at 1 s can cost less there.
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

namespace {
char buffer[16384];

void readWhole(const char *path)
{
    const int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    while (read(fd, buffer, sizeof buffer) > 0) {
    }
    close(fd);
}
} // namespace

int main()
{
    timespec next{};
    clock_gettime(CLOCK_MONOTONIC, &next);
    for (;;) {
        ++next.tv_sec;
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, nullptr);
        readWhole("/proc/stat");
        readWhole("/proc/meminfo");
        readWhole("/proc/loadavg");
    }
}
