// Bounded polling of state that has no event a test can await (database rows, /sources, /metrics).
#pragma once

#include <chrono>
#include <thread>

namespace changefeed::test {

/// True once `pred()` holds, polling every 20 ms for at most `timeout`; false if it never did.
template <class Predicate>
bool eventually(Predicate pred, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (pred()) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return pred();
}

}  // namespace changefeed::test
