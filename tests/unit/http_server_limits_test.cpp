// The HTTP server's limits against hostile clients on 127.0.0.1: an oversized header block (431)
// or body (413) gets a JSON error and a closed connection, and a client that trickles its header
// or stops mid-body is cut by the per-request read deadline while other clients are served.
#include "http/router.hpp"
#include "http/server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <string>
#include <thread>

namespace changefeed::test {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// A server with one route (`POST /echo` answers the body's size, `GET /ok` answers "ok") on its
// own thread, with a short read deadline so that the slow-client tests end quickly.
class limited_server {
public:
    explicit limited_server(std::chrono::milliseconds read_timeout)
        : server_(ioc_.get_executor(), routes_, options(read_timeout)) {
        routes_.add("GET", "/ok", [](const http::request&) -> asio::awaitable<http::response> {
            http::response r;
            r.body = "ok";
            co_return r;
        });
        routes_.add("POST", "/echo", [](const http::request& req) -> asio::awaitable<http::response> {
            http::response r;
            r.body = std::to_string(req.body.size());
            co_return r;
        });
        server_.listen("127.0.0.1:0");
        port_ = server_.port();
        asio::co_spawn(ioc_, server_.run(), asio::detached);
        thread_ = std::thread([this] { ioc_.run_for(60s); });
    }
    ~limited_server() {
        asio::post(ioc_, [this] { server_.stop(); });
        thread_.join();
    }
    [[nodiscard]] unsigned short port() const { return port_; }

private:
    static http::server_options options(std::chrono::milliseconds read_timeout) {
        http::server_options o;
        o.read_timeout = read_timeout;
        o.idle_timeout = 10s;
        o.write_timeout = 10s;
        return o;
    }

