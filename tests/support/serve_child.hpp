// `changefeed serve` as a child process on a configuration file, for tests that kill it hard
// (SIGKILL from a simulator's request hook) and then check what the outbox kept.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <string>

namespace changefeed::test {

/// Writes a configuration (listen 127.0.0.1:0, `database_url`, `sources_yaml` as the items of
/// `sources:`) into a fresh temporary directory, starts `changefeed serve` on it with its pid in
/// `pid` (a hook may kill it), and waits up to `timeout` for it to end; `pid` is -1 again after.
/// Returns the exit status (128 + signal when killed; -1 when it still ran, and it is killed).
/// Its stderr is printed to the test log when it did not die of SIGKILL.
int serve_until_ended(const std::string& database_url, const std::string& sources_yaml,
                      std::atomic<int>& pid,
                      std::chrono::milliseconds timeout = std::chrono::seconds(60));

/// The number of events in the outbox of `database_url`.
std::size_t stored_events(const std::string& database_url);

}  // namespace changefeed::test
