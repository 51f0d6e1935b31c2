// The outbound HTTP(S) client against servers on 127.0.0.1: keep-alive, limits, deadlines,
// redirects, broken peers, and TLS certificate and host name checks.
#include "http/client.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "support/run_coro.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace changefeed::test {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// Serves `routes` on 127.0.0.1 in the test's io_context; stop() before the test ends.
struct local_server {
    local_server(asio::io_context& ioc, http::router& routes)
        : server(ioc.get_executor(), routes, http::server_options{}) {
        server.listen("127.0.0.1:0");
        asio::co_spawn(ioc, server.run(), asio::detached);
    }
    std::string url(const std::string& path) const {
        return "http://127.0.0.1:" + std::to_string(server.port()) + path;
    }
    http::server server;
};

http::client_options fast() {
    http::client_options o;
    o.timeout = 5s;
    return o;
}

TEST(http_client, keeps_the_connection_alive_between_requests) {
    asio::io_context ioc;
    http::router routes;
    std::vector<std::string> peers;
    routes.add("GET", "/hello", [&](const http::request& req) -> asio::awaitable<http::response> {
        peers.push_back(req.remote);
        EXPECT_EQ(req.header("authorization"), "Bearer t");
        EXPECT_TRUE(req.header("user-agent")->starts_with("changefeed/"));
        co_return http::json_response(R"({"ok":true})");
    });
    local_server srv(ioc, routes);
    http::client client(ioc.get_executor(), fast());
    run_coro(ioc, [&]() -> asio::awaitable<void> {
        for (int i = 0; i < 3; ++i) {
            http::client_request req;
            req.url = srv.url("/hello?x=1");
            req.headers.emplace_back("Authorization", "Bearer t");
            auto res = co_await client.send(req);
            EXPECT_EQ(res.status, 200u);
            EXPECT_EQ(res.body, R"({"ok":true})");
            EXPECT_EQ(res.header("content-type"), "application/json");
        }
        srv.server.stop();
    }());
    ASSERT_EQ(peers.size(), 3u);
    EXPECT_EQ(peers[0], peers[1]);
    EXPECT_EQ(peers[1], peers[2]);
}

TEST(http_client, statuses_come_back_but_redirects_are_errors) {
    asio::io_context ioc;
    http::router routes;
    routes.add("GET", "/missing", [](const http::request&) -> asio::awaitable<http::response> {
        co_return http::error_response(404, "not_found", "gone");
    });
    routes.add("GET", "/moved", [](const http::request&) -> asio::awaitable<http::response> {
        http::response r;
        r.status = 302;
        r.headers.emplace_back("Location", "http://evil.example/steal");
        co_return r;
    });
    local_server srv(ioc, routes);
    http::client client(ioc.get_executor(), fast());
    run_coro(ioc, [&]() -> asio::awaitable<void> {
        http::client_request req;
        req.url = srv.url("/missing");
        auto res = co_await client.send(req);
        EXPECT_EQ(res.status, 404u);
        req.url = srv.url("/moved?token=secret-in-query");
        std::optional<http::client_error> error;
        try {
            co_await client.send(req);
        } catch (const http::client_error& e) {
            error = e;
        }
        srv.server.stop();
        EXPECT_TRUE(error);
        if (error) {
            EXPECT_EQ(error->code(), http::client_errc::redirect);
            EXPECT_EQ(std::string(error->what()).find("secret-in-query"), std::string::npos)
                << error->what();
        }
    }());
}

