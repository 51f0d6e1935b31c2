// Struct PIM transaction search pages, changed entities, data-type changes and revision data:
// parsed or refused with a message, never a crash.
#include "sources/struct/struct_mapping.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace changefeed::sources::struct_pim;
    std::string_view body(reinterpret_cast<const char*>(data), size);
    (void)parse_search(body);
    (void)parse_changed_entities(body);
    (void)parse_data_types(body);
    auto revisions = parse_revision_data(body);
    if (auto* fields = std::get_if<std::vector<field_revision>>(&revisions)) {
        (void)changes_of(*fields, 2);
    }
    (void)error_text(body);
    return 0;
}
