// Test events and appending them the way another replica would (its own writer and connection).
#pragma once

#include "core/change_event.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace changefeed::test {

/// An event of `source` numbered `i`: resource "customers" for even i, else "suppliers".
core::change_event numbered_event(int i, const std::string& source, const std::string& operation);

/// Appends `events` through a writer of its own (one commit) and returns once committed.
void append_as_other_replica(const std::string& database_url, std::vector<core::change_event> events);

/// append_as_other_replica of numbered_event(1..count, source, operation).
void append_numbered(const std::string& database_url, int count, const std::string& source = "alpha",
                     const std::string& operation = "update");

/// Makes the events up to `seq` 40 days old, then runs a 30-day retention pass: they are deleted
/// and the retention floor rises to `seq`.
void expire_through(const std::string& database_url, std::int64_t seq);

}  // namespace changefeed::test
