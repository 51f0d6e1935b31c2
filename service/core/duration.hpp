// Configuration durations: "500ms", "30s", "5m", "2h", "7d" and a bare "0".
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace changefeed::time {

/// Parses a non-negative whole number followed by ms, s, m, h or d, or a bare "0". Returns nullopt
/// for anything else: empty text, a sign, spaces, fractions, an unknown unit, or a value that does
/// not fit in int64 milliseconds.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

/// Writes `d` in the largest unit that holds it exactly: "0", "1500ms", "30s", "5m", "2h", "7d".
/// parse_duration(format_duration(d)) == d for every d >= 0.
std::string format_duration(std::chrono::milliseconds d);

}  // namespace changefeed::time
