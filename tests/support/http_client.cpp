#include "support/http_client.hpp"

#include <boost/algorithm/string/case_conv.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace changefeed::test {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

http_reply http_request(unsigned short port, const std::string& method, const std::string& target,
                        const std::map<std::string, std::string>& headers, const std::string& body,
                        std::chrono::seconds timeout) {
    boost::asio::io_context ioc;
    beast::tcp_stream stream(ioc);
    bhttp::request<bhttp::string_body> req(bhttp::string_to_verb(method), target, 11);
    req.set(bhttp::field::host, "127.0.0.1");
    for (const auto& [k, v] : headers) {
        req.set(k, v);
    }
    req.body() = body;
    req.prepare_payload();
    beast::flat_buffer buffer;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);

    // Asynchronous, because the stream's deadline (one for the whole exchange) only applies to
    // asynchronous operations.
    boost::system::error_code failure;
    stream.expires_after(timeout);
    auto endpoint = boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port);
    stream.async_connect(endpoint, [&](boost::system::error_code ec) {
        if (ec) {
            failure = ec;
            return;
        }
        bhttp::async_write(stream, req, [&](boost::system::error_code ec, std::size_t) {
            if (ec) {
                failure = ec;
                return;
            }
            bhttp::async_read(stream, buffer, parser,
                              [&](boost::system::error_code ec, std::size_t) { failure = ec; });
        });
    });
    ioc.run();
    if (failure) {
        throw boost::system::system_error(failure, "http_request " + method + " " + target);
    }
    http_reply reply;
    reply.status = parser.get().result_int();
    for (const auto& f : parser.get()) {
        reply.headers[boost::algorithm::to_lower_copy(std::string(f.name_string()))] =
            std::string(f.value());
    }
    reply.body = parser.get().body();
    return reply;
}

}  // namespace changefeed::test
