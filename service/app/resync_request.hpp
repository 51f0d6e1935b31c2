// The body of POST /sources/{name}/resync: optional, `{"from": "<RFC 3339>"}`.
#pragma once

#include "core/time.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace changefeed::app {

struct resync_request {
    /// RFC 3339 (microseconds, UTC); nullopt: the oldest the vendor still retains.
    std::optional<std::string> from;
};

/// The request, or the message of a 400 answer naming what is wrong. An empty body asks for
/// everything; `from` may not lie after `now`; other members are refused.
std::variant<resync_request, std::string> parse_resync_request(std::string_view body,
                                                               time::time_point now);

} // namespace changefeed::app
