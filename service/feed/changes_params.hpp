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
    std::optional<std::int64_t> since;  ///< nullopt with since_now: start at the head
    bool since_now = false;
    std::uint32_t limit = 100;
    std::uint32_t wait_seconds = 0;
    db::feed_filter filter;
};

struct param_error {
    std::string parameter;
    std::string message;  ///< names the parameter
};

/// `query` as decoded pairs. Unknown parameters are ignored (forward compatibility); a repeated
/// parameter uses its first value.
std::variant<changes_params, param_error> parse_changes_params(
    const std::vector<std::pair<std::string, std::string>>& query, std::uint32_t max_limit);

}  // namespace changefeed::feed
