// `changefeed healthcheck`: a blocking-style Beast GET run to completion on a private io_context.
#include "app/healthcheck.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/url/parse.hpp>
#include <fmt/format.h>

#include <variant>

namespace changefeed::app {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace urls = boost::urls;

// A health answer is a few bytes; anything bigger is not our service.
constexpr std::size_t k_body_limit = 64 * 1024;

struct probe_target {
    asio::ip::tcp::endpoint endpoint;
    std::string host_header;
    std::string target;  // path and query
    std::string shown;   // scheme, host, port and path: what messages name
};

std::variant<probe_target, std::string> parse_target(std::string_view text) {
    auto parsed = urls::parse_absolute_uri(text);
    if (!parsed) {
        return std::string("not an absolute URL");
    }
    const urls::url_view& url = *parsed;
    if (url.scheme_id() != urls::scheme::http) {
        return std::string("the scheme must be http");
    }
    if (url.has_userinfo()) {
        return std::string("user information is not supported");
    }
    asio::ip::address address;
    switch (url.host_type()) {
    case urls::host_type::ipv4:
        address = asio::ip::make_address(url.host_ipv4_address().to_string());
        break;
    case urls::host_type::ipv6:
        address = asio::ip::make_address(url.host_ipv6_address().to_string());
        break;
    default:
        if (url.encoded_host() != "localhost") {
            return std::string(
                "the host must be a numeric IP address or localhost (no DNS lookup)");
        }
        address = asio::ip::make_address("127.0.0.1");
        break;
    }
    unsigned short port = 80;
    if (url.has_port()) {
        port = url.port_number();
        if (port == 0) {
            return std::string("the port must be 1..65535");
        }
    }
    probe_target t;
    t.endpoint = asio::ip::tcp::endpoint(address, port);
    t.host_header = std::string(url.encoded_host_and_port());
    t.target = std::string(url.encoded_target());
    if (t.target.empty() || t.target.front() != '/') {
        t.target.insert(0, "/");
    }
    t.shown = std::string(url.encoded_origin()) + std::string(url.encoded_path());
    return t;
}

}  // namespace

health_report check_health(std::string_view url, std::chrono::milliseconds deadline) {
    using verdict = health_report::verdict;
    auto parsed = parse_target(url);
    if (auto* problem = std::get_if<std::string>(&parsed)) {
        return {verdict::bad_url, fmt::format("bad --url: {}", *problem)};
    }
    const auto& t = std::get<probe_target>(parsed);

    try {
        asio::io_context ioc;
        beast::tcp_stream stream(ioc);
        // One expiry for every operation below: the deadline covers the whole exchange.
        stream.expires_after(deadline);
        bhttp::request<bhttp::empty_body> req{bhttp::verb::get, t.target, 11};
        req.set(bhttp::field::host, t.host_header);
        req.set(bhttp::field::user_agent, "changefeed-healthcheck/" CHANGEFEED_VERSION);
        req.set(bhttp::field::connection, "close");
        beast::flat_buffer buffer;
        bhttp::response_parser<bhttp::string_body> parser;
        parser.body_limit(k_body_limit);

        beast::error_code failure;
        const char* step = "connect";
        stream.async_connect(t.endpoint, [&](const beast::error_code& ec) {
            if (ec) {
                failure = ec;
                return;
            }
            step = "send";
            bhttp::async_write(stream, req, [&](const beast::error_code& ec, std::size_t) {
                if (ec) {
                    failure = ec;
                    return;
                }
                step = "read";
                bhttp::async_read(stream, buffer, parser,
                                  [&](const beast::error_code& ec, std::size_t) { failure = ec; });
            });
        });
        ioc.run();

        if (failure == beast::error::timeout) {
            return {verdict::unhealthy, fmt::format("unhealthy: GET {}: no answer within {} ms",
                                                    t.shown, deadline.count())};
        }
        if (failure) {
            return {verdict::unhealthy,
                    fmt::format("unhealthy: GET {}: {}: {}", t.shown, step, failure.message())};
        }
        unsigned status = parser.get().result_int();
        return {status == 200 ? verdict::healthy : verdict::unhealthy,
                fmt::format("{}: GET {} answered {}", status == 200 ? "healthy" : "unhealthy",
                            t.shown, status)};
    } catch (const std::exception& e) {
        return {verdict::unhealthy, fmt::format("unhealthy: GET {}: {}", t.shown, e.what())};
    }
}

}  // namespace changefeed::app
