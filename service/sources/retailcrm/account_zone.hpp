// The retailCRM account's time zone, in which history timestamps are written: UTC, a fixed offset,
// or an IANA zone read from the system's tzdata (TZif files plus their POSIX TZ footer), because
// g++ 12's libstdc++ has no std::chrono::locate_zone.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace changefeed::sources::retailcrm {

/// A POSIX TZ rule ("EST5EDT,M3.2.0,M11.1.0"), as in the footer of a TZif file.
struct posix_zone {
    struct date_rule {
        enum class form { julian_1, zero_based, month_week_day };
        form kind = form::month_week_day;
        int day = 0;  ///< Jn: 1..365 (Feb 29 never counted); n: 0..365; M: weekday 0..6 (Sunday 0)
        int month = 0;             ///< M only: 1..12
        int week = 0;              ///< M only: 1..5 (5: the last)
        std::int32_t time = 7200;  ///< seconds after local midnight (may be negative or beyond 24h)
    };
    struct dst_rule {
        std::int32_t offset = 0;  ///< seconds east of UTC while daylight time is in effect
        date_rule start;
        date_rule end;
    };
    std::int32_t std_offset = 0;  ///< seconds east of UTC
    std::optional<dst_rule> dst;

    /// Parses a POSIX TZ string; nullopt when it is not one.
    static std::optional<posix_zone> parse(std::string_view text);
    /// The offset (seconds east of UTC) in effect at `t`.
    [[nodiscard]] std::int32_t offset_at(std::chrono::sys_seconds t) const;
};

class account_zone {
  public:
    /// "UTC" (or "Z", "Etc/UTC"), a fixed offset "+03:00" / "-05:30", or an IANA name read from
    /// $TZDIR or /usr/share/zoneinfo. Returns an error message for anything else (unknown zone,
    /// unreadable or malformed file).
    static std::variant<account_zone, std::string> load(std::string_view name);
    /// Reads the bytes of a TZif file (RFC 8536, versions 1 to 4); `name` labels the zone.
    static std::variant<account_zone, std::string> from_tzif(std::string_view name,
                                                             std::string_view bytes);
    /// A zone with one fixed offset (seconds east of UTC).
    static account_zone fixed(std::string name, std::int32_t offset_seconds);

    [[nodiscard]] const std::string& name() const { return name_; }

    /// The offset from UTC in effect at `t`.
    [[nodiscard]] std::chrono::seconds offset_at(std::chrono::sys_seconds t) const;
    /// The wall-clock time at `t`.
    [[nodiscard]] std::chrono::local_seconds to_local(std::chrono::sys_seconds t) const;
    /// The instant a wall-clock time names. A time that occurs twice (clocks turned back) is read
    /// as the earlier instant; a time that never occurs (clocks turned forward) is read with the
    /// offset in effect before the jump.
    [[nodiscard]] std::chrono::sys_seconds to_utc(std::chrono::local_seconds local) const;

  private:
    account_zone() = default;

    std::string name_;
    std::vector<std::int64_t> transitions_;  ///< UTC seconds, ascending
    std::vector<std::int32_t> offsets_;      ///< offset in effect from transitions_[i] on
    std::int32_t initial_offset_ = 0;        ///< before the first transition
    std::optional<posix_zone> footer_;       ///< after the last transition
};

/// "Y-m-d H:i:s" (retailCRM's date-time format, no zone) as a wall-clock time; nullopt otherwise.
std::optional<std::chrono::local_seconds> parse_local(std::string_view text);
/// A wall-clock time as "Y-m-d H:i:s".
std::string format_local(std::chrono::local_seconds t);

}  // namespace changefeed::sources::retailcrm
