#include "app/resync_request.hpp"

#include <boost/json/parse.hpp>

#include <algorithm>

namespace changefeed::app {

std::variant<resync_request, std::string> parse_resync_request(std::string_view body,
                                                               time::time_point now) {
    resync_request out;
    if (std::all_of(body.begin(), body.end(),
                    [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; })) {
        return out;
    }
    boost::system::error_code ec;
    auto value = boost::json::parse(body, ec);
    if (ec || !value.is_object()) {
        return std::string(
            "the body must be empty or a JSON object {\"from\": \"<RFC 3339 time>\"}");
    }
    for (const auto& member : value.as_object()) {
        if (member.key() != "from") {
            return "unknown member '" + std::string(member.key()) + "' (only 'from' is accepted)";
        }
    }
    const auto* from = value.as_object().if_contains("from");
    if (from == nullptr || from->is_null()) {
        return out;
    }
    if (!from->is_string()) {
        return std::string("'from' must be an RFC 3339 time such as \"2026-01-31T00:00:00Z\"");
    }
    auto at = time::parse_rfc3339(std::string_view(from->as_string()));
    if (!at) {
        return "'from' is not an RFC 3339 time: '" + std::string(from->as_string()) + "'";
    }
    if (*at > now) {
        return "'from' lies in the future: " + std::string(from->as_string());
    }
    out.from = time::format_rfc3339_us(*at);
    return out;
}

} // namespace changefeed::app
