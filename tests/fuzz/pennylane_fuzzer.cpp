// Pennylane's pure mapping on arbitrary vendor bodies: changelog and list pages, error bodies and
// stored checkpoints parse or are refused with a message; what parses maps to events.
#include "sources/pennylane/pennylane_mapping.hpp"

#include <boost/json/parse.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace changefeed;
    using namespace changefeed::sources::pennylane;
    std::string_view body(reinterpret_cast<const char*>(data), size);

    if (auto page = parse_changelog(body); auto* p = std::get_if<changelog_page>(&page)) {
        resource_state state;
        auto outcome = apply_page(state, *p, std::chrono::seconds(60), time::now());
        for (const auto* item : outcome.fresh) {
            (void)make_event("pennylane", "customers", *item, std::nullopt);
        }
        auto round_trip = resource_state::from_json(outcome.next.to_json());
        if (!std::holds_alternative<resource_state>(round_trip)) {
            std::abort();  // a checkpoint we wrote must read back
        }
    }
    if (auto list = parse_list(body); auto* l = std::get_if<list_page>(&list)) {
        for (const auto& record : l->items) {
            (void)make_snapshot_event("pennylane", "customers", record, time::now());
        }
    }
    (void)error_text(body);
    boost::system::error_code ec;
    auto stored = boost::json::parse(body, ec);
    if (!ec) {
        (void)resource_state::from_json(stored);
    }
    return 0;
}
