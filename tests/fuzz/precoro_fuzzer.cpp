// Precoro: the webhook body (what any sender can post), entity details, list pages and 429
// bodies: parsed or refused with a message, never a crash.
#include "sources/precoro/precoro_mapping.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace changefeed;
    using namespace changefeed::sources::precoro;
    std::string_view body(reinterpret_cast<const char*>(data), size);
    (void)parse_delivery(body);
    (void)parse_entity(body);
    (void)parse_list(body);
    (void)parse_throttle(body, time::now());
    (void)error_text(body);
    return 0;
}
