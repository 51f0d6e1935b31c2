// The retailCRM account time zone: fixed offsets, IANA zones from the system tzdata (transitions
// and POSIX TZ footers), wall-clock gaps and overlaps, checked against glibc's own reading.
#include "sources/retailcrm/account_zone.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>

namespace changefeed::sources::retailcrm {
namespace {

using namespace std::chrono;

account_zone zone(std::string_view name) {
    auto loaded = account_zone::load(name);
    if (auto* error = std::get_if<std::string>(&loaded)) {
        ADD_FAILURE() << *error;
        return account_zone::fixed("UTC", 0);
    }
    return std::get<account_zone>(std::move(loaded));
}

std::string load_error(std::string_view name) {
    auto loaded = account_zone::load(name);
    return std::holds_alternative<std::string>(loaded) ? std::get<std::string>(loaded)
                                                       : std::string();
}

sys_seconds utc(std::string_view text) {
    auto local = parse_local(text);
    EXPECT_TRUE(local) << text;
    return sys_seconds{local.value_or(local_seconds{}).time_since_epoch()};
}

local_seconds local(std::string_view text) {
    auto l = parse_local(text);
    EXPECT_TRUE(l) << text;
    return l.value_or(local_seconds{});
}

bool have_tzdata() {
    const char* dir = std::getenv("TZDIR");
    std::ifstream probe(std::string(dir != nullptr && *dir != '\0' ? dir : "/usr/share/zoneinfo") +
                        "/America/New_York");
    return static_cast<bool>(probe);
}

TEST(account_zone, utc_and_fixed_offsets_need_no_tzdata) {
    EXPECT_EQ(zone("UTC").to_utc(local("2021-02-25 20:41:40")), utc("2021-02-25 20:41:40"));
    EXPECT_EQ(zone("+03:00").to_utc(local("2021-02-25 20:41:40")), utc("2021-02-25 17:41:40"));
    EXPECT_EQ(zone("-05:30").to_utc(local("2021-02-25 20:41:40")), utc("2021-02-26 02:11:40"));
    EXPECT_EQ(zone("+03:00").to_local(utc("2021-02-25 23:00:00")), local("2021-02-26 02:00:00"));
    EXPECT_EQ(zone("+03:00").offset_at(utc("1999-01-01 00:00:00")), hours(3));
    EXPECT_EQ(zone("+03:00").name(), "+03:00");

    EXPECT_NE(load_error("+3"), "");
    EXPECT_NE(load_error("+03:60"), "");
    EXPECT_NE(load_error("+19:00"), "");
    EXPECT_NE(load_error("03:00"), "");
    EXPECT_NE(load_error(""), "");
}

TEST(account_zone, refuses_names_that_are_not_zone_names) {
    for (auto name : {"../../etc/passwd", "/etc/localtime", "Europe/../../etc/passwd",
                      "Europe//Moscow", "Europe/Moscow/", "Europe/.hidden", "Europe/Mos cow"}) {
        EXPECT_NE(load_error(name).find("is not a time zone"), std::string::npos) << name;
    }
    EXPECT_NE(load_error("Mars/Olympus_Mons").find("unknown time zone \"Mars/Olympus_Mons\""),
              std::string::npos);
}

TEST(account_zone, iana_zones_follow_their_history) {
    if (!have_tzdata()) {
        GTEST_SKIP() << "no tzdata on this machine";
    }
    auto moscow = zone("Europe/Moscow");
    EXPECT_EQ(moscow.to_utc(local("2012-06-01 12:00:00")), utc("2012-06-01 08:00:00"));  // +04 then
    EXPECT_EQ(moscow.to_utc(local("2015-06-01 12:00:00")), utc("2015-06-01 09:00:00"));  // +03 now
    EXPECT_EQ(moscow.to_utc(local("2010-01-15 12:00:00")), utc("2010-01-15 09:00:00"));  // winter
    EXPECT_EQ(moscow.to_utc(local("2010-07-15 12:00:00")), utc("2010-07-15 08:00:00"));  // summer

    auto ny = zone("America/New_York");
    EXPECT_EQ(ny.to_local(utc("2024-03-10 06:59:59")), local("2024-03-10 01:59:59"));
    EXPECT_EQ(ny.to_local(utc("2024-03-10 07:00:00")), local("2024-03-10 03:00:00"));
    // A wall-clock time skipped by the spring jump is read with the offset before the jump.
    EXPECT_EQ(ny.to_utc(local("2024-03-10 02:30:00")), utc("2024-03-10 07:30:00"));
    // A wall-clock time that occurs twice in the autumn is the earlier instant.
    EXPECT_EQ(ny.to_utc(local("2024-11-03 01:30:00")), utc("2024-11-03 05:30:00"));
    EXPECT_EQ(ny.to_local(utc("2024-11-03 06:30:00")), local("2024-11-03 01:30:00"));
    // Beyond the file's transitions the footer's rule decides.
    EXPECT_EQ(ny.to_utc(local("2045-07-01 12:00:00")), utc("2045-07-01 16:00:00"));
    EXPECT_EQ(ny.to_utc(local("2045-01-15 12:00:00")), utc("2045-01-15 17:00:00"));

    auto sydney = zone("Australia/Sydney");
    EXPECT_EQ(sydney.offset_at(utc("2040-01-15 00:00:00")), hours(11));
    EXPECT_EQ(sydney.offset_at(utc("2040-07-15 00:00:00")), hours(10));
}

TEST(account_zone, posix_rules) {
    auto us = posix_zone::parse("EST5EDT,M3.2.0,M11.1.0");
    ASSERT_TRUE(us);
    EXPECT_EQ(us->std_offset, -5 * 3600);
    ASSERT_TRUE(us->dst);
    EXPECT_EQ(us->dst->offset, -4 * 3600);
    EXPECT_EQ(us->offset_at(utc("2050-03-13 06:59:59")), -5 * 3600);  // second Sunday of March
    EXPECT_EQ(us->offset_at(utc("2050-03-13 07:00:00")), -4 * 3600);
    EXPECT_EQ(us->offset_at(utc("2050-11-06 05:59:59")), -4 * 3600);  // first Sunday of November
    EXPECT_EQ(us->offset_at(utc("2050-11-06 06:00:00")), -5 * 3600);

    auto fixed = posix_zone::parse("<+03>-3");
    ASSERT_TRUE(fixed);
    EXPECT_EQ(fixed->std_offset, 3 * 3600);
    EXPECT_FALSE(fixed->dst);

    // Southern hemisphere: daylight time spans the new year.
    auto sydney = posix_zone::parse("AEST-10AEDT,M10.1.0,M4.1.0/3");
    ASSERT_TRUE(sydney);
    EXPECT_EQ(sydney->offset_at(utc("2050-01-15 00:00:00")), 11 * 3600);
    EXPECT_EQ(sydney->offset_at(utc("2050-07-15 00:00:00")), 10 * 3600);

    // Half-hour daylight saving, and rule times beyond 24 h (tzdata version 3).
    auto lord_howe = posix_zone::parse("<+1030>-10:30<+11>-11,M10.1.0,M4.1.0");
    ASSERT_TRUE(lord_howe);
    EXPECT_EQ(lord_howe->offset_at(utc("2050-01-15 00:00:00")), 11 * 3600);
    EXPECT_EQ(lord_howe->offset_at(utc("2050-07-15 00:00:00")), 10 * 3600 + 1800);
    auto israel = posix_zone::parse("IST-2IDT,M3.4.4/26,M10.5.0");
    ASSERT_TRUE(israel);
    EXPECT_EQ(israel->dst->start.time, 26 * 3600);

    // Julian days, with and without the leap day.
    auto julian = posix_zone::parse("AAA0BBB,J60/0,300/0");
    ASSERT_TRUE(julian);
    EXPECT_EQ(julian->offset_at(utc("2048-02-29 12:00:00")), 0);  // J60 is March 1st
    EXPECT_EQ(julian->offset_at(utc("2048-03-01 00:00:00")), 3600);
    EXPECT_EQ(julian->offset_at(utc("2048-10-26 22:59:59")), 3600);  // day 300 counts Feb 29
    EXPECT_EQ(julian->offset_at(utc("2048-10-26 23:00:00")), 0);

    for (auto bad : {"", "EST", "5", "EST5EDT,M13.1.0,M11.1.0", "EST5EDT,M3.2.0",
                     "EST5EDT,M3.6.0,M11.1.0", "<>5", "EST5EDT,J0,J365", "EST5 "}) {
        EXPECT_FALSE(posix_zone::parse(bad)) << bad;
    }
}

TEST(account_zone, malformed_tzif_files_are_errors) {
    auto error = [](std::string_view bytes) {
        auto z = account_zone::from_tzif("Test/Zone", bytes);
        return std::holds_alternative<std::string>(z) ? std::get<std::string>(z) : std::string();
    };
    EXPECT_EQ(error(""), "time zone \"Test/Zone\": not a TZif file");
    EXPECT_EQ(error("TZif2 and then nothing"), "time zone \"Test/Zone\": not a TZif file");
    if (!have_tzdata()) {
        GTEST_SKIP() << "no tzdata on this machine";
    }
    std::ifstream in("/usr/share/zoneinfo/America/New_York", std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    auto bytes = buffer.str();
    EXPECT_EQ(error(""), "time zone \"Test/Zone\": not a TZif file");
    EXPECT_NE(error(bytes.substr(0, bytes.size() / 2)), "");
    EXPECT_EQ(error(bytes.substr(0, bytes.size() - 1)),
              "time zone \"Test/Zone\": unterminated TZ string footer");
    EXPECT_EQ(error(bytes), "");
}

// Every zone read here must agree with glibc, which reads the same files, at instants spread
// over 1975..2045 (past transitions, the fat files' last ones around 2037, and footers after).
TEST(account_zone, agrees_with_glibc_localtime) {
    if (!have_tzdata()) {
        GTEST_SKIP() << "no tzdata on this machine";
    }
    const char* saved = std::getenv("TZ");
    std::string saved_tz = saved != nullptr ? saved : "";
    for (auto name : {"America/New_York", "Europe/Moscow", "Europe/London", "Australia/Sydney",
                      "Australia/Lord_Howe", "Asia/Kolkata", "America/Sao_Paulo",
                      "Africa/Casablanca", "Pacific/Chatham", "Asia/Tehran"}) {
        auto z = zone(name);
        ::setenv("TZ", (std::string(":") + name).c_str(), 1);
        ::tzset();
        int mismatches = 0;
        for (auto t = utc("1975-01-01 00:00:00"); t < utc("2045-12-31 00:00:00");
             t += minutes(9973)) {
            std::time_t tt = t.time_since_epoch().count();
            std::tm tm{};
            ::localtime_r(&tt, &tm);
            if (z.offset_at(t) != seconds(tm.tm_gmtoff) && ++mismatches <= 3) {
                ADD_FAILURE() << name << " at " << tt << ": ours " << z.offset_at(t).count()
                              << " s, glibc " << tm.tm_gmtoff << " s";
            }
            // Back and forth: the wall clock reads back to the same instant or an earlier one
            // showing the same wall-clock time (an autumn overlap).
            auto wall = z.to_local(t);
            auto back = z.to_utc(wall);
            EXPECT_EQ(z.to_local(back), wall);
            EXPECT_LE(back, t);
            EXPECT_GE(back, t - hours(1));
        }
        EXPECT_EQ(mismatches, 0) << name;
    }
    if (saved != nullptr) {
        ::setenv("TZ", saved_tz.c_str(), 1);
    } else {
        ::unsetenv("TZ");
    }
    ::tzset();
}

TEST(account_zone, local_time_text) {
    EXPECT_EQ(format_local(local("2021-02-25 20:41:40")), "2021-02-25 20:41:40");
    EXPECT_EQ(format_local(local("1999-12-31 23:59:59")), "1999-12-31 23:59:59");
    for (auto bad :
         {"2021-02-30 00:00:00", "2021-02-25T20:41:40", "2021-02-25 24:00:00", "2021-02-25 20:41",
          "2021-02-25 20:41:40Z", "2021-2-25 20:41:40", "2021-02-25 20:41:4x"}) {
        EXPECT_FALSE(parse_local(bad)) << bad;
    }
}

}  // namespace
}  // namespace changefeed::sources::retailcrm
