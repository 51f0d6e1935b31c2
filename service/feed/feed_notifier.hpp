// Wakes long-polling readers when the outbox head moves: in-process after our own commits, and
// through PostgreSQL LISTEN/NOTIFY for commits of other replicas; its listener connection also
// forwards resync requests made on other replicas. Lives on the io_context thread.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <thread>

namespace changefeed::feed {

class feed_notifier {
public:
    explicit feed_notifier(boost::asio::any_io_executor ex);
    ~feed_notifier();

    /// Records a new head and wakes every waiter. Call on the io_context thread.
    void notify(std::int64_t head_seq);
    /// Thread-safe variant: posts notify() to the io_context.
    void notify_from_any_thread(std::int64_t head_seq);

    /// Returns when notify() is called after this call began, or at `deadline`.
    boost::asio::awaitable<void> wait_until(std::chrono::steady_clock::time_point deadline);

    [[nodiscard]] std::int64_t head() const { return head_; }
    [[nodiscard]] const boost::asio::any_io_executor& executor() const { return executor_; }
    /// Changes on every notify(): a reader compares it across a query to know it missed nothing.
    [[nodiscard]] std::uint64_t generation() const { return generation_; }

    /// Called on the io_context with a source's name when any replica requested its resync
    /// (channel changefeed_resync). Set before start_listener().
    void on_resync(std::function<void(const std::string& source)> callback);

    /// Starts a thread that LISTENs on the outbox and resync channels and forwards notifications;
    /// it reconnects by itself when the database goes away.
    void start_listener(std::string database_url);
    void stop_listener();

private:
    struct waiter;
    boost::asio::any_io_executor executor_;
    std::int64_t head_ = 0;
    std::uint64_t generation_ = 0;
    std::list<std::shared_ptr<waiter>> waiters_;
    std::function<void(const std::string&)> on_resync_;
    std::atomic<bool> listening_{false};
    std::thread listener_;
};

}  // namespace changefeed::feed
