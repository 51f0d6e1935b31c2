// Comparing secrets without leaking, through timing, how much of a guess was right.
#pragma once

#include <string_view>

namespace changefeed::core {

/// Constant-time in the contents (both sides are hashed first, so the length leaks nothing either).
bool constant_time_equals(std::string_view a, std::string_view b);

}  // namespace changefeed::core