    asio::io_context ioc_;
    http::router routes_;
    http::server server_;
    unsigned short port_ = 0;
    std::thread thread_;
};

tcp::socket connect(asio::io_context& ioc, unsigned short port) {
    tcp::socket s(ioc);
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    return s;
}

// Waits up to `limit` for the socket to become readable; true when it did.
bool readable_within(tcp::socket& s, std::chrono::milliseconds limit) {
    pollfd p{s.native_handle(), POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(limit.count())) > 0;
}

// Everything the server sends until it closes the connection; `closed` says whether it did
// within `limit` (a bounded wait, not a timing assertion).
std::string read_until_closed(tcp::socket& s, std::chrono::milliseconds limit, bool& closed) {
    std::string out;
    closed = false;
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (!readable_within(s, std::max(left, 1ms))) {
            continue;
        }
        char buf[4096];
        auto n = ::recv(s.native_handle(), buf, sizeof buf, 0);
        if (n <= 0) {
            closed = true;  // EOF or reset
            break;
        }
        out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
}

struct parsed_reply {
    unsigned status = 0;
    std::string body;
};

parsed_reply parse_reply(const std::string& raw) {
    parsed_reply r;
    if (raw.rfind("HTTP/1.1 ", 0) == 0 && raw.size() >= 12) {
        r.status = static_cast<unsigned>(std::stoul(raw.substr(9, 3)));
    }
    auto end = raw.find("\r\n\r\n");
    if (end != std::string::npos) {
        r.body = raw.substr(end + 4);
    }
    return r;
}

std::string error_field_of(const std::string& body, std::string_view field) {
    boost::system::error_code ec;
    auto v = boost::json::parse(body, ec);
    if (ec || !v.is_object() || !v.as_object().contains("error")) {
        return "<not a JSON error: " + body + ">";
    }
    return std::string(v.at("error").at(field).as_string());
}

std::string error_code_of(const std::string& body) { return error_field_of(body, "code"); }

// One plain GET on a new connection: the server still serves.
unsigned get_ok(asio::io_context& ioc, unsigned short port) {
    auto s = connect(ioc, port);
    std::string req = "GET /ok HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    asio::write(s, asio::buffer(req));
    bool closed = false;
    auto raw = read_until_closed(s, 10s, closed);
    auto r = parse_reply(raw);
    return r.body == "ok" ? r.status : 0;
}

TEST(http_server_limits, a_header_block_over_16_kib_gets_431_as_json_and_the_connection_closes) {
    limited_server server(10s);
    auto* srv = &server;
    asio::io_context ioc;
    auto s = connect(ioc, srv->port());
    std::string req = "GET /ok HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(17 * 1024, 'a') + "\r\n\r\n";
    boost::system::error_code ec;
    asio::write(s, asio::buffer(req), ec);  // the server may close before reading it all
    bool closed = false;
    auto reply = parse_reply(read_until_closed(s, 10s, closed));
    EXPECT_EQ(reply.status, 431u);
    EXPECT_EQ(error_code_of(reply.body), "header_too_large");
    EXPECT_TRUE(closed);

    // A header block just under the limit is fine.
    auto ok = connect(ioc, srv->port());
    std::string fine = "GET /ok HTTP/1.1\r\nHost: t\r\nConnection: close\r\nX-Big: " +
                       std::string(15 * 1024, 'a') + "\r\n\r\n";
    asio::write(ok, asio::buffer(fine));
    EXPECT_EQ(parse_reply(read_until_closed(ok, 10s, closed)).status, 200u);
}

TEST(http_server_limits, a_malformed_percent_escape_is_a_400_that_names_its_parameter) {
    limited_server server(10s);
    asio::io_context ioc;
    bool closed = false;
    auto s = connect(ioc, server.port());
    std::string req = "GET /ok?limit=5&since=%ZZ HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    asio::write(s, asio::buffer(req));
    auto reply = parse_reply(read_until_closed(s, 10s, closed));
    EXPECT_EQ(reply.status, 400u);
    EXPECT_EQ(error_code_of(reply.body), "bad_request");
    EXPECT_NE(error_field_of(reply.body, "message").find("'since'"), std::string::npos) << reply.body;
}

TEST(http_server_limits, a_body_over_1_mib_gets_413_as_json_whether_announced_or_chunked) {
    limited_server server(10s);
    auto* srv = &server;
    asio::io_context ioc;
    constexpr std::size_t mib = 1024 * 1024;
    bool closed = false;

    // Announced by Content-Length: refused after the header, before any body byte is read.
    {
        auto s = connect(ioc, srv->port());
        std::string req = "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(mib + 1) +
                          "\r\n\r\n";
        asio::write(s, asio::buffer(req));
        auto reply = parse_reply(read_until_closed(s, 10s, closed));
        EXPECT_EQ(reply.status, 413u);
        EXPECT_EQ(error_code_of(reply.body), "payload_too_large");
        EXPECT_TRUE(closed);
    }
    // Chunked: refused once the chunks pass the limit.
    {
        auto s = connect(ioc, srv->port());
        std::string req = "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
        std::string chunk(64 * 1024, 'x');
        for (int i = 0; i < 17; ++i) {  // 17 * 64 KiB > 1 MiB
            req += "10000\r\n" + chunk + "\r\n";
        }
        req += "0\r\n\r\n";
        boost::system::error_code ec;
        asio::write(s, asio::buffer(req), ec);
        auto reply = parse_reply(read_until_closed(s, 10s, closed));
        EXPECT_EQ(reply.status, 413u);
        EXPECT_EQ(error_code_of(reply.body), "payload_too_large");
        EXPECT_TRUE(closed);
    }
    // Exactly 1 MiB is accepted.
    {
        auto s = connect(ioc, srv->port());
        std::string req = "POST /echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: " +
                          std::to_string(mib) + "\r\n\r\n" + std::string(mib, 'x');
        asio::write(s, asio::buffer(req));
        auto reply = parse_reply(read_until_closed(s, 10s, closed));
        EXPECT_EQ(reply.status, 200u);
        EXPECT_EQ(reply.body, std::to_string(mib));
    }
}

TEST(http_server_limits, a_client_trickling_its_header_is_cut_by_the_read_deadline) {
    limited_server server(300ms);
    auto* srv = &server;
    asio::io_context ioc;
    auto slow = connect(ioc, srv->port());
    // One byte, then a pause (the wait for the server's answer paces it), for at most 10 s; a
    // server without a whole-request deadline never cuts it, since every byte comes in time.
    std::string header = "GET /ok HTTP/1.1\r\nHost: t\r\n";
    for (int i = 0; header.size() < 1000; ++i) {
        header += "X-Slow-" + std::to_string(i) + ": y\r\n";
    }
    bool cut = false;
    std::string answer;
    unsigned other_status = 0;
    for (std::size_t i = 0; i < header.size() && !cut; ++i) {
        boost::system::error_code ec;
        asio::write(slow, asio::buffer(&header[i], 1), ec);
        if (ec) {
            cut = true;
            break;
        }
        if (i == 5) {
            other_status = get_ok(ioc, srv->port());  // served while the slow one trickles
        }
        if (readable_within(slow, 10ms)) {
            answer = read_until_closed(slow, 10s, cut);
        }
    }
    EXPECT_TRUE(cut) << "a client sending one byte every 10 ms was never disconnected";
    EXPECT_EQ(parse_reply(answer).status, 0u) << "the trickled request must not be answered: " << answer;
    EXPECT_EQ(other_status, 200u);
    EXPECT_EQ(get_ok(ioc, srv->port()), 200u);
}

TEST(http_server_limits, a_client_that_stops_mid_body_is_cut_while_others_are_served) {
    limited_server server(300ms);
    auto* srv = &server;
    asio::io_context ioc;
    auto stalled = connect(ioc, srv->port());
    std::string req = "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n" + std::string(10, 'x');
    asio::write(stalled, asio::buffer(req));
    // Another client is served meanwhile (the server is not blocked by the stalled one).
    EXPECT_EQ(get_ok(ioc, srv->port()), 200u);
    bool closed = false;
    auto answer = read_until_closed(stalled, 10s, closed);
    EXPECT_TRUE(closed) << "a client that stopped mid-body was not disconnected within 10 s";
    EXPECT_NE(parse_reply(answer).status, 200u);

    // A connection that sends nothing at all is cut too.
    auto silent = connect(ioc, srv->port());
    read_until_closed(silent, 10s, closed);
    EXPECT_TRUE(closed) << "a silent connection was not disconnected within 10 s";
    EXPECT_EQ(get_ok(ioc, srv->port()), 200u);
}

}  // namespace
}  // namespace changefeed::test
