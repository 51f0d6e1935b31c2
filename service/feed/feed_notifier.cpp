#include "feed/feed_notifier.hpp"

#include "core/log.hpp"
#include "db/pg_pool.hpp"
#include "db/sql.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <pqxx/pqxx>

#include <charconv>
#include <optional>

namespace changefeed::feed {

namespace asio = boost::asio;

struct feed_notifier::waiter {
    explicit waiter(asio::any_io_executor ex) : timer(ex) {}
    asio::steady_timer timer;
};

namespace {

class outbox_listener final : public pqxx::notification_receiver {
public:
    outbox_listener(pqxx::connection_base& conn, feed_notifier& target)
        : pqxx::notification_receiver(conn, "changefeed_outbox"), target_(target) {}
    void operator()(const std::string& payload, int) override {
        std::int64_t seq = 0;
        std::from_chars(payload.data(), payload.data() + payload.size(), seq);
        target_.notify_from_any_thread(seq);
    }

private:
    feed_notifier& target_;
};

class resync_listener final : public pqxx::notification_receiver {
public:
    resync_listener(pqxx::connection_base& conn, asio::any_io_executor ex,
                    const std::function<void(const std::string&)>& callback)
        : pqxx::notification_receiver(conn, std::string(db::sql::k_resync_channel)), executor_(ex),
          callback_(callback) {}
    void operator()(const std::string& payload, int) override {
        asio::post(executor_, [callback = callback_, payload] { callback(payload); });
    }

private:
    asio::any_io_executor executor_;
    std::function<void(const std::string&)> callback_;
};

}  // namespace

feed_notifier::feed_notifier(asio::any_io_executor ex) : executor_(ex) {}

feed_notifier::~feed_notifier() { stop_listener(); }

void feed_notifier::notify(std::int64_t head_seq) {
    head_ = std::max(head_, head_seq);
    ++generation_;
    for (auto& w : waiters_) {
        w->timer.cancel();
    }
}

void feed_notifier::notify_from_any_thread(std::int64_t head_seq) {
    asio::post(executor_, [this, head_seq] { notify(head_seq); });
}

asio::awaitable<void> feed_notifier::wait_until(std::chrono::steady_clock::time_point deadline) {
    auto w = std::make_shared<waiter>(executor_);
    w->timer.expires_at(deadline);
    auto it = waiters_.insert(waiters_.end(), w);
    auto [ec] = co_await w->timer.async_wait(asio::as_tuple(asio::use_awaitable));
    (void)ec;
    waiters_.erase(it);
}

void feed_notifier::on_resync(std::function<void(const std::string& source)> callback) {
    on_resync_ = std::move(callback);
}

void feed_notifier::start_listener(std::string database_url) {
    listening_ = true;
    listener_ = std::thread([this, url = std::move(database_url)] {
        while (listening_) {
            try {
                auto conn = db::open_connection(url);
                outbox_listener receiver(*conn, *this);
                std::optional<resync_listener> resyncs;
                if (on_resync_) {
                    resyncs.emplace(*conn, executor_, on_resync_);
                }
                // Whatever was committed while we were away: wake readers once.
                notify_from_any_thread(0);
                while (listening_) {
                    conn->await_notification(0, 200000);
                }
            } catch (const std::exception& e) {
                log::warn("outbox listener lost its database connection; retrying",
                          {{"error", e.what()}});
                for (int i = 0; i < 10 && listening_; ++i) {
                    std::this_thread::sleep_for(std::chrono::milliseconds(100));
                }
            }
        }
    });
}

void feed_notifier::stop_listener() {
    listening_ = false;
    if (listener_.joinable()) {
        listener_.join();
    }
}

}  // namespace changefeed::feed
