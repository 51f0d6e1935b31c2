#include "core/duration.hpp"

#include <gtest/gtest.h>

namespace changefeed::time {
namespace {

using namespace std::chrono_literals;

TEST(duration, parses_every_unit_and_bare_zero) {
    EXPECT_EQ(parse_duration("500ms"), 500ms);
    EXPECT_EQ(parse_duration("30s"), 30s);
    EXPECT_EQ(parse_duration("5m"), 5min);
    EXPECT_EQ(parse_duration("2h"), 2h);
    EXPECT_EQ(parse_duration("7d"), std::chrono::days{7});
    EXPECT_EQ(parse_duration("0"), 0ms);
    EXPECT_EQ(parse_duration("0s"), 0ms);
}

TEST(duration, rejects_malformed_text) {
    for (std::string_view bad : {"", "-5s", "+5s", "5", "10", "s", "5 s", " 5s", "5s ", "1.5s",
                                 "5sec", "5S", "5mss", "fast", "00"}) {
        EXPECT_FALSE(parse_duration(bad)) << '"' << bad << '"';
    }
}

TEST(duration, rejects_overflow) {
    EXPECT_EQ(parse_duration("9223372036854775807ms"), std::chrono::milliseconds::max());
    EXPECT_FALSE(parse_duration("9223372036854775808ms"));
    EXPECT_FALSE(parse_duration("106751991167301d"));
    EXPECT_FALSE(parse_duration("99999999999999999999999s"));
}

TEST(duration, formats_in_the_largest_exact_unit) {
    EXPECT_EQ(format_duration(0ms), "0");
    EXPECT_EQ(format_duration(1500ms), "1500ms");
    EXPECT_EQ(format_duration(30s), "30s");
    EXPECT_EQ(format_duration(90s), "90s");
    EXPECT_EQ(format_duration(5min), "5m");
    EXPECT_EQ(format_duration(2h), "2h");
    EXPECT_EQ(format_duration(std::chrono::days{7}), "7d");
    EXPECT_EQ(format_duration(-30s), "-30s");
}

TEST(duration, round_trips) {
    for (std::chrono::milliseconds d :
         {1ms, 999ms, 1000ms, 61000ms, 3600000ms, 86'400'001ms, std::chrono::milliseconds::max()}) {
        EXPECT_EQ(parse_duration(format_duration(d)), d) << d.count();
    }
}

}  // namespace
}  // namespace changefeed::time
