// RFC 3339 formatting and parsing without locale or time-zone database dependencies.
#include "core/time.hpp"

#include <fmt/format.h>

#include <charconv>

namespace changefeed::time {

namespace {

using namespace std::chrono;

bool read_digits(std::string_view text, std::size_t pos, std::size_t count, int& out) {
    if (pos + count > text.size()) {
        return false;
    }
    int value = 0;
    for (std::size_t i = pos; i < pos + count; ++i) {
        char c = text[i];
        if (c < '0' || c > '9') {
            return false;
        }
        value = value * 10 + (c - '0');
    }
    out = value;
    return true;
}

std::string format(time_point t, int fraction_digits) {
    auto day = floor<days>(t);
    year_month_day ymd{day};
    hh_mm_ss<microseconds> tod{t - day};
    long long micros = tod.subseconds().count();
    if (fraction_digits == 3) {
        return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", int(ymd.year()),
                           unsigned(ymd.month()), unsigned(ymd.day()), tod.hours().count(),
                           tod.minutes().count(), tod.seconds().count(), micros / 1000);
    }
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", int(ymd.year()),
                       unsigned(ymd.month()), unsigned(ymd.day()), tod.hours().count(),
                       tod.minutes().count(), tod.seconds().count(), micros);
}

}  // namespace

time_point now() { return floor<microseconds>(system_clock::now()); }

std::string format_rfc3339(time_point t) { return format(t, 3); }

std::string format_rfc3339_us(time_point t) { return format(t, 6); }

std::optional<time_point> parse_rfc3339(std::string_view text, bool assume_utc) {
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
    if (!read_digits(text, 0, 4, y) || text.size() < 19 || text[4] != '-' ||
        !read_digits(text, 5, 2, mo) || text[7] != '-' || !read_digits(text, 8, 2, d) ||
        (text[10] != 'T' && text[10] != 't' && text[10] != ' ') || !read_digits(text, 11, 2, h) ||
        text[13] != ':' || !read_digits(text, 14, 2, mi) || text[16] != ':' ||
        !read_digits(text, 17, 2, s)) {
        return std::nullopt;
    }
    year_month_day ymd{year{y}, month{unsigned(mo)}, day{unsigned(d)}};
    if (!ymd.ok() || h > 23 || mi > 59 || s > 60) {
        return std::nullopt;
    }
    std::size_t pos = 19;
    long long micros = 0;
    if (pos < text.size() && text[pos] == '.') {
        ++pos;
        int digits = 0;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            if (digits < 6) {
                micros = micros * 10 + (text[pos] - '0');
            }
            ++digits;
            ++pos;
        }
        if (digits == 0) {
            return std::nullopt;
        }
        for (int i = digits; i < 6; ++i) {
            micros *= 10;
        }
    }
    long long offset_minutes = 0;
    if (pos == text.size()) {
        if (!assume_utc) {
            return std::nullopt;
        }
    } else if (text[pos] == 'Z' || text[pos] == 'z') {
        ++pos;
    } else if (text[pos] == '+' || text[pos] == '-') {
        int oh = 0, om = 0;
        if (!read_digits(text, pos + 1, 2, oh) || pos + 3 >= text.size() || text[pos + 3] != ':' ||
            !read_digits(text, pos + 4, 2, om) || oh > 23 || om > 59) {
            return std::nullopt;
        }
        offset_minutes = (oh * 60 + om) * (text[pos] == '-' ? -1 : 1);
        pos += 6;
    } else {
        return std::nullopt;
    }
    if (pos != text.size()) {
        return std::nullopt;
    }
    auto t = sys_days{ymd} + hours{h} + minutes{mi} + seconds{s} + microseconds{micros} -
             minutes{offset_minutes};
    return time_point{t};
}

}  // namespace changefeed::time
