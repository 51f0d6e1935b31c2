// Parsing and validating the query parameters of GET /changes (pure; SPEC section 5).
#pragma once

#include "db/feed_repository.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace changefeed::feed {

struct changes_params {
    std::optional<std::int64_t> since;  ///< nullopt with since_now or consumer
    bool since_now = false;
    std::optional<std::string> consumer;  ///< start at this consumer's stored offset
    std::uint32_t limit = 100;
    std::uint32_t wait_seconds = 0;
    db::feed_filter filter;
};

struct param_error {
    std::string parameter;
    std::string message;  ///< names the parameter
};

/// `query` as decoded pairs. Unknown parameters are ignored (forward compatibility). A filter
/// (`source`, `resource`, `operation`) given more than once adds up; `since`, `limit`, `wait` or
/// `consumer` given twice is an error, as are `consumer` and `since` together.
std::variant<changes_params, param_error> parse_changes_params(
    const std::vector<std::pair<std::string, std::string>>& query, std::uint32_t max_limit);

/// True for a consumer (or source) name: [a-z0-9_-]{1,40}.
bool valid_consumer_name(std::string_view name);

/// The `Last-Event-ID` header of an SSE reconnect: a non-negative integer; empty means absent.
std::variant<std::optional<std::int64_t>, param_error> parse_last_event_id(std::string_view value);

}  // namespace changefeed::feed
