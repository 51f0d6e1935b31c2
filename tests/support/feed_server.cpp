#include "support/feed_server.hpp"

#include "db/feed_repository.hpp"
#include "db/migrations.hpp"
#include "db/outbox_writer.hpp"
#include "db/pg_pool.hpp"
#include "feed/feed_api.hpp"
#include "feed/feed_notifier.hpp"
#include "http/router.hpp"
#include "http/server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <future>
#include <stdexcept>
#include <thread>

namespace changefeed::test {

namespace asio = boost::asio;

struct feed_server::impl {
    impl(const std::string& url, feed::feed_settings settings)
        : pool(url, 2), writer(ioc.get_executor(), url), notifier(ioc.get_executor()),
          feed(pool, notifier, std::move(settings)), server(ioc.get_executor(), routes, {}) {}

    asio::io_context ioc;
    db::pg_pool pool;
    db::outbox_writer writer;
    feed::feed_notifier notifier;
    feed::feed_api feed;
    http::router routes;
    http::server server;
    std::thread thread;
    std::promise<void> finished;
    std::future<void> finished_future = finished.get_future();
    bool stopped = false;

    // Runs `f` on the io thread and returns its result (bounded wait).
    template <class F>
    auto on_thread(F f) {
        using R = decltype(f());
        std::promise<R> p;
        auto fut = p.get_future();
        asio::post(ioc, [&p, &f] { p.set_value(f()); });
        if (fut.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
            throw std::runtime_error("feed_server: the io thread did not answer");
        }
        return fut.get();
    }
};

feed_server::feed_server(const std::string& database_url, feed::feed_settings settings)
    : impl_(std::make_unique<impl>(database_url, std::move(settings))) {
    db::apply_migrations(database_url);
    {
        auto conn = db::open_connection(database_url);
        impl_->notifier.notify(db::read_head_seq(*conn));
    }
    impl_->writer.on_commit([this](std::int64_t head) { impl_->notifier.notify(head); });
    impl_->feed.add_routes(impl_->routes);
    impl_->server.listen("127.0.0.1:0");
    impl_->notifier.start_listener(database_url);
    using namespace asio::experimental::awaitable_operators;
    auto* self = impl_.get();
    // State as a parameter: a coroutine lambda's captures die with the lambda object.
    auto run = [](impl* s) -> asio::awaitable<void> {
        co_await (s->server.run() && s->writer.run() && s->feed.run());
    };
    asio::co_spawn(impl_->ioc, run(self), [self](std::exception_ptr e) {
        if (e) {
            self->finished.set_exception(e);
        } else {
            self->finished.set_value();
        }
    });
    impl_->thread = std::thread([self] { self->ioc.run(); });
}

feed_server::~feed_server() {
    stop();
    impl_->notifier.stop_listener();
    impl_->ioc.stop();
    if (impl_->thread.joinable()) {
        impl_->thread.join();
    }
}

unsigned short feed_server::port() const { return impl_->server.port(); }

void feed_server::append(std::vector<core::change_event> events) {
    auto done = std::make_shared<std::promise<void>>();
    auto fut = done->get_future();
    auto task = [](impl* self, std::shared_ptr<std::promise<void>> result,
                   std::vector<core::change_event> evs) -> asio::awaitable<void> {
        db::append_request req;
        req.events = std::move(evs);
        try {
            co_await self->writer.append(std::move(req));
            result->set_value();
        } catch (...) {
            result->set_exception(std::current_exception());
        }
    };
    asio::co_spawn(impl_->ioc, task(impl_.get(), done, std::move(events)), asio::detached);
    if (fut.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
        throw std::runtime_error("feed_server: append did not commit in time");
    }
    fut.get();
}

bool feed_server::stop(std::chrono::seconds limit) {
    if (!impl_->stopped) {
        impl_->stopped = true;
        auto* self = impl_.get();
        asio::post(impl_->ioc, [self] {
            self->server.stop();
            self->writer.stop();
            self->feed.stop();
        });
    }
    return impl_->finished_future.wait_for(limit) == std::future_status::ready;
}

feed::reader_stats feed_server::stats() {
    auto* self = impl_.get();
    return impl_->on_thread([self] { return self->feed.reader().stats(); });
}

}  // namespace changefeed::test
