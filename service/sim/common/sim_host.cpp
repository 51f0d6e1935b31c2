#include "sim/common/sim_host.hpp"

#include "http/router.hpp"
#include "http/server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <set>
#include <stdexcept>

namespace changefeed::sim {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr auto k_relay_timeout = std::chrono::minutes(2);
constexpr std::size_t k_huge_body = 80u * 1024 * 1024;
constexpr auto k_trickle_every = std::chrono::milliseconds(50);

std::string head(std::string_view status_line, std::string_view type, std::string_view framing) {
    return "HTTP/1.1 " + std::string(status_line) + "\r\nContent-Type: " + std::string(type) +
           "\r\n" + std::string(framing) + "\r\nConnection: close\r\n\r\n";
}

std::string whole(std::string_view status_line, std::string_view type, std::string_view body) {
    return head(status_line, type, "Content-Length: " + std::to_string(body.size())) +
           std::string(body);
}

std::string hex(std::size_t n) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    do {
        out.insert(out.begin(), digits[n % 16]);
        n /= 16;
    } while (n > 0);
    return out;
}

tcp::endpoint parse_endpoint(const std::string& listen) {
    auto colon = listen.rfind(':');
    if (colon == std::string::npos) {
        throw std::runtime_error("sim_host: listen address without a port: " + listen);
    }
    auto host = listen.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    boost::system::error_code ec;
    auto address = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
    if (ec) {
        throw std::runtime_error("sim_host: not a numeric address: " + listen);
    }
    return {address, static_cast<unsigned short>(std::stoul(listen.substr(colon + 1)))};
}

// One connection to the relay, and the relay's own connection to the simulator's server.
struct relay_conn {
    relay_conn(tcp::socket s, asio::any_io_executor ex) : peer(std::move(s)), inner(ex) {}
    beast::tcp_stream peer;
    beast::tcp_stream inner;
    bool inner_open = false;

    void close() {
        boost::system::error_code ignored;
        peer.socket().shutdown(tcp::socket::shutdown_send, ignored);
        peer.close();
        inner.close();
    }
};

// Writes `f` to the peer; the caller closes the connection afterwards.
asio::awaitable<void> serve_fault(std::shared_ptr<relay_conn> c, fault f) {
    auto send = [&c](std::string bytes) -> asio::awaitable<bool> {
        c->peer.expires_after(k_relay_timeout);
        auto [ec, n] = co_await asio::async_write(c->peer, asio::buffer(bytes), use_tuple);
        co_return !ec;
    };
    switch (f) {
    case fault::server_error:
        co_await send(whole("502 Bad Gateway", "text/html",
                            "<html><body><h1>502 Bad Gateway</h1></body></html>"));
        break;
    case fault::cut_length:
        co_await send(head("200 OK", "application/json", "Content-Length: 4096") +
                      R"({"data":[{"id":1,)");
        break;
    case fault::cut_chunked: {
        std::string part = R"({"data":[{"id":1,)";
        co_await send(head("200 OK", "application/json", "Transfer-Encoding: chunked") +
                      hex(part.size()) + "\r\n" + part + "\r\n");
        break;
    }
    case fault::malformed_json:
        co_await send(whole("200 OK", "application/json", R"({"data":[{"id":1,"name":"unterminated})"));
        break;
    case fault::wrong_content_type:
        co_await send(whole("200 OK", "text/html; charset=utf-8",
                            "<html><head><title>Maintenance</title></head>"
                            "<body>We will be back soon.</body></html>"));
        break;
    case fault::huge_body: {
        bool open = co_await send(head("200 OK", "application/json",
                                       "Content-Length: " + std::to_string(k_huge_body)));
        std::string block(64 * 1024, ' ');
        for (std::size_t sent = 0; open && sent < k_huge_body; sent += block.size()) {
            open = co_await send(block);
        }
        break;
    }
    case fault::slow_body: {
        std::string body = "{}" + std::string(198, ' ');
        bool open = co_await send(head("200 OK", "application/json",
                                       "Content-Length: " + std::to_string(body.size())));
        asio::steady_timer timer(co_await asio::this_coro::executor);
        for (std::size_t i = 0; open && i < body.size(); ++i) {
            timer.expires_after(k_trickle_every);
            auto [ec] = co_await timer.async_wait(use_tuple);
            open = !ec && co_await send(std::string(1, body[i]));
        }
        break;
    }
    case fault::no_answer: {
        // Until the client gives up (or the host stops).
        char sink[512];
        c->peer.expires_after(k_relay_timeout);
        for (int i = 0; i < 1000; ++i) {
            auto [ec, n] = co_await c->peer.async_read_some(asio::buffer(sink), use_tuple);
            if (ec) {
                break;
            }
        }
        break;
    }
    }
}

}  // namespace

