// The body of POST /sources/{name}/resync: a request with a valid time not in the future, or a
// message; never a crash.
#include "app/resync_request.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace changefeed;
    auto now = time::now();
    auto parsed = app::parse_resync_request(
        std::string_view(reinterpret_cast<const char*>(data), size), now);
    if (auto* r = std::get_if<app::resync_request>(&parsed); r != nullptr && r->from) {
        auto at = time::parse_rfc3339(*r->from);
        if (!at || *at > now) {
            std::abort();
        }
    }
    return 0;
}
