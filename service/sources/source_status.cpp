#include "sources/source_status.hpp"

#include "core/duration.hpp"

#include <cmath>

namespace changefeed::sources {

namespace {

boost::json::value time_or_null(const std::optional<time::time_point>& t) {
    if (!t) {
        return nullptr;
    }
    return boost::json::value(time::format_rfc3339(*t));
}

}  // namespace

std::string_view to_string(source_state s) {
    switch (s) {
    case source_state::idle:
        return "idle";
    case source_state::polling:
        return "polling";
    case source_state::backing_off:
        return "backing_off";
    case source_state::failing:
        return "failing";
    case source_state::disabled:
        return "disabled";
    }
    return "idle";
}

boost::json::object to_json(const source_status& status, const rate_limiter* limiter,
                            time::time_point now) {
    boost::json::object o;
    o["name"] = status.name;
    o["kind"] = status.kind;
    o["state"] = to_string(status.state);
    o["holder"] = status.holder;
    o["checkpoint"] = status.checkpoint;
    o["last_poll_at"] = time_or_null(status.last_poll_at);
    o["last_success_at"] = time_or_null(status.last_success_at);
    o["last_error"] = status.last_error.empty() ? boost::json::value(nullptr)
                                                : boost::json::value(status.last_error);
    o["next_poll_at"] = time_or_null(status.next_poll_at);
    o["events_total"] = status.events_total;
    o["requests_total"] = status.requests_total;
    if (status.newest_occurred_at) {
        auto lag = std::chrono::duration<double>(now - *status.newest_occurred_at).count();
        o["lag_seconds"] = std::max(0.0, std::round(lag * 1000.0) / 1000.0);
    } else {
        o["lag_seconds"] = nullptr;
    }
    boost::json::array budget;
    if (limiter != nullptr) {
        for (const auto& w : limiter->state(now)) {
            boost::json::object b;
            b["limit"] = w.window.limit;
            b["window"] = time::format_duration(w.window.window);
            b["remaining"] = w.remaining;
            b["resets_at"] = time_or_null(w.resets_at);
            budget.push_back(std::move(b));
        }
    }
    o["budget"] = std::move(budget);
    for (const auto& [key, value] : status.extra) {
        o[key] = value;
    }
    return o;
}

}  // namespace changefeed::sources
