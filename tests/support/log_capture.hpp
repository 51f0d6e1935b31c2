// Captures the service's log lines in tests (every level) through log::set_sink.
#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace changefeed::test {

/// While alive, every log line (debug included) is kept here instead of going to stderr; the
/// destructor restores stderr and the tests' usual level (see test_main.cpp). Thread-safe.
class log_capture {
public:
    log_capture();
    ~log_capture();
    log_capture(const log_capture&) = delete;
    log_capture& operator=(const log_capture&) = delete;

    [[nodiscard]] std::vector<std::string> lines() const;

private:
    mutable std::mutex mutex_;
    std::vector<std::string> lines_;
};

}  // namespace changefeed::test
