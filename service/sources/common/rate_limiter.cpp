#include "sources/common/rate_limiter.hpp"

#include <algorithm>

namespace changefeed::sources {

namespace {

std::chrono::microseconds span(const rate_window& w) {
    return std::chrono::duration_cast<std::chrono::microseconds>(w.window);
}

}  // namespace

rate_limiter::rate_limiter(std::vector<rate_window> windows) : windows_(std::move(windows)) {
    for (const auto& w : windows_) {
        longest_ = std::max(longest_, span(w));
    }
}

void rate_limiter::prune(time::time_point now) {
    while (!admitted_.empty() && admitted_.front() <= now - longest_) {
        admitted_.pop_front();
    }
}

std::uint32_t rate_limiter::used(const rate_window& w, time::time_point now) const {
    // A request at t is counted while t > now - window.
    auto first = std::upper_bound(admitted_.begin(), admitted_.end(), now - span(w));
    auto last = std::upper_bound(admitted_.begin(), admitted_.end(), now);
    return static_cast<std::uint32_t>(std::max<std::ptrdiff_t>(0, last - first));
}

std::optional<std::chrono::microseconds> rate_limiter::try_acquire(time::time_point now) {
    prune(now);
    std::chrono::microseconds wait{0};
    if (paused_until_ && *paused_until_ > now) {
        wait = *paused_until_ - now;
    }
    for (const auto& w : windows_) {
        if (w.limit == 0) {
            continue;
        }
        auto first = std::upper_bound(admitted_.begin(), admitted_.end(), now - span(w));
        auto last = std::upper_bound(admitted_.begin(), admitted_.end(), now);
        auto count = last - first;
        if (count >= static_cast<std::ptrdiff_t>(w.limit)) {
            // Room appears when the request that makes the count reach `limit` leaves the window.
            auto leaving = *(first + (count - static_cast<std::ptrdiff_t>(w.limit)));
            wait = std::max(wait, leaving + span(w) - now);
        }
    }
    if (wait > std::chrono::microseconds(0)) {
        return wait;
    }
    record(now);
    return std::nullopt;
}

void rate_limiter::record(time::time_point at) {
    admitted_.insert(std::upper_bound(admitted_.begin(), admitted_.end(), at), at);
}

void rate_limiter::pause_until(time::time_point until) {
    if (!paused_until_ || until > *paused_until_) {
        paused_until_ = until;
    }
}

std::optional<time::time_point> rate_limiter::paused_until(time::time_point now) const {
    if (paused_until_ && *paused_until_ > now) {
        return paused_until_;
    }
    return std::nullopt;
}

std::vector<rate_limiter::window_state> rate_limiter::state(time::time_point now) const {
    std::vector<window_state> out;
    for (const auto& w : windows_) {
        window_state s;
        s.window = w;
        auto count = used(w, now);
        s.remaining = count >= w.limit ? 0 : w.limit - count;
        auto first = std::upper_bound(admitted_.begin(), admitted_.end(), now - span(w));
        if (first != admitted_.end() && *first <= now) {
            s.resets_at = *first + span(w);
        }
        if (auto paused = paused_until(now)) {
            s.remaining = 0;
            s.resets_at = s.resets_at ? std::max(*s.resets_at, *paused) : *paused;
        }
        out.push_back(s);
    }
    return out;
}

}  // namespace changefeed::sources
