// Log capture for tests.
#include "support/log_capture.hpp"

#include "core/log.hpp"

#include <cstdlib>

namespace changefeed::test {

log_capture::log_capture() {
    log::set_level(log::level::debug);
    log::set_sink([this](std::string_view line) {
        std::lock_guard lock(mutex_);
        lines_.emplace_back(line);
    });
}

log_capture::~log_capture() {
    log::set_sink(nullptr);
    log::set_level(std::getenv("CHANGEFEED_TEST_LOG") != nullptr ? log::level::info : log::level::error);
}

std::vector<std::string> log_capture::lines() const {
    std::lock_guard lock(mutex_);
    return lines_;
}

}  // namespace changefeed::test
