// The sales-channel (Puro.earth) event log pages and error bodies: parsed or refused with a
// message, never a crash.
#include "sources/saleschannel/saleschannel_mapping.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace changefeed::sources::saleschannel;
    std::string_view body(reinterpret_cast<const char*>(data), size);
    (void)parse_events(body);
    (void)error_text(body);
    return 0;
}
