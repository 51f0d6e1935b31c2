// Test events and appending them the way another replica would (its own writer and connection).
#pragma once

#include "core/change_event.hpp"

#include <string>
#include <vector>

namespace changefeed::test {

/// An event of `source` numbered `i`: resource "customers" for even i, else "suppliers".
core::change_event numbered_event(int i, const std::string& source, const std::string& operation);

/// Appends `events` through a writer of its own (one commit) and returns once committed.
void append_as_other_replica(const std::string& database_url, std::vector<core::change_event> events);

}  // namespace changefeed::test
