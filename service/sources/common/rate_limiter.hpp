// A source's client-side request budget: several windows at once, each admitting `limit`
// requests in any span of `window` (a sliding log of admission times), plus pauses ordered by
// the vendor (a 429 with a retry time). Pure: the caller supplies the time.
#pragma once

#include "core/time.hpp"
#include "sources/kind_spec.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

namespace changefeed::sources {

class rate_limiter {
public:
    struct window_state {
        rate_window window;
        std::uint32_t remaining = 0;
        /// When the oldest request counted in the window leaves it; nullopt when none is counted.
        std::optional<time::time_point> resets_at;
    };

    /// No windows: every request is admitted at once.
    explicit rate_limiter(std::vector<rate_window> windows);

    /// Admits and records a request at `now` when every window has room and no pause is on;
    /// otherwise records nothing and returns how long to wait before asking again (> 0).
    std::optional<std::chrono::microseconds> try_acquire(time::time_point now);

    /// Counts a request made at `at` without asking (history restored after a restart).
    void record(time::time_point at);

    /// Admits nothing before `until` (a vendor's 429 said so). A later pause extends, an
    /// earlier one does not shorten.
    void pause_until(time::time_point until);
    [[nodiscard]] std::optional<time::time_point> paused_until(time::time_point now) const;

    [[nodiscard]] std::vector<window_state> state(time::time_point now) const;
    [[nodiscard]] const std::vector<rate_window>& windows() const { return windows_; }

    /// Requests counted in the window of `w` at `now`.
    [[nodiscard]] std::uint32_t used(const rate_window& w, time::time_point now) const;

private:
    void prune(time::time_point now);

    std::vector<rate_window> windows_;
    std::chrono::microseconds longest_{0};
    std::deque<time::time_point> admitted_;  ///< ascending, within the longest window
    std::optional<time::time_point> paused_until_;
};

}  // namespace changefeed::sources
