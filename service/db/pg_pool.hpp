// A small pool of PostgreSQL connections, each owned by one strand of a private thread pool, so
// blocking libpqxx calls never run on the io_context thread.
#pragma once

#include "core/async.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <pqxx/types.hxx>

namespace changefeed::db {

class pg_pool {
public:
    /// `lanes` connections, opened lazily. Throws nothing until a job runs.
    pg_pool(std::string url, std::size_t lanes);
    ~pg_pool();
    pg_pool(const pg_pool&) = delete;
    pg_pool& operator=(const pg_pool&) = delete;

    /// Runs `job(connection&)` on a free lane and returns its result. A broken connection is
    /// dropped (the next job reconnects) and the error rethrown: the database being down throws.
    template <class F>
    boost::asio::awaitable<std::invoke_result_t<F&, pqxx::connection_base&>> run(F job) {
        lane& l = pick();
        auto wrapped = [this, &l, job = std::move(job)]() mutable { return job(connect(l)); };
        auto result = co_await core::async_run_blocking(l.strand, std::move(wrapped),
                                                        boost::asio::use_awaitable);
        co_return result;
    }

    /// Like run(), on lane `index` (< lanes()): a caller that keeps its own lanes busy or idle
    /// never queues a job behind another one's.
    template <class F>
    boost::asio::awaitable<std::invoke_result_t<F&, pqxx::connection_base&>> run_on(std::size_t index,
                                                                                  F job) {
        lane& l = *lanes_.at(index);
        auto wrapped = [this, &l, job = std::move(job)]() mutable { return job(connect(l)); };
        auto result = co_await core::async_run_blocking(l.strand, std::move(wrapped),
                                                        boost::asio::use_awaitable);
        co_return result;
    }

    [[nodiscard]] std::size_t lanes() const { return lanes_.size(); }

    /// Drops every connection and joins the threads (pending jobs finish first).
    void stop();

    [[nodiscard]] const std::string& url() const { return url_; }

private:
    struct lane {
        explicit lane(boost::asio::thread_pool& pool) : strand(boost::asio::make_strand(pool)) {}
        boost::asio::strand<boost::asio::thread_pool::executor_type> strand;
        std::shared_ptr<pqxx::connection_base> conn;
    };
    lane& pick();
    pqxx::connection_base& connect(lane& l);

    std::string url_;
    boost::asio::thread_pool threads_;
    std::vector<std::unique_ptr<lane>> lanes_;
    std::atomic<std::size_t> next_{0};
};

/// Opens a connection with the service's session settings (statement timeout, application name).
std::shared_ptr<pqxx::connection_base> open_connection(const std::string& url);

}  // namespace changefeed::db
