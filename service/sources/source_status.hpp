// What GET /sources shows of one source (SPEC section 5), kept by its poller on the io_context
// thread.
#pragma once

#include "core/time.hpp"
#include "sources/common/rate_limiter.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace changefeed::sources {

enum class source_state { idle, polling, backing_off, failing, disabled };

std::string_view to_string(source_state s);

struct source_status {
    std::string name;
    std::string kind;
    source_state state = source_state::idle;
    boost::json::value checkpoint;  ///< opaque; an object per scope where the source has several
    std::optional<time::time_point> last_poll_at;
    std::optional<time::time_point> last_success_at;
    std::optional<time::time_point> next_poll_at;
    std::string last_error;  ///< empty: none; never holds a secret
    std::uint64_t events_total = 0;    ///< events this process stored (duplicates not counted)
    std::uint64_t requests_total = 0;  ///< upstream requests this process made
    /// Newest upstream occurred_at stored (for lag); nullopt before the first event.
    std::optional<time::time_point> newest_occurred_at;
    /// Whether this replica holds the source (several replicas: one polls, the others stand by);
    /// false until the poller has taken the lease.
    bool holder = false;
    /// Source-specific fields (queue depth, resync progress...), merged into the JSON.
    boost::json::object extra;
};

/// The /sources object of `status`, with one budget entry per window of `limiter` (or none).
boost::json::object to_json(const source_status& status, const rate_limiter* limiter,
                            time::time_point now);

}  // namespace changefeed::sources
