// Wall-clock time points and their RFC 3339 text form, plus configuration durations.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace changefeed::time {

/// UTC time with microsecond precision (enough for every vendor's timestamps we compare).
using time_point = std::chrono::sys_time<std::chrono::microseconds>;

time_point now();

/// "2026-11-20T09:15:02.123Z": UTC, milliseconds (the feed's format).
std::string format_rfc3339(time_point t);
/// Like format_rfc3339 with all six fractional digits, for checkpoints that must not lose precision.
std::string format_rfc3339_us(time_point t);

/// Parses "YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)"; a space is accepted for 'T'. Fractions
/// beyond microseconds are truncated. Without a zone the time is read as UTC only when
/// `assume_utc` is set; otherwise a missing zone is an error (nullopt).
std::optional<time_point> parse_rfc3339(std::string_view text, bool assume_utc = false);

}  // namespace changefeed::time
