#include "core/duration.hpp"

#include <array>
#include <charconv>
#include <cstdint>
#include <limits>

namespace changefeed::time {

namespace {

struct unit {
    std::string_view suffix;
    std::uint64_t ms;
};

// Largest first, so format_duration can take the first exact one.
constexpr std::array<unit, 5> k_units{{
    {"d", 86'400'000},
    {"h", 3'600'000},
    {"m", 60'000},
    {"s", 1'000},
    {"ms", 1},
}};

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
    if (text == "0") {
        return std::chrono::milliseconds{0};
    }
    std::size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
        ++digits;
    }
    if (digits == 0 || digits == text.size()) {
        return std::nullopt;
    }
    std::uint64_t count = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + digits, count);
    if (ec != std::errc{}) {
        return std::nullopt;
    }
    std::string_view suffix = text.substr(digits);
    constexpr auto k_max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    for (const auto& u : k_units) {
        if (u.suffix == suffix) {
            if (count > k_max / u.ms) {
                return std::nullopt;
            }
            return std::chrono::milliseconds{static_cast<std::int64_t>(count * u.ms)};
        }
    }
    return std::nullopt;
}

std::string format_duration(std::chrono::milliseconds d) {
    if (d.count() == 0) {
        return "0";
    }
    std::string sign = d.count() < 0 ? "-" : "";
    // Magnitude in unsigned arithmetic, so the most negative value does not overflow.
    std::uint64_t magnitude = static_cast<std::uint64_t>(d.count());
    if (d.count() < 0) {
        magnitude = 0 - magnitude;
    }
    for (const auto& u : k_units) {
        if (magnitude % u.ms == 0) {
            return sign + std::to_string(magnitude / u.ms) + std::string(u.suffix);
        }
    }
    return {};  // unreachable: every count is a whole number of milliseconds
}

}  // namespace changefeed::time
