// Reading the feed of a running service in tests: long polls until enough events arrived.
#pragma once

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace changefeed::test {

struct feed_read {
    std::vector<boost::json::object> events;  ///< in feed order
    std::int64_t next_since = 0;
};

/// Pages through GET /changes (long polls of up to 5 s) from `since` until at least `count`
/// events have arrived or `timeout` passed. `token` empty: no Authorization header.
feed_read read_feed_until(unsigned short port, std::size_t count, std::chrono::seconds timeout,
                          const std::string& token = {}, std::int64_t since = 0,
                          const std::string& filter = {});

/// Event ids of `events` that occur more than once.
std::vector<std::string> duplicate_event_ids(const std::vector<boost::json::object>& events);

}  // namespace changefeed::test
