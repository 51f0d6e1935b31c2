#include "sources/retailcrm/account_zone.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>

namespace changefeed::sources::retailcrm {

namespace {

using namespace std::chrono;

constexpr std::size_t k_max_tzif_bytes = 1 << 20;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Reads up to `max_digits` decimal digits at `pos`; false when there is none.
bool read_number(std::string_view s, std::size_t& pos, int max_digits, int& out) {
    int value = 0;
    int digits = 0;
    while (pos < s.size() && is_digit(s[pos]) && digits < max_digits) {
        value = value * 10 + (s[pos] - '0');
        ++pos;
        ++digits;
    }
    out = value;
    return digits > 0;
}

// [+-]hh[:mm[:ss]] as seconds; `max_hours` bounds the hours.
std::optional<std::int32_t> read_hms(std::string_view s, std::size_t& pos, int max_hours) {
    int sign = 1;
    if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
        sign = s[pos] == '-' ? -1 : 1;
        ++pos;
    }
    int h = 0, m = 0, sec = 0;
    if (!read_number(s, pos, 3, h) || h > max_hours) {
        return std::nullopt;
    }
    if (pos < s.size() && s[pos] == ':') {
        ++pos;
        if (!read_number(s, pos, 2, m) || m > 59) {
            return std::nullopt;
        }
        if (pos < s.size() && s[pos] == ':') {
            ++pos;
            if (!read_number(s, pos, 2, sec) || sec > 59) {
                return std::nullopt;
            }
        }
    }
    return sign * (h * 3600 + m * 60 + sec);
}

// A zone abbreviation: "<+03>" or at least three letters.
bool read_abbreviation(std::string_view s, std::size_t& pos) {
    if (pos < s.size() && s[pos] == '<') {
        auto close = s.find('>', pos);
        if (close == std::string_view::npos || close == pos + 1) {
            return false;
        }
        pos = close + 1;
        return true;
    }
    std::size_t start = pos;
    while (pos < s.size() && is_alpha(s[pos])) {
        ++pos;
    }
    return pos - start >= 3;
}

std::optional<posix_zone::date_rule> read_date_rule(std::string_view s, std::size_t& pos) {
    posix_zone::date_rule r;
    if (pos >= s.size()) {
        return std::nullopt;
    }
    if (s[pos] == 'J') {
        ++pos;
        r.kind = posix_zone::date_rule::form::julian_1;
        if (!read_number(s, pos, 3, r.day) || r.day < 1 || r.day > 365) {
            return std::nullopt;
        }
    } else if (s[pos] == 'M') {
        ++pos;
        r.kind = posix_zone::date_rule::form::month_week_day;
        if (!read_number(s, pos, 2, r.month) || r.month < 1 || r.month > 12 || pos >= s.size() ||
            s[pos] != '.') {
            return std::nullopt;
        }
        ++pos;
        if (!read_number(s, pos, 1, r.week) || r.week < 1 || r.week > 5 || pos >= s.size() ||
            s[pos] != '.') {
            return std::nullopt;
        }
        ++pos;
        if (!read_number(s, pos, 1, r.day) || r.day > 6) {
            return std::nullopt;
        }
    } else {
        r.kind = posix_zone::date_rule::form::zero_based;
        if (!read_number(s, pos, 3, r.day) || r.day > 365) {
            return std::nullopt;
        }
    }
    if (pos < s.size() && s[pos] == '/') {
        ++pos;
        auto t = read_hms(s, pos, 167);
        if (!t) {
            return std::nullopt;
        }
        r.time = *t;
    }
    return r;
}

// The local date a rule names in `y`.
sys_days rule_day(int y, const posix_zone::date_rule& r) {
    auto jan1 = sys_days{year{y} / January / 1};
    switch (r.kind) {
    case posix_zone::date_rule::form::julian_1: {
        int doy = r.day - 1;
        if (year{y}.is_leap() && r.day >= 60) {
            ++doy;
        }
        return jan1 + days{doy};
    }
    case posix_zone::date_rule::form::zero_based:
        return jan1 + days{r.day};
    case posix_zone::date_rule::form::month_week_day:
        break;
    }
    auto first = sys_days{year{y} / month{static_cast<unsigned>(r.month)} / 1};
    auto last = sys_days{year{y} / month{static_cast<unsigned>(r.month)} / std::chrono::last};
    int first_wd = static_cast<int>(weekday{first}.c_encoding());
    auto day = first + days{(r.day - first_wd + 7) % 7 + 7 * (r.week - 1)};
    while (day > last) {
        day -= days{7};
    }
    return day;
}

struct tzif_reader {
    std::string_view data;
    std::size_t pos = 0;

