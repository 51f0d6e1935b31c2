#include "feed/activity.hpp"

#include "feed/changes_handler.hpp"
#include "feed/feed_notifier.hpp"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>

namespace changefeed::feed {

namespace {

std::int64_t minute_of(time::time_point t) {
    return std::chrono::floor<std::chrono::minutes>(t).time_since_epoch().count();
}

std::size_t slot_of(std::int64_t minute) {
    auto n = static_cast<std::int64_t>(activity::k_minutes);
    return static_cast<std::size_t>(((minute % n) + n) % n);
}

}  // namespace

void activity::record(std::string_view source, std::uint64_t events, time::time_point at) {
    auto it = std::find_if(series_.begin(), series_.end(),
                           [source](const series& s) { return s.source == source; });
    if (it == series_.end()) {
        series_.emplace_back();
        it = series_.end() - 1;
        it->source = std::string(source);
    }
    auto minute = minute_of(at);
    auto& b = it->buckets[slot_of(minute)];
    if (b.minute > minute) {
        return;  // older than the hour this bucket now holds
    }
    if (b.minute != minute) {
        b = bucket{minute, 0};
    }
    b.count += events;
}

boost::json::object activity::to_json(time::time_point now) const {
    auto newest = minute_of(now);
    auto oldest = newest - static_cast<std::int64_t>(k_minutes) + 1;
    std::array<std::uint64_t, k_minutes> total{};
    boost::json::array sources;
    for (const auto& s : series_) {
        boost::json::array counts;
        counts.reserve(k_minutes);
        for (std::size_t i = 0; i < k_minutes; ++i) {
            auto minute = oldest + static_cast<std::int64_t>(i);
            const auto& b = s.buckets[slot_of(minute)];
            auto n = b.minute == minute ? b.count : 0;
            total[i] += n;
            counts.push_back(n);
        }
        sources.push_back(boost::json::object{{"name", s.source}, {"counts", std::move(counts)}});
    }
    boost::json::object out;
    out["minute_start"] = time::format_rfc3339(time::time_point(std::chrono::minutes(oldest)));
    out["minutes"] = k_minutes;
    out["total"] = boost::json::array(total.begin(), total.end());
    out["sources"] = std::move(sources);
    return out;
}

activity_handler::activity_handler(const activity& counts, const feed_notifier& notifier,
                                   std::vector<std::string> tokens)
    : counts_(counts), notifier_(notifier), tokens_(std::move(tokens)) {}

boost::asio::awaitable<http::response> activity_handler::operator()(const http::request& req) const {
    if (auto denied = check_feed_token(req, tokens_)) {
        co_return *denied;
    }
    auto body = counts_.to_json(time::now());
    body["head_seq"] = notifier_.head();
    co_return http::json_response(boost::json::serialize(body));
}

}  // namespace changefeed::feed
