// Runs a coroutine test on its own io_context with a hard time limit (a hung test fails, never hangs).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <exception>

namespace changefeed::test {

inline void run_coro(boost::asio::io_context& ioc,
                     boost::asio::awaitable<void> coro,
                     std::chrono::steady_clock::duration limit = std::chrono::seconds(20)) {
    bool finished = false;
    std::exception_ptr failure;
    boost::asio::co_spawn(ioc, std::move(coro), [&](std::exception_ptr e) {
        failure = e;
        finished = true;
    });
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!finished && std::chrono::steady_clock::now() < deadline) {
        ioc.run_one_until(deadline);
    }
    ASSERT_TRUE(finished) << "coroutine test did not finish in time";
    if (failure) {
        std::rethrow_exception(failure);
    }
}

inline void run_coro(boost::asio::awaitable<void> coro,
                     std::chrono::steady_clock::duration limit = std::chrono::seconds(20)) {
    boost::asio::io_context ioc;
    run_coro(ioc, std::move(coro), limit);
}

}  // namespace changefeed::test
