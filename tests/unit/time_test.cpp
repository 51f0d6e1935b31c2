#include "core/time.hpp"

#include <gtest/gtest.h>

namespace changefeed::time {
namespace {

TEST(rfc3339, round_trips_milliseconds) {
    auto t = parse_rfc3339("2026-11-20T09:15:02.123Z");
    ASSERT_TRUE(t);
    EXPECT_EQ(format_rfc3339(*t), "2026-11-20T09:15:02.123Z");
}

TEST(rfc3339, applies_offsets_and_long_fractions) {
    auto t = parse_rfc3339("2021-10-20T12:56:27.2450000+02:00");
    ASSERT_TRUE(t);
    EXPECT_EQ(format_rfc3339_us(*t), "2021-10-20T10:56:27.245000Z");
}

TEST(rfc3339, rejects_garbage_and_missing_zone) {
    EXPECT_FALSE(parse_rfc3339("2021-13-20T12:56:27Z"));
    EXPECT_FALSE(parse_rfc3339("yesterday"));
    EXPECT_FALSE(parse_rfc3339("2021-10-20T12:56:27"));
    EXPECT_TRUE(parse_rfc3339("2021-10-20 12:56:27", true));
}

}  // namespace
}  // namespace changefeed::time
