// The per-minute activity counters behind GET /activity: buckets, the hour window, ring reuse.
#include "feed/activity.hpp"

#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

namespace changefeed::feed {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

time::time_point at(const char* text) {
    auto t = time::parse_rfc3339(text);
    EXPECT_TRUE(t) << text;
    return *t;
}

std::vector<std::int64_t> counts(const json::value& v) {
    std::vector<std::int64_t> out;
    for (const auto& c : v.as_array()) {
        out.push_back(c.to_number<std::int64_t>());
    }
    return out;
}

const json::value& series_of(const json::object& o, std::string_view name) {
    for (const auto& s : o.at("sources").as_array()) {
        if (s.at("name").as_string() == name) {
            return s.at("counts");
        }
    }
    throw std::runtime_error("no series " + std::string(name));
}

TEST(activity, counts_per_minute_and_source_with_the_current_minute_last) {
    activity a;
    a.record("pennylane", 3, at("2026-11-20T09:15:02Z"));
    a.record("pennylane", 2, at("2026-11-20T09:15:59.999Z"));
    a.record("struct", 7, at("2026-11-20T09:14:00Z"));
    a.record("pennylane", 1, at("2026-11-20T08:16:30Z"));

    auto o = a.to_json(at("2026-11-20T09:15:30Z"));
    EXPECT_EQ(o.at("minutes"), 60);
    EXPECT_EQ(o.at("minute_start"), "2026-11-20T08:16:00.000Z");
    auto p = counts(series_of(o, "pennylane"));
    auto s = counts(series_of(o, "struct"));
    auto total = counts(o.at("total"));
    ASSERT_EQ(p.size(), 60u);
    ASSERT_EQ(total.size(), 60u);
    EXPECT_EQ(p[59], 5);
    EXPECT_EQ(p[0], 1);
    EXPECT_EQ(s[58], 7);
    EXPECT_EQ(total[59], 5);
    EXPECT_EQ(total[58], 7);
    EXPECT_EQ(total[0], 1);
    std::int64_t sum = 0;
    for (auto n : total) {
        sum += n;
    }
    EXPECT_EQ(sum, 13);
    // Sources keep the order they first reported in.
    EXPECT_EQ(o.at("sources").as_array()[0].at("name"), "pennylane");
    EXPECT_EQ(o.at("sources").as_array()[1].at("name"), "struct");
}

TEST(activity, minutes_older_than_the_hour_drop_out) {
    activity a;
    a.record("pennylane", 4, at("2026-11-20T08:15:10Z"));
    auto o = a.to_json(at("2026-11-20T09:15:00Z"));  // the hour starts at 08:16
    auto p = counts(series_of(o, "pennylane"));
    EXPECT_EQ(std::count(p.begin(), p.end(), 0), 60);
}

TEST(activity, a_reused_bucket_starts_from_zero_and_late_counts_for_an_old_minute_are_dropped) {
    activity a;
    a.record("pennylane", 4, at("2026-11-20T08:15:10Z"));
    a.record("pennylane", 2, at("2026-11-20T09:15:10Z"));  // same slot, an hour later
    a.record("pennylane", 9, at("2026-11-20T08:15:50Z"));  // too late for the old minute
    auto o = a.to_json(at("2026-11-20T09:15:30Z"));
    auto p = counts(series_of(o, "pennylane"));
    EXPECT_EQ(p[59], 2);
    EXPECT_EQ(std::accumulate(p.begin(), p.end(), std::int64_t{0}), 2);
}

TEST(activity, an_idle_hour_is_all_zeros_and_no_sources) {
    activity a;
    auto o = a.to_json(at("2026-11-20T09:15:30Z"));
    EXPECT_TRUE(o.at("sources").as_array().empty());
    auto total = counts(o.at("total"));
    EXPECT_EQ(total, std::vector<std::int64_t>(60, 0));
}

}  // namespace
}  // namespace changefeed::feed
