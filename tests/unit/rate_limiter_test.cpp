#include "sources/common/rate_limiter.hpp"

#include <gtest/gtest.h>

namespace changefeed::sources {
namespace {

using namespace std::chrono_literals;

const time::time_point t0 = time::time_point(std::chrono::seconds(1'800'000'000));

TEST(rate_limiter, admits_up_to_the_limit_in_any_span_of_the_window) {
    rate_limiter limiter({{3, 5s}});
    EXPECT_FALSE(limiter.try_acquire(t0));
    EXPECT_FALSE(limiter.try_acquire(t0 + 1s));
    EXPECT_FALSE(limiter.try_acquire(t0 + 2s));
    auto wait = limiter.try_acquire(t0 + 3s);
    ASSERT_TRUE(wait);
    // The first request leaves the window at t0 + 5s.
    EXPECT_EQ(*wait, 2s);
    // A request is counted while it is less than a window old.
    EXPECT_FALSE(limiter.try_acquire(t0 + 5s));
    // Sliding, not fixed: t0 + 1s, t0 + 2s and t0 + 5s fill the window until t0 + 6s.
    EXPECT_EQ(limiter.try_acquire(t0 + 5s + 1us), 1s - 1us);
    EXPECT_FALSE(limiter.try_acquire(t0 + 6s));
}

TEST(rate_limiter, every_window_must_have_room) {
    rate_limiter limiter({{2, 1s}, {3, 1min}});
    EXPECT_FALSE(limiter.try_acquire(t0));
    EXPECT_FALSE(limiter.try_acquire(t0));
    EXPECT_EQ(*limiter.try_acquire(t0), 1s);
    EXPECT_FALSE(limiter.try_acquire(t0 + 2s));
    auto wait = limiter.try_acquire(t0 + 3s);
    ASSERT_TRUE(wait);
    EXPECT_EQ(*wait, 57s);  // the minute window is full until t0 + 60s
    auto state = limiter.state(t0 + 3s);
    ASSERT_EQ(state.size(), 2u);
    EXPECT_EQ(state[0].remaining, 2u);
    EXPECT_EQ(state[1].remaining, 0u);
    EXPECT_EQ(state[1].resets_at, t0 + 60s);
    EXPECT_FALSE(state[0].resets_at);
}

TEST(rate_limiter, no_windows_admits_everything) {
    rate_limiter limiter({});
    for (int i = 0; i < 1000; ++i) {
        ASSERT_FALSE(limiter.try_acquire(t0));
    }
}

TEST(rate_limiter, a_pause_blocks_until_it_ends_and_never_shortens) {
    rate_limiter limiter({{100, 1s}});
    limiter.pause_until(t0 + 30s);
    limiter.pause_until(t0 + 10s);
    EXPECT_EQ(*limiter.try_acquire(t0), 30s);
    EXPECT_EQ(limiter.state(t0)[0].remaining, 0u);
    EXPECT_EQ(limiter.state(t0)[0].resets_at, t0 + 30s);
    EXPECT_FALSE(limiter.try_acquire(t0 + 30s));
    EXPECT_FALSE(limiter.paused_until(t0 + 30s));
}

TEST(rate_limiter, recorded_history_counts) {
    rate_limiter limiter({{3000, 24h}});
    for (int i = 0; i < 3000; ++i) {
        limiter.record(t0 - 23h + std::chrono::seconds(i));
    }
    auto wait = limiter.try_acquire(t0);
    ASSERT_TRUE(wait);
    EXPECT_EQ(*wait, 1h);
    EXPECT_EQ(limiter.used(limiter.windows()[0], t0), 3000u);
}

}  // namespace
}  // namespace changefeed::sources
