#include "sim/common/sim_host.hpp"

#include "http/router.hpp"
#include "http/server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace changefeed::sim {

namespace asio = boost::asio;

struct sim_host::impl {
    impl(asio::any_io_executor ex, simulator& s)
        : sim(s), server(ex, routes, http::server_options{}), ticker(ex), rng(12345) {}

    simulator& sim;
    http::router routes;
    http::server server;
    asio::steady_timer ticker;
    std::mt19937_64 rng;
    bool stopping = false;

    asio::awaitable<void> tick_loop(std::chrono::milliseconds every) {
        if (every.count() <= 0) {
            co_return;
        }
        while (!stopping) {
            ticker.expires_after(every);
            auto [ec] = co_await ticker.async_wait(asio::as_tuple(asio::use_awaitable));
            if (ec || stopping) {
                break;
            }
            sim.tick(rng);
        }
    }
};

sim_host::sim_host(asio::any_io_executor ex, simulator& sim, std::string listen)
    : impl_(std::make_unique<impl>(ex, sim)) {
    sim.install(impl_->routes);
    impl_->server.listen(listen);
}

sim_host::~sim_host() = default;

std::string sim_host::base_url() const { return "http://127.0.0.1:" + std::to_string(port()); }

unsigned short sim_host::port() const { return impl_->server.port(); }

asio::awaitable<void> sim_host::run(std::chrono::milliseconds tick_every) {
    using namespace asio::experimental::awaitable_operators;
    co_await (impl_->server.run() && impl_->tick_loop(tick_every));
}

void sim_host::stop() {
    impl_->stopping = true;
    impl_->ticker.cancel();
    impl_->server.stop();
}

}  // namespace changefeed::sim
