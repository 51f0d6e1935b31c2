// retailCRM history pages of every method and its error bodies: parsed or refused with a
// message, never a crash.
#include "sources/retailcrm/retailcrm_mapping.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace changefeed::sources::retailcrm;
    std::string_view body(reinterpret_cast<const char*>(data), size);
    for (std::string_view resource : {"orders", "customers", "customers_corporate", "orders_packs", "tasks"}) {
        (void)parse_history(resource, body);
    }
    (void)error_text(400, body);
    (void)looks_like_html(body);
    return 0;
}