struct sim_host::impl {
    impl(asio::any_io_executor ex, simulator& s)
        : executor(ex), sim(s), server(ex, routes, http::server_options{}), ticker(ex),
          drained(ex), rng(12345) {}

    asio::any_io_executor executor;
    simulator& sim;
    http::router routes;
    http::server server;
    asio::steady_timer ticker;
    std::optional<tcp::acceptor> relay;
    std::set<std::shared_ptr<relay_conn>> relayed;
    asio::steady_timer drained;
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

    // Relays each request to the server unless a fault is due; a fault ends the connection.
    asio::awaitable<void> relay_one(std::shared_ptr<relay_conn> c) {
        beast::flat_buffer peer_buffer;
        beast::flat_buffer inner_buffer;
        for (int served = 0; served < 1000000 && !stopping; ++served) {
            bhttp::request_parser<bhttp::string_body> rp;
            rp.body_limit(64 * 1024 * 1024);
            c->peer.expires_after(k_relay_timeout);
            auto [ec, n] = co_await bhttp::async_read(c->peer, peer_buffer, rp, use_tuple);
            if (ec) {
                break;
            }
            auto req = rp.release();
            if (auto f = sim.take_fault()) {
                co_await serve_fault(c, *f);
                break;
            }
            if (!c->inner_open) {
                c->inner.expires_after(k_relay_timeout);
                tcp::endpoint to(asio::ip::make_address("127.0.0.1"), server.port());
                auto [cec] = co_await c->inner.async_connect(to, use_tuple);
                if (cec) {
                    break;
                }
                c->inner_open = true;
            }
            c->inner.expires_after(k_relay_timeout);
            auto [wec, w] = co_await bhttp::async_write(c->inner, req, use_tuple);
            if (wec) {
                break;
            }
            bhttp::response_parser<bhttp::string_body> sp;
            sp.body_limit(boost::none);
            sp.skip(req.method() == bhttp::verb::head);
            auto [rec, r] = co_await bhttp::async_read(c->inner, inner_buffer, sp, use_tuple);
            if (rec) {
                break;
            }
            auto res = sp.release();
            bool keep = res.keep_alive() && req.keep_alive();
            c->peer.expires_after(k_relay_timeout);
            auto [pec, p] = co_await bhttp::async_write(c->peer, res, use_tuple);
            if (pec || !keep) {
                break;
            }
        }
        c->close();
    }

    asio::awaitable<void> relay_loop() {
        if (!relay) {
            co_return;
        }
        while (!stopping) {
            auto [ec, socket] = co_await relay->async_accept(use_tuple);
            if (ec) {
                break;
            }
            auto c = std::make_shared<relay_conn>(std::move(socket), executor);
            relayed.insert(c);
            asio::co_spawn(executor, relay_one(c), [this, c](const std::exception_ptr&) {
                relayed.erase(c);
                drained.cancel();
            });
        }
        // The connections were closed by stop(); their coroutines end at their next step.
        for (int i = 0; i < 1000 && !relayed.empty(); ++i) {
            drained.expires_after(std::chrono::milliseconds(10));
            co_await drained.async_wait(use_tuple);
        }
    }
};

sim_host::sim_host(asio::any_io_executor ex, simulator& sim, std::string listen, bool faults)
    : impl_(std::make_unique<impl>(ex, sim)) {
    sim.install(impl_->routes);
    if (!faults) {
        impl_->server.listen(listen);
        return;
    }
    impl_->server.listen("127.0.0.1:0");
    auto& relay = impl_->relay.emplace(ex);
    auto at = parse_endpoint(listen);
    relay.open(at.protocol());
    relay.set_option(tcp::acceptor::reuse_address(true));
    relay.bind(at);
    relay.listen();
}

sim_host::~sim_host() = default;

std::string sim_host::base_url() const { return "http://127.0.0.1:" + std::to_string(port()); }

unsigned short sim_host::port() const {
    return impl_->relay ? impl_->relay->local_endpoint().port() : impl_->server.port();
}

asio::awaitable<void> sim_host::run(std::chrono::milliseconds tick_every) {
    using namespace asio::experimental::awaitable_operators;
    co_await (impl_->server.run() && impl_->tick_loop(tick_every) && impl_->relay_loop());
}

void sim_host::stop() {
    impl_->stopping = true;
    impl_->ticker.cancel();
    if (impl_->relay) {
        boost::system::error_code ignored;
        impl_->relay->close(ignored);
    }
    for (const auto& c : impl_->relayed) {
        c->close();
    }
    impl_->server.stop();
}

}  // namespace changefeed::sim