    bool has(std::size_t n) const { return pos + n <= data.size(); }
    std::uint32_t u32() {
        std::uint32_t v = 0;
        for (int i = 0; i < 4; ++i) {
            v = (v << 8) | static_cast<unsigned char>(data[pos++]);
        }
        return v;
    }
    std::int64_t i64() {
        std::uint64_t v = 0;
        for (int i = 0; i < 8; ++i) {
            v = (v << 8) | static_cast<unsigned char>(data[pos++]);
        }
        return static_cast<std::int64_t>(v);
    }
};

struct tzif_header {
    char version = 0;
    std::uint32_t isutcnt = 0, isstdcnt = 0, leapcnt = 0, timecnt = 0, typecnt = 0, charcnt = 0;

    [[nodiscard]] std::size_t block_size(std::size_t time_bytes) const {
        return timecnt * time_bytes + timecnt + typecnt * 6 + charcnt + leapcnt * (time_bytes + 4) +
               isstdcnt + isutcnt;
    }
};

std::optional<tzif_header> read_header(tzif_reader& r) {
    if (!r.has(44) || r.data.substr(r.pos, 4) != "TZif") {
        return std::nullopt;
    }
    tzif_header h;
    h.version = r.data[r.pos + 4];
    r.pos += 20;
    h.isutcnt = r.u32();
    h.isstdcnt = r.u32();
    h.leapcnt = r.u32();
    h.timecnt = r.u32();
    h.typecnt = r.u32();
    h.charcnt = r.u32();
    if (h.typecnt == 0 || h.typecnt > 256 || h.timecnt > 100000 || h.charcnt > 10000 ||
        h.leapcnt > 10000 || (h.isutcnt != 0 && h.isutcnt != h.typecnt) ||
        (h.isstdcnt != 0 && h.isstdcnt != h.typecnt)) {
        return std::nullopt;
    }
    return h;
}

std::optional<std::string> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return std::nullopt;
    }
    std::string bytes;
    char buffer[4096];
    while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
        bytes.append(buffer, static_cast<std::size_t>(in.gcount()));
        if (bytes.size() > k_max_tzif_bytes) {
            return std::nullopt;
        }
    }
    return bytes;
}

// IANA names are relative paths of letters, digits and "_+-" segments.
bool is_zone_name(std::string_view name) {
    if (name.empty() || name.size() > 100 || name.front() == '/' || name.back() == '/') {
        return false;
    }
    std::size_t segment_start = 0;
    for (std::size_t i = 0; i <= name.size(); ++i) {
        if (i == name.size() || name[i] == '/') {
            auto segment = name.substr(segment_start, i - segment_start);
            if (segment.empty() || segment.front() == '.' || segment.front() == '-') {
                return false;
            }
            segment_start = i + 1;
            continue;
        }
        char c = name[i];
        if (!is_alpha(c) && !is_digit(c) && c != '_' && c != '+' && c != '-') {
            return false;
        }
    }
    return true;
}

}  // namespace

std::optional<posix_zone> posix_zone::parse(std::string_view s) {
    posix_zone z;
    std::size_t pos = 0;
    if (!read_abbreviation(s, pos)) {
        return std::nullopt;
    }
    auto std_offset = read_hms(s, pos, 24);
    if (!std_offset) {
        return std::nullopt;
    }
    z.std_offset = -*std_offset;  // POSIX counts west of Greenwich as positive
    if (pos == s.size()) {
        return z;
    }
    if (!read_abbreviation(s, pos)) {
        return std::nullopt;
    }
    dst_rule dst;
    dst.offset = z.std_offset + 3600;
    if (pos < s.size() && s[pos] != ',') {
        auto offset = read_hms(s, pos, 24);
        if (!offset) {
            return std::nullopt;
        }
        dst.offset = -*offset;
    }
    if (pos == s.size()) {
        // No rule given: POSIX leaves it to the implementation; tzcode uses the US rule.
        dst.start = {date_rule::form::month_week_day, 0, 3, 2, 7200};
        dst.end = {date_rule::form::month_week_day, 0, 11, 1, 7200};
        z.dst = dst;
        return z;
    }
    if (s[pos] != ',') {
        return std::nullopt;
    }
    ++pos;
    auto start = read_date_rule(s, pos);
    if (!start || pos >= s.size() || s[pos] != ',') {
        return std::nullopt;
    }
    ++pos;
    auto end = read_date_rule(s, pos);
    if (!end || pos != s.size()) {
        return std::nullopt;
    }
    dst.start = *start;
    dst.end = *end;
    z.dst = dst;
    return z;
}

