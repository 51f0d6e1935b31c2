#include "sources/common/backoff.hpp"

#include <algorithm>
#include <array>
#include <charconv>

namespace changefeed::sources {

namespace {

std::optional<std::int64_t> parse_integer(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
        text.remove_prefix(1);
    }
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
        text.remove_suffix(1);
    }
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || v < 0) {
        return std::nullopt;
    }
    return v;
}

std::optional<int> two_digits(std::string_view s) {
    if (s.size() != 2 || s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9') {
        return std::nullopt;
    }
    return (s[0] - '0') * 10 + (s[1] - '0');
}

std::chrono::milliseconds until(time::time_point when, time::time_point now) {
    if (when <= now) {
        return std::chrono::milliseconds(0);
    }
    return std::chrono::ceil<std::chrono::milliseconds>(when - now);
}

}  // namespace

std::chrono::milliseconds full_jitter(const backoff_policy& policy, unsigned attempt,
                                      std::mt19937_64& rng) {
    auto ceiling = policy.base;
    for (unsigned i = 0; i < attempt && ceiling < policy.cap; ++i) {
        ceiling *= 2;
    }
    ceiling = std::min(ceiling, policy.cap);
    std::uniform_int_distribution<std::int64_t> pick(0, ceiling.count());
    return std::chrono::milliseconds(pick(rng));
}

std::optional<time::time_point> parse_http_date(std::string_view v) {
    // "Sun, 06 Nov 1994 08:49:37 GMT"
    if (v.size() != 29 || v.substr(3, 2) != ", " || v[7] != ' ' || v[11] != ' ' || v[16] != ' ' ||
        v[19] != ':' || v[22] != ':' || v.substr(25) != " GMT") {
        return std::nullopt;
    }
    static constexpr std::array<std::string_view, 12> k_months{
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    auto month_it = std::find(k_months.begin(), k_months.end(), v.substr(8, 3));
    auto day = two_digits(v.substr(5, 2));
    auto year_hi = two_digits(v.substr(12, 2));
    auto year_lo = two_digits(v.substr(14, 2));
    auto hour = two_digits(v.substr(17, 2));
    auto minute = two_digits(v.substr(20, 2));
    auto second = two_digits(v.substr(23, 2));
    if (month_it == k_months.end() || !day || !year_hi || !year_lo || !hour || !minute ||
        !second || *hour > 23 || *minute > 59 || *second > 60) {
        return std::nullopt;
    }
    std::chrono::year_month_day ymd{
        std::chrono::year(*year_hi * 100 + *year_lo),
        std::chrono::month(static_cast<unsigned>(month_it - k_months.begin() + 1)),
        std::chrono::day(static_cast<unsigned>(*day))};
    if (!ymd.ok()) {
        return std::nullopt;
    }
    return time::time_point(std::chrono::sys_days(ymd)) + std::chrono::hours(*hour) +
           std::chrono::minutes(*minute) + std::chrono::seconds(*second);
}

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           time::time_point now) {
    if (auto seconds = parse_integer(value)) {
        return std::chrono::seconds(*seconds);
    }
    if (auto date = parse_http_date(value)) {
        return until(*date, now);
    }
    return std::nullopt;
}

std::optional<std::chrono::milliseconds> parse_ratelimit_reset(std::string_view value,
                                                               time::time_point now) {
    auto number = parse_integer(value);
    if (!number) {
        return std::nullopt;
    }
    if (*number < 1'000'000'000) {
        return std::chrono::seconds(*number);
    }
    return until(time::time_point(std::chrono::seconds(*number)), now);
}

}  // namespace changefeed::sources
