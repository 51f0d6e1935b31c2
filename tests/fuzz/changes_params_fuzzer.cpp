// GET /changes parameters from an arbitrary query string (decoded as the server does): accepted
// parameters are within bounds, refused ones name a parameter.
#include "feed/changes_params.hpp"

#include <boost/url/parse.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace changefeed::feed;
    std::string target = "/changes?" + std::string(reinterpret_cast<const char*>(data), size);
    auto url = boost::urls::parse_origin_form(target);
    if (!url) {
        return 0;
    }
    std::vector<std::pair<std::string, std::string>> query;
    for (auto param : url->params()) {
        query.emplace_back(std::move(param.key), std::move(param.value));
    }
    constexpr std::uint32_t max_limit = 1000;
    auto parsed = parse_changes_params(query, max_limit);
    if (auto* p = std::get_if<changes_params>(&parsed)) {
        if (p->limit == 0 || p->limit > max_limit || (p->since && *p->since < 0)) {
            std::abort();
        }
    } else if (std::get<param_error>(parsed).parameter.empty()) {
        std::abort();
    }
    if (auto last = url->params().find("last_event_id"); last != url->params().end()) {
        (void)parse_last_event_id((*last).value);
    }
    return 0;
}
