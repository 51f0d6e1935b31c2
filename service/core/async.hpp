// Running blocking work (libpqxx) off the network thread and awaiting it from coroutines.
#pragma once

#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/post.hpp>

#include <exception>
#include <optional>
#include <type_traits>

namespace changefeed::core {

/// Runs `f` on `ex` (a thread pool or strand) and resumes the caller on its own executor with
/// f's result; an exception thrown by `f` is rethrown to the caller. R must be default-constructible.
template <class Executor, class F, class Token>
auto async_run_blocking(Executor ex, F f, Token&& token) {
    using R = std::invoke_result_t<F&>;
    return boost::asio::async_initiate<Token, void(std::exception_ptr, R)>(
        [ex](auto handler, F f) {
            auto work = boost::asio::make_work_guard(boost::asio::get_associated_executor(handler));
            boost::asio::post(ex, [h = std::move(handler), f = std::move(f),
                                   work = std::move(work)]() mutable {
                std::exception_ptr ep;
                std::optional<R> r;
                try {
                    r.emplace(f());
                } catch (...) {
                    ep = std::current_exception();
                }
                auto target = work.get_executor();
                boost::asio::dispatch(target, [h = std::move(h), ep, r = std::move(r)]() mutable {
                    std::move(h)(ep, r ? std::move(*r) : R{});
                });
            });
        },
        token, std::move(f));
}

}  // namespace changefeed::core
