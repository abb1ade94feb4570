// SPDX-License-Identifier: MIT
// LD_PRELOAD shim for tst_namelookup: getaddrinfo() for names ending in ".slow-lookup.test"
// hangs for two minutes, as a lookup does when the DNS server is unreachable; every other
// name goes to the C library. The file named by SLOW_LOOKUP_MARKER gets a byte per hung lookup,
// so the test knows the hang really happened.
#include <dlfcn.h>
#include <fcntl.h>
#include <netdb.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

extern "C" int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                           struct addrinfo **res)
{
    static const char suffix[] = ".slow-lookup.test";
    const std::size_t n = node ? std::strlen(node) : 0;
    if (n >= sizeof suffix - 1 && std::strcmp(node + n - (sizeof suffix - 1), suffix) == 0) {
        if (const char *marker = std::getenv("SLOW_LOOKUP_MARKER")) {
            const int fd = open(marker, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
            if (fd >= 0) {
                [[maybe_unused]] const ssize_t written = write(fd, "x", 1);
                close(fd);
            }
        }
        sleep(120);
        return EAI_AGAIN;
    }
    using Real = int (*)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
    static const Real real = reinterpret_cast<Real>(dlsym(RTLD_NEXT, "getaddrinfo"));
    return real ? real(node, service, hints, res) : EAI_SYSTEM;
}