TEST(http_client, a_body_over_the_cap_is_an_error_not_an_allocation) {
    asio::io_context ioc;
    http::router routes;
    routes.add("GET", "/big", [](const http::request&) -> asio::awaitable<http::response> {
        co_return http::json_response("\"" + std::string(2 * 1024 * 1024, 'x') + "\"");
    });
    local_server srv(ioc, routes);
    auto opts = fast();
    opts.max_response_bytes = 1024 * 1024;
    http::client client(ioc.get_executor(), opts);
    run_coro(ioc, [&]() -> asio::awaitable<void> {
        http::client_request req;
        req.url = srv.url("/big");
        std::optional<http::client_errc> code;
        try {
            co_await client.send(req);
        } catch (const http::client_error& e) {
            code = e.code();
        }
        srv.server.stop();
        EXPECT_EQ(code, http::client_errc::too_large);
    }());
}

// A raw peer: runs `script` for each accepted connection (up to `connections`).
template <class Script>
asio::awaitable<void> raw_peer(tcp::acceptor& acceptor, int connections, Script script) {
    for (int i = 0; i < connections; ++i) {
        auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
        if (ec) {
            co_return;
        }
        co_await script(std::move(socket), i);
    }
}

asio::awaitable<std::string> read_request(tcp::socket& socket) {
    asio::streambuf buf;
    auto [ec, n] = co_await asio::async_read_until(socket, buf, "\r\n\r\n",
                                                   asio::as_tuple(asio::use_awaitable));
    (void)ec;
    std::string head(asio::buffers_begin(buf.data()), asio::buffers_begin(buf.data()) + n);
    co_return head;
}

asio::awaitable<http::client_errc> expect_failure(http::client& client, std::string url) {
    http::client_request req;
    req.url = std::move(url);
    try {
        co_await client.send(req);
    } catch (const http::client_error& e) {
        co_return e.code();
    }
    ADD_FAILURE() << "the request succeeded";
    co_return http::client_errc::bad_url;
}

TEST(http_client, a_silent_peer_times_out_and_a_cut_body_is_an_io_error) {
    asio::io_context ioc;
    tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    auto port = acceptor.local_endpoint().port();
    auto script = [](tcp::socket socket, int i) -> asio::awaitable<void> {
        co_await read_request(socket);
        if (i == 0) {
            // Say nothing until the client gives up and closes.
            char byte = 0;
            (void)co_await socket.async_read_some(asio::buffer(&byte, 1), asio::as_tuple(asio::use_awaitable));
            co_return;
        }
        std::string cut = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789";
        (void)co_await asio::async_write(socket, asio::buffer(cut), asio::as_tuple(asio::use_awaitable));
    };
    asio::co_spawn(ioc, raw_peer(acceptor, 2, script), asio::detached);
    auto opts = fast();
    opts.timeout = 300ms;
    http::client client(ioc.get_executor(), opts);
    auto base = "http://127.0.0.1:" + std::to_string(port);
    run_coro(ioc, [&]() -> asio::awaitable<void> {
        EXPECT_EQ(co_await expect_failure(client, base + "/slow"), http::client_errc::timeout);
        EXPECT_EQ(co_await expect_failure(client, base + "/cut"), http::client_errc::io);
        acceptor.close();
    }());
}

