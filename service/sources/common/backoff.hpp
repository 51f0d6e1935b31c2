// Retry timing: exponential backoff with full jitter, and the vendors' "come back later" headers
// (Retry-After as seconds or an HTTP date, ratelimit-reset as a Unix time).
#pragma once

#include "core/time.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string_view>

namespace changefeed::sources {

struct backoff_policy {
    std::chrono::milliseconds base{500};
    std::chrono::milliseconds cap{std::chrono::minutes(5)};
};

/// A delay drawn uniformly from [0, min(cap, base * 2^attempt)] ("full jitter"); attempt 0 is the
/// first retry.
std::chrono::milliseconds full_jitter(const backoff_policy& policy, unsigned attempt,
                                      std::mt19937_64& rng);

/// Retry-After (RFC 9110 10.2.3): delta-seconds or an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37
/// GMT"). Returns the wait from `now` (0 for a date in the past); nullopt when unparsable.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           time::time_point now);

/// ratelimit-reset: a Unix time in seconds (Pennylane); a small number (below 10^9) is read as
/// delta-seconds, as the IETF ratelimit-headers draft writes it. Nullopt when unparsable.
std::optional<std::chrono::milliseconds> parse_ratelimit_reset(std::string_view value,
                                                               time::time_point now);

/// Parses an IMF-fixdate; nullopt for anything else.
std::optional<time::time_point> parse_http_date(std::string_view value);

}  // namespace changefeed::sources
