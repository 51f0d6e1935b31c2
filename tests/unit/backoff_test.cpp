#include "sources/common/backoff.hpp"

#include <gtest/gtest.h>

namespace changefeed::sources {
namespace {

using namespace std::chrono_literals;

const time::time_point now = time::time_point(std::chrono::seconds(784111777));  // 1994-11-06 08:49:37

TEST(backoff, full_jitter_stays_within_the_doubling_ceiling_and_the_cap) {
    std::mt19937_64 rng(7);
    backoff_policy p{100ms, 2s};
    for (unsigned attempt = 0; attempt < 10; ++attempt) {
        auto ceiling = std::min<std::chrono::milliseconds>(100ms * (1 << attempt), 2s);
        std::chrono::milliseconds highest{0};
        for (int i = 0; i < 2000; ++i) {
            auto d = full_jitter(p, attempt, rng);
            ASSERT_GE(d.count(), 0);
            ASSERT_LE(d, ceiling);
            highest = std::max(highest, d);
        }
        // Jitter spreads over the whole range (not a fixed delay).
        EXPECT_GT(highest, ceiling / 2);
    }
}

TEST(backoff, retry_after_in_seconds_or_as_an_http_date) {
    EXPECT_EQ(parse_retry_after("120", now), 120s);
    EXPECT_EQ(parse_retry_after(" 3 ", now), 3s);
    EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now), 10s);
    EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:40:00 GMT", now), 0ms);
    EXPECT_FALSE(parse_retry_after("-5", now));
    EXPECT_FALSE(parse_retry_after("soon", now));
    EXPECT_FALSE(parse_retry_after("Sun, 06 Nov 1994 08:49:47 UTC", now));
    EXPECT_FALSE(parse_retry_after("Sun, 31 Feb 1994 08:49:47 GMT", now));
}

TEST(backoff, ratelimit_reset_as_unix_time_or_delta) {
    EXPECT_EQ(parse_ratelimit_reset("1800000000", time::time_point(std::chrono::seconds(1799999990))), 10s);
    EXPECT_EQ(parse_ratelimit_reset("5", now), 5s);
    EXPECT_FALSE(parse_ratelimit_reset("x", now));
}

}  // namespace
}  // namespace changefeed::sources
