#include "sim/precoro/webhook_sender.hpp"

#include "core/log.hpp"
#include "http/client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

namespace changefeed::sim {

namespace asio = boost::asio;

namespace {

constexpr int k_max_attempts = 5;
constexpr auto k_first_retry = std::chrono::milliseconds(250);

}  // namespace

struct webhook_sender::impl {
    impl() : work(asio::make_work_guard(ioc)) {
        http::client_options opts;
        opts.timeout = std::chrono::seconds(10);
        client = std::make_unique<http::client>(ioc.get_executor(), opts);
    }

    asio::io_context ioc;
    asio::executor_work_guard<asio::io_context::executor_type> work;
    // Destroyed before the io_context: its idle keep-alive sockets must not outlive it (a
    // delivery still suspended keeps the client's state until the io_context destroys it).
    std::unique_ptr<http::client> client;
    std::thread thread;

    mutable std::mutex mutex;
    std::condition_variable idle;
    std::string target;
    std::deque<std::string> queue;
    bool pumping = false;  ///< a pump coroutine is delivering the queue
    std::vector<result> done;

    asio::awaitable<result> deliver(std::string body) {
        result r;
        r.body = body;
        std::string url;
        {
            std::lock_guard lock(mutex);
            url = target;
        }
        auto delay = k_first_retry;
        for (int attempt = 1; attempt <= k_max_attempts; ++attempt) {
            r.attempts = attempt;
            http::client_request req;
            req.method = "POST";
            req.url = url;
            req.headers.emplace_back("Content-Type", "application/json");
            req.body = body;
            try {
                auto op = client->send(std::move(req));
                auto res = co_await std::move(op);
                r.status = res.status;
            } catch (const std::exception&) {
                r.status = 0;
            }
            if (r.status != 0 && r.status < 500) {
                break;  // answered: accepted or refused for good
            }
            if (attempt < k_max_attempts) {
                asio::steady_timer timer(ioc, delay);
                co_await timer.async_wait(asio::use_awaitable);
                delay *= 2;
            }
        }
        co_return r;
    }

    asio::awaitable<void> pump() {
        for (;;) {
            std::string body;
            {
                std::lock_guard lock(mutex);
                if (queue.empty()) {
                    pumping = false;
                    idle.notify_all();
                    co_return;
                }
                body = queue.front();
            }
            auto op = deliver(body);
            auto r = co_await std::move(op);
            std::lock_guard lock(mutex);
            queue.pop_front();
            done.push_back(std::move(r));
        }
    }
};

webhook_sender::webhook_sender() = default;

webhook_sender::~webhook_sender() {
    if (impl_) {
        impl_->work.reset();
        impl_->ioc.stop();
        impl_->thread.join();
    }
}

std::shared_ptr<webhook_sender::impl> webhook_sender::started() const {
    std::lock_guard lock(start_mutex_);
    return impl_;
}

void webhook_sender::set_target(std::string url) {
    std::shared_ptr<impl> i;
    {
        std::lock_guard lock(start_mutex_);
        if (!impl_ && !url.empty()) {
            impl_ = std::make_shared<impl>();
            impl_->thread = std::thread([raw = impl_.get()] { raw->ioc.run(); });
        }
        i = impl_;
    }
    if (i) {
        std::lock_guard lock(i->mutex);
        i->target = std::move(url);
    }
}

bool webhook_sender::has_target() const {
    auto i = started();
    if (!i) {
        return false;
    }
    std::lock_guard lock(i->mutex);
    return !i->target.empty();
}

void webhook_sender::send(std::string body) {
    auto i = started();
    if (!i) {
        return;
    }
    std::lock_guard lock(i->mutex);
    if (i->target.empty()) {
        return;
    }
    i->queue.push_back(std::move(body));
    if (!i->pumping) {
        i->pumping = true;
        auto* raw = i.get();
        asio::post(i->ioc, [raw] { asio::co_spawn(raw->ioc, raw->pump(), asio::detached); });
    }
}

bool webhook_sender::wait_idle(std::chrono::milliseconds timeout) {
    auto i = started();
    if (!i) {
        return true;
    }
    std::unique_lock lock(i->mutex);
    return i->idle.wait_for(lock, timeout, [&] { return !i->pumping && i->queue.empty(); });
}

std::vector<webhook_sender::result> webhook_sender::results() const {
    auto i = started();
    if (!i) {
        return {};
    }
    std::lock_guard lock(i->mutex);
    return i->done;
}

}  // namespace changefeed::sim
