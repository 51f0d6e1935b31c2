// GET /sources of a running service, one source at a time, and waiting for a source's state.
#pragma once

#include <boost/json/object.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <string>

namespace changefeed::test {

using request_headers = std::map<std::string, std::string>;

/// The /sources entry of source `name`; a test failure and an empty object when the answer is
/// not 200 or names no such source.
boost::json::object source_status(unsigned short port, const std::string& name,
                                  const request_headers& headers = {});

/// The source's `last_error`, "" when it has none.
std::string last_error_of(const boost::json::object& status);

/// Polls the source's /sources entry until `done` takes it or `limit` passed, and returns the
/// last entry seen: callers assert on it, so a timeout shows the state the source got stuck in.
/// Stops at once with an empty object when /sources fails or lacks the source (source_status
/// has reported it). (A source's state is not an event a test can await.)
boost::json::object await_source(unsigned short port, const std::string& name,
                                 const std::function<bool(const boost::json::object&)>& done,
                                 std::chrono::milliseconds limit,
                                 const request_headers& headers = {});

}  // namespace changefeed::test
