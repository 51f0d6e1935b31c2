#include "db/source_lease.hpp"

#include "core/async.hpp"
#include "core/log.hpp"
#include "db/pg_pool.hpp"
#include "db/sql.hpp"

#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <pqxx/pqxx>

#include <set>

namespace changefeed::db {

namespace asio = boost::asio;

long long source_lock_key(const std::string& source) {
    // FNV-1a over a prefix and the name, so keys never meet the outbox lock's.
    std::uint64_t h = 14695981039346656037ull;
    for (char c : std::string("changefeed-source:") + source) {
        h ^= static_cast<unsigned char>(c);
        h *= 1099511628211ull;
    }
    return static_cast<long long>(h);
}

struct source_lease::impl {
    explicit impl(std::string u) : url(std::move(u)), thread(1) {}

    std::string url;
    asio::thread_pool thread;
    bool stopped = false;  // touched on the caller's thread only
    // Touched only on `thread`.
    std::shared_ptr<pqxx::connection_base> conn;
    std::set<std::string> held;

    // Runs on `thread`: true when `source` is held on a live session.
    bool hold(const std::string& source) {
        try {
            if (conn && !conn->is_open()) {
                conn.reset();
            }
            if (conn && held.count(source) != 0) {
                pqxx::nontransaction tx(*conn);
                tx.exec1("SELECT 1");  // the session (and with it the lock) is still there
                return true;
            }
            if (!conn) {
                held.clear();  // a new session holds nothing
                conn = open_connection(url);
            }
            pqxx::nontransaction tx(*conn);
            bool got = tx.exec_params1(std::string(sql::k_try_source_lock), source_lock_key(source))[0]
                           .as<bool>();
            if (got) {
                held.insert(source);
            }
            return got;
        } catch (const std::exception& e) {
            log::warn("source lease check failed", {{"source", source}, {"error", e.what()}});
            conn.reset();
            held.clear();
            return false;
        }
    }

    bool release(const std::string& source) {
        try {
            if (conn && conn->is_open() && held.erase(source) != 0) {
                pqxx::nontransaction tx(*conn);
                tx.exec_params(std::string(sql::k_source_unlock), source_lock_key(source));
            }
        } catch (const std::exception& e) {
            log::warn("source lease release failed", {{"source", source}, {"error", e.what()}});
            conn.reset();
            held.clear();
        }
        return true;
    }
};

source_lease::source_lease(std::string database_url)
    : impl_(std::make_shared<impl>(std::move(database_url))) {}

source_lease::~source_lease() { stop(); }

asio::awaitable<bool> source_lease::hold(std::string source) {
    auto self = impl_;
    if (self->stopped) {
        co_return false;
    }
    auto job = [self, source] { return self->hold(source); };
    co_return co_await core::async_run_blocking(self->thread.get_executor(), std::move(job),
                                                asio::use_awaitable);
}

asio::awaitable<void> source_lease::release(std::string source) {
    auto self = impl_;
    if (self->stopped) {
        co_return;
    }
    auto job = [self, source] { return self->release(source); };
    co_await core::async_run_blocking(self->thread.get_executor(), std::move(job),
                                      asio::use_awaitable);
}

void source_lease::stop() {
    if (impl_->stopped) {
        return;
    }
    impl_->stopped = true;
    // The job must not own the impl: a job left in the pool would keep it alive for ever.
    auto* state = impl_.get();
    asio::post(state->thread, [state] {
        state->conn.reset();
        state->held.clear();
    });
    state->thread.join();
}

}  // namespace changefeed::db