// What the simulators' fault relay serves, at the client: each failure names what happened.
TEST(http_client, a_trickled_body_a_cut_chunked_body_and_a_huge_declared_body_fail_by_name) {
    asio::io_context ioc;
    tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    auto port = acceptor.local_endpoint().port();
    auto script = [](tcp::socket socket, int i) -> asio::awaitable<void> {
        co_await read_request(socket);
        auto send = [&socket](std::string bytes) -> asio::awaitable<bool> {
            auto [ec, n] = co_await asio::async_write(socket, asio::buffer(bytes),
                                                      asio::as_tuple(asio::use_awaitable));
            co_return !ec;
        };
        if (i == 0) {
            // Bytes keep coming, each well within the deadline, but the whole takes longer.
            bool open = co_await send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
            asio::steady_timer timer(socket.get_executor());
            for (int b = 0; open && b < 100; ++b) {
                timer.expires_after(20ms);
                co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
                open = co_await send(" ");
            }
        } else if (i == 1) {
            co_await send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":\r\n");
        } else {
            co_await send("HTTP/1.1 200 OK\r\nContent-Length: 999999999\r\n\r\n[");
        }
    };
    asio::co_spawn(ioc, raw_peer(acceptor, 3, script), asio::detached);
    auto opts = fast();
    opts.timeout = 300ms;
    opts.max_response_bytes = 1024 * 1024;
    http::client client(ioc.get_executor(), opts);
    auto base = "http://127.0.0.1:" + std::to_string(port);
    auto failure = [&](const std::string& path) -> asio::awaitable<std::pair<http::client_errc, std::string>> {
        http::client_request req;
        req.url = base + path + "?token=secret-in-query";
        try {
            co_await client.send(req);
        } catch (const http::client_error& e) {
            co_return std::pair{e.code(), std::string(e.what())};
        }
        ADD_FAILURE() << path << " succeeded";
        co_return std::pair{http::client_errc::bad_url, std::string()};
    };
    run_coro(ioc, [&]() -> asio::awaitable<void> {
        auto slow = co_await failure("/slow");
        EXPECT_EQ(slow.first, http::client_errc::timeout);
        EXPECT_NE(slow.second.find("timed out reading the response"), std::string::npos) << slow.second;
        auto cut = co_await failure("/cut");
        EXPECT_EQ(cut.first, http::client_errc::io);
        EXPECT_NE(cut.second.find("cut short"), std::string::npos) << cut.second;
        auto huge = co_await failure("/huge");
        EXPECT_EQ(huge.first, http::client_errc::too_large);
        for (const auto& text : {slow.second, cut.second, huge.second}) {
            EXPECT_EQ(text.find("secret-in-query"), std::string::npos) << text;
        }
        acceptor.close();
    }());
}

TEST(http_client, a_keep_alive_connection_closed_by_the_peer_is_retried_once) {
    asio::io_context ioc;
    tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    auto port = acceptor.local_endpoint().port();
    int served = 0;
    auto script = [&served](tcp::socket socket, int) -> asio::awaitable<void> {
        co_await read_request(socket);
        ++served;
        std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        (void)co_await asio::async_write(socket, asio::buffer(ok), asio::as_tuple(asio::use_awaitable));
        // Then close, though the answer allowed keep-alive.
    };
    asio::co_spawn(ioc, raw_peer(acceptor, 2, script), asio::detached);
    http::client client(ioc.get_executor(), fast());
    auto base = "http://127.0.0.1:" + std::to_string(port);
    run_coro(ioc, [&]() -> asio::awaitable<void> {
        for (int i = 0; i < 2; ++i) {
            http::client_request req;
            req.url = base + "/x";
            auto res = co_await client.send(req);
            EXPECT_EQ(res.body, "ok");
        }
        acceptor.close();
    }());
    EXPECT_EQ(served, 2);
}

TEST(http_client, rejects_urls_it_cannot_send_to) {
    asio::io_context ioc;
    http::client client(ioc.get_executor(), fast());
    run_coro(ioc, [&]() -> asio::awaitable<void> {
        EXPECT_EQ(co_await expect_failure(client, "ftp://127.0.0.1/x"), http::client_errc::bad_url);
        EXPECT_EQ(co_await expect_failure(client, "/relative"), http::client_errc::bad_url);
        EXPECT_EQ(co_await expect_failure(client, "http://127.0.0.1:1/"), http::client_errc::connect);
    }());
}

//------------------------------------------------------------------------------ TLS