std::int32_t posix_zone::offset_at(sys_seconds t) const {
    if (!dst) {
        return std_offset;
    }
    int y = static_cast<int>(year_month_day{floor<days>(t + seconds{std_offset})}.year());
    // A start time is written in standard time, an end time in daylight time.
    auto start = sys_seconds{rule_day(y, dst->start)} + seconds{dst->start.time - std_offset};
    auto end = sys_seconds{rule_day(y, dst->end)} + seconds{dst->end.time - dst->offset};
    bool in_dst = start < end ? (start <= t && t < end) : !(end <= t && t < start);
    return in_dst ? dst->offset : std_offset;
}

account_zone account_zone::fixed(std::string name, std::int32_t offset_seconds) {
    account_zone z;
    z.name_ = std::move(name);
    z.initial_offset_ = offset_seconds;
    return z;
}

std::variant<account_zone, std::string> account_zone::load(std::string_view name) {
    if (name == "UTC" || name == "Z" || name == "Etc/UTC" || name == "GMT" || name == "Etc/GMT") {
        return fixed(std::string(name), 0);
    }
    if (!name.empty() && (name.front() == '+' || name.front() == '-')) {
        int h = 0, m = 0;
        std::size_t hours_end = 1;
        std::size_t minutes_end = 4;
        if (name.size() == 6 && name[3] == ':' && read_number(name, hours_end, 2, h) &&
            hours_end == 3 && read_number(name, minutes_end, 2, m) && minutes_end == 6 && h <= 18 &&
            m <= 59) {
            int sign = name.front() == '-' ? -1 : 1;
            return fixed(std::string(name), sign * (h * 3600 + m * 60));
        }
        return "\"" + std::string(name) + "\" is not an offset of the form +HH:MM";
    }
    if (!is_zone_name(name)) {
        return "\"" + std::string(name) +
               "\" is not a time zone: expected UTC, an offset such as +03:00, or an IANA name "
               "such as Europe/Moscow";
    }
    const char* tzdir = std::getenv("TZDIR");
    std::string dir = tzdir != nullptr && *tzdir != '\0' ? tzdir : "/usr/share/zoneinfo";
    auto bytes = read_file(dir + "/" + std::string(name));
    if (!bytes) {
        return "unknown time zone \"" + std::string(name) + "\" (no tzdata file under " + dir +
               "; install tzdata, or write the offset as +HH:MM)";
    }
    return from_tzif(name, *bytes);
}

