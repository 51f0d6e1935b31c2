// Recorded vendor responses under tests/fixtures/.
#pragma once

#include <string>

namespace changefeed::test {

/// The contents of tests/fixtures/<relative>; throws std::runtime_error when unreadable.
std::string read_fixture(const std::string& relative);

}  // namespace changefeed::test