// A certificate and key made by the openssl command line, in a temporary directory.
struct certificate {
    explicit certificate(const std::string& subject_alt_name) {
        dir = std::filesystem::temp_directory_path() /
              ("cf-tls-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        std::filesystem::create_directories(dir);
        std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=changefeed-test"
                          " -addext subjectAltName=" + subject_alt_name +
                          " -keyout " + (dir / "key.pem").string() + " -out " + (dir / "cert.pem").string() +
                          " >/dev/null 2>&1";
        ok = std::system(cmd.c_str()) == 0;
    }
    ~certificate() { std::filesystem::remove_all(dir); }
    std::string cert() const { return (dir / "cert.pem").string(); }
    std::string key() const { return (dir / "key.pem").string(); }
    std::filesystem::path dir;
    bool ok = false;
    static inline int counter = 0;
};

// Accepts TLS connections with `cert` and answers every request "tls-ok".
asio::awaitable<void> tls_peer(tcp::acceptor& acceptor, asio::ssl::context& ctx, int connections) {
    for (int i = 0; i < connections; ++i) {
        auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
        if (ec) {
            co_return;
        }
        asio::ssl::stream<tcp::socket> stream(std::move(socket), ctx);
        auto [hs] = co_await stream.async_handshake(asio::ssl::stream_base::server,
                                                    asio::as_tuple(asio::use_awaitable));
        if (hs) {
            continue;  // the client refused us
        }
        asio::streambuf buf;
        (void)co_await asio::async_read_until(stream, buf, "\r\n\r\n", asio::as_tuple(asio::use_awaitable));
        std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\ntls-ok";
        (void)co_await asio::async_write(stream, asio::buffer(ok), asio::as_tuple(asio::use_awaitable));
        (void)co_await stream.async_shutdown(asio::as_tuple(asio::use_awaitable));
    }
}

struct tls_case {
    std::string alt_name;  // in the certificate
    std::string host;      // in the URL
    bool trust;            // the certificate is given as an extra CA
    bool accepted;
    std::string reason = {};  // in the error when refused
};

class http_client_tls : public ::testing::TestWithParam<tls_case> {};

TEST_P(http_client_tls, verifies_the_peer_certificate_and_host_name) {
    const auto& c = GetParam();
    certificate cert(c.alt_name);
    ASSERT_TRUE(cert.ok) << "openssl could not make a test certificate";
    asio::io_context ioc;
    asio::ssl::context server_ctx(asio::ssl::context::tls_server);
    server_ctx.use_certificate_chain_file(cert.cert());
    server_ctx.use_private_key_file(cert.key(), asio::ssl::context::pem);
    tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    auto port = acceptor.local_endpoint().port();
    asio::co_spawn(ioc, tls_peer(acceptor, server_ctx, 1), asio::detached);
    auto opts = fast();
    if (c.trust) {
        opts.extra_ca_file = cert.cert();
    }
    http::client client(ioc.get_executor(), opts);
    run_coro(ioc, [&]() -> asio::awaitable<void> {
        http::client_request req;
        req.url = "https://" + c.host + ":" + std::to_string(port) + "/";
        std::optional<http::client_errc> code;
        std::string body;
        std::string error;
        try {
            auto res = co_await client.send(req);
            body = res.body;
        } catch (const http::client_error& e) {
            code = e.code();
            error = e.what();
        }
        acceptor.close();
        if (c.accepted) {
            EXPECT_FALSE(code);
            EXPECT_EQ(body, "tls-ok");
        } else {
            EXPECT_EQ(code, http::client_errc::tls);
            EXPECT_NE(error.find("certificate verify failed: " + c.reason), std::string::npos)
                << error;
        }
    }());
}

INSTANTIATE_TEST_SUITE_P(
    certificates, http_client_tls,
    ::testing::Values(
        tls_case{"DNS:localhost", "localhost", true, true},
        tls_case{"IP:127.0.0.1", "127.0.0.1", true, true},
        tls_case{"DNS:localhost", "localhost", false, false, "self-signed certificate"},
        tls_case{"DNS:other.example", "localhost", true, false,
                 "the certificate is not valid for localhost"},
        tls_case{"DNS:localhost", "127.0.0.1", true, false,
                 "the certificate is not valid for 127.0.0.1"}));

}  // namespace
}  // namespace changefeed::test