std::variant<account_zone, std::string> account_zone::from_tzif(std::string_view name,
                                                                std::string_view bytes) {
    auto bad = [&](std::string_view why) {
        return "time zone \"" + std::string(name) + "\": " + std::string(why);
    };
    tzif_reader r{bytes};
    auto header = read_header(r);
    if (!header) {
        return bad("not a TZif file");
    }
    std::size_t time_bytes = 4;
    if (header->version >= '2') {
        // Skip the 32-bit block: the 64-bit one follows with its own header.
        auto skip = header->block_size(4);
        if (!r.has(skip)) {
            return bad("truncated TZif file");
        }
        r.pos += skip;
        header = read_header(r);
        if (!header) {
            return bad("malformed TZif version 2+ header");
        }
        time_bytes = 8;
    }
    if (header->leapcnt != 0) {
        return bad("zones with leap seconds (right/...) are not supported");
    }
    if (!r.has(header->block_size(time_bytes))) {
        return bad("truncated TZif file");
    }
    account_zone z;
    z.name_ = std::string(name);
    z.transitions_.reserve(header->timecnt);
    for (std::uint32_t i = 0; i < header->timecnt; ++i) {
        auto t = time_bytes == 8 ? r.i64()
                                 : static_cast<std::int64_t>(static_cast<std::int32_t>(r.u32()));
        if (!z.transitions_.empty() && t <= z.transitions_.back()) {
            return bad("transition times are not ascending");
        }
        z.transitions_.push_back(t);
    }
    std::vector<std::uint8_t> indexes;
    for (std::uint32_t i = 0; i < header->timecnt; ++i) {
        auto index = static_cast<std::uint8_t>(r.data[r.pos++]);
        if (index >= header->typecnt) {
            return bad("transition names an unknown local time type");
        }
        indexes.push_back(index);
    }
    std::vector<std::int32_t> type_offsets;
    for (std::uint32_t i = 0; i < header->typecnt; ++i) {
        auto offset = static_cast<std::int32_t>(r.u32());
        r.pos += 2;  // isdst, desigidx
        if (offset < -25 * 3600 || offset > 26 * 3600) {
            return bad("implausible UTC offset");
        }
        type_offsets.push_back(offset);
    }
    r.pos += header->charcnt + header->isstdcnt + header->isutcnt;
    for (auto index : indexes) {
        z.offsets_.push_back(type_offsets[index]);
    }
    z.initial_offset_ = type_offsets[0];

    if (time_bytes == 8) {
        if (!r.has(1) || r.data[r.pos] != '\n') {
            return bad("missing TZ string footer");
        }
        auto end = r.data.find('\n', r.pos + 1);
        if (end == std::string_view::npos) {
            return bad("unterminated TZ string footer");
        }
        auto footer = r.data.substr(r.pos + 1, end - r.pos - 1);
        if (!footer.empty()) {
            auto rule = posix_zone::parse(footer);
            if (!rule) {
                return bad("unreadable TZ string footer \"" + std::string(footer) + "\"");
            }
            z.footer_ = *rule;
        }
    }
    return z;
}

seconds account_zone::offset_at(sys_seconds t) const {
    auto secs = t.time_since_epoch().count();
    auto it = std::upper_bound(transitions_.begin(), transitions_.end(), secs);
    if (it == transitions_.end() && footer_) {
        return seconds{footer_->offset_at(t)};
    }
    if (it == transitions_.begin()) {
        return seconds{initial_offset_};
    }
    return seconds{offsets_[static_cast<std::size_t>(it - transitions_.begin() - 1)]};
}

local_seconds account_zone::to_local(sys_seconds t) const {
    return local_seconds{(t + offset_at(t)).time_since_epoch()};
}

sys_seconds account_zone::to_utc(local_seconds local) const {
    // Offsets change at most once within a day around any wall-clock time (in every zone since
    // 1970), so the offsets a day before and after are the only candidates.
    auto naive = sys_seconds{local.time_since_epoch()};
    auto before = offset_at(naive - days{1});
    auto here = offset_at(naive);
    auto after = offset_at(naive + days{1});
    std::optional<sys_seconds> best;
    for (auto offset : {before, here, after}) {
        auto candidate = naive - offset;
        if (offset_at(candidate) == offset && (!best || candidate < *best)) {
            best = candidate;
        }
    }
    return best ? *best : naive - before;
}

std::optional<local_seconds> parse_local(std::string_view text) {
    if (text.size() != 19 || text[4] != '-' || text[7] != '-' || text[10] != ' ' ||
        text[13] != ':' || text[16] != ':') {
        return std::nullopt;
    }
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
    std::size_t pos = 0;
    auto field = [&](std::size_t at, int digits, int& out) {
        pos = at;
        return read_number(text, pos, digits, out) && pos == at + static_cast<std::size_t>(digits);
    };
    if (!field(0, 4, y) || !field(5, 2, mo) || !field(8, 2, d) || !field(11, 2, h) ||
        !field(14, 2, mi) || !field(17, 2, s)) {
        return std::nullopt;
    }
    year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
    if (!ymd.ok() || h > 23 || mi > 59 || s > 59) {
        return std::nullopt;
    }
    return local_seconds{(sys_days{ymd} + hours{h} + minutes{mi} + seconds{s}).time_since_epoch()};
}

std::string format_local(local_seconds t) {
    auto day = floor<days>(t);
    year_month_day ymd{day};
    hh_mm_ss<seconds> tod{t - day};
    return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", static_cast<int>(ymd.year()),
                       static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                       tod.hours().count(), tod.minutes().count(), tod.seconds().count());
}

}  // namespace changefeed::sources::retailcrm
