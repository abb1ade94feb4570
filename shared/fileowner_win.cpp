// SPDX-License-Identifier: MIT
// platform: windows — compiled only for Windows (shared/CMakeLists.txt); not built by this CI.
#include "fileowner.h"

namespace autofact::fileowner {

// Windows files inherit their folder's ACL; there is no owner to carry over.
QString copyOwner(int, const QString &)
{
    return {};
}

} // namespace autofact::fileowner
