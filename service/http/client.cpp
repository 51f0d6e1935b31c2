// Outbound HTTP(S): URL parsing, the per-origin keep-alive pool, resolve/connect/TLS, and one
// request/response exchange under a single deadline.
#include "http/client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/url/parse.hpp>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <map>

namespace changefeed::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::uint32_t k_header_limit = 64 * 1024;
constexpr const char* k_reading = "reading the response";

struct target_url {
    bool secure = false;
    std::string host;    ///< without brackets
    std::string port;
    std::string target;  ///< path and query, as sent
    std::string origin;  ///< scheme://host:port, the pool key
    std::string shown;   ///< origin + path, for messages
};

std::optional<target_url> parse_target_url(std::string_view text) {
    auto parsed = boost::urls::parse_absolute_uri(text);
    if (!parsed || !parsed->has_authority() || parsed->encoded_host().empty()) {
        return std::nullopt;
    }
    target_url t;
    auto scheme = ascii_lower(parsed->scheme());
    if (scheme == "https") {
        t.secure = true;
    } else if (scheme != "http") {
        return std::nullopt;
    }
    t.host = parsed->host_address();
    if (t.host.size() >= 2 && t.host.front() == '[' && t.host.back() == ']') {
        t.host = t.host.substr(1, t.host.size() - 2);
    }
    t.port = parsed->has_port() ? std::string(parsed->port()) : (t.secure ? "443" : "80");
    t.target = parsed->encoded_path().empty() ? "/" : std::string(parsed->encoded_path());
    if (parsed->has_query()) {
        t.target += "?";
        t.target += parsed->encoded_query();
    }
    t.origin = scheme + "://" + std::string(parsed->encoded_host_and_port());
    if (!parsed->has_port()) {
        t.origin += ":" + t.port;
    }
    t.shown = scheme + "://" + std::string(parsed->encoded_host_and_port()) +
              std::string(parsed->encoded_path());
    return t;
}

bool is_ip_literal(const std::string& host) {
    error_code ec;
    asio::ip::make_address(host, ec);
    return !ec;
}

}  // namespace

std::optional<std::string_view> client_response::header(std::string_view lower_name) const {
    auto it = headers.find(lower_name);
    if (it == headers.end()) {
        return std::nullopt;
    }
    return std::string_view(it->second);
}

std::string redact_url(std::string_view url) {
    auto t = parse_target_url(url);
    return t ? t->shown : std::string("(invalid URL)");
}

//------------------------------------------------------------------------------

struct client::impl : std::enable_shared_from_this<client::impl> {
    struct connection {
        std::optional<beast::tcp_stream> plain;
        std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
        beast::flat_buffer buffer;

        beast::tcp_stream& lowest() { return secure ? beast::get_lowest_layer(*secure) : *plain; }
    };
    using connection_ptr = std::unique_ptr<connection>;

    /// What one exchange on a connection gave.
    struct outcome {
        error_code ec;
        bool sent = false;       ///< the request was written
        bool got_bytes = false;  ///< some of the response arrived (no safe retry after that)
        bool keep_alive = false;
        client_response response;
    };

    impl(asio::any_io_executor ex, client_options o)
        : executor(std::move(ex)), opts(std::move(o)), tls(ssl::context::tls_client) {
        tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                        ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                        ssl::context::no_tlsv1_1);
        SSL_CTX_set_min_proto_version(tls.native_handle(), TLS1_2_VERSION);
        tls.set_default_verify_paths();
        if (!opts.extra_ca_file.empty()) {
            tls.load_verify_file(opts.extra_ca_file);
        }
    }

    asio::any_io_executor executor;
    client_options opts;
    ssl::context tls;
    std::map<std::string, std::vector<connection_ptr>> idle;

    connection_ptr take_idle(const std::string& origin) {
        auto it = idle.find(origin);
        if (it == idle.end() || it->second.empty()) {
            return nullptr;
        }
        auto conn = std::move(it->second.back());
        it->second.pop_back();
        return conn;
    }

    void give_back(const std::string& origin, connection_ptr conn) {
        auto& list = idle[origin];
        if (list.size() < opts.max_idle_per_origin) {
            list.push_back(std::move(conn));
        }
    }

    [[noreturn]] static void fail(client_errc code, const std::string& what, const target_url& t,
                                  const std::string& method) {
        throw client_error(code, method + " " + t.shown + ": " + what);
    }

    // Maps a failed operation to a client_error (or rethrows a cancellation as it is).
    [[noreturn]] static void fail_with(const error_code& ec, const char* step, const target_url& t,
                                       const std::string& method) {
        if (ec == beast::error::timeout) {
            fail(client_errc::timeout, std::string("timed out ") + step, t, method);
        }
        if (ec == asio::error::operation_aborted) {
            throw boost::system::system_error(ec);
        }
        if (ec == bhttp::error::body_limit) {
            fail(client_errc::too_large, "response body exceeds the size limit", t, method);
        }
        if (ec == bhttp::error::header_limit) {
            fail(client_errc::too_large, "response header exceeds the size limit", t, method);
        }
        if (std::string_view(step) == k_reading &&
            (ec == bhttp::error::partial_message || ec == bhttp::error::end_of_stream ||
             ec == asio::error::eof || ec == asio::error::connection_reset)) {
            fail(client_errc::io, "the response was cut short: the connection closed mid-response (" +
                                      ec.message() + ")",
                 t, method);
        }
        if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() &&
            ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
            fail(client_errc::protocol, "malformed response (" + ec.message() + ")", t, method);
        }
        fail(client_errc::io, std::string(step) + " failed: " + ec.message(), t, method);
    }

    // Resolves and connects (and shakes hands for https) before `deadline`.
    asio::awaitable<connection_ptr> open(const target_url& t, const std::string& method,
                                         clock_type::time_point deadline) {
        tcp::resolver resolver(executor);
        asio::steady_timer guard(executor, deadline);
        guard.async_wait([&resolver](const error_code& ec) {
            if (!ec) {
                resolver.cancel();
            }
        });
        auto [resolve_ec, endpoints] = co_await resolver.async_resolve(t.host, t.port, use_tuple);
        guard.cancel();
        if (resolve_ec) {
            if (resolve_ec == asio::error::operation_aborted && clock_type::now() >= deadline) {
                fail(client_errc::timeout, "timed out resolving the host", t, method);
            }
            if (resolve_ec == asio::error::operation_aborted) {
                throw boost::system::system_error(resolve_ec);
            }
            fail(client_errc::resolve, "cannot resolve host: " + resolve_ec.message(), t, method);
        }

        auto conn = std::make_unique<connection>();
        if (t.secure) {
            conn->secure.emplace(executor, tls);
        } else {
            conn->plain.emplace(executor);
        }
        auto& tcp_layer = conn->lowest();
        tcp_layer.expires_at(deadline);
        auto [connect_ec, endpoint] = co_await tcp_layer.async_connect(endpoints, use_tuple);
        if (connect_ec) {
            if (connect_ec == beast::error::timeout) {
                fail(client_errc::timeout, "timed out connecting", t, method);
            }
            if (connect_ec == asio::error::operation_aborted) {
                throw boost::system::system_error(connect_ec);
            }
            fail(client_errc::connect, "cannot connect: " + connect_ec.message(), t, method);
        }
        tcp_layer.socket().set_option(tcp::no_delay(true));

        if (t.secure) {
            auto& stream = *conn->secure;
            if (!is_ip_literal(t.host) &&
                SSL_set_tlsext_host_name(stream.native_handle(), t.host.c_str()) != 1) {
                fail(client_errc::tls, "cannot set the TLS server name", t, method);
            }
            stream.set_verify_mode(ssl::verify_peer);
            // OpenSSL reports a name mismatch only as an unspecified verify failure: note it here.
            auto wrong_host = std::make_shared<bool>(false);
            stream.set_verify_callback(
                [check = ssl::host_name_verification(t.host), wrong_host](
                    bool preverified, ssl::verify_context& ctx) mutable {
                    bool ok = check(preverified, ctx);
                    if (preverified && !ok) {
                        *wrong_host = true;
                    }
                    return ok;
                });
            auto [handshake_ec] = co_await stream.async_handshake(ssl::stream_base::client, use_tuple);
            if (handshake_ec) {
                if (handshake_ec == beast::error::timeout) {
                    fail(client_errc::timeout, "timed out in the TLS handshake", t, method);
                }
                if (handshake_ec == asio::error::operation_aborted) {
                    throw boost::system::system_error(handshake_ec);
                }
                std::string why = "TLS handshake failed: ";
                long verified = SSL_get_verify_result(stream.native_handle());
                if (*wrong_host) {
                    why += "certificate verify failed: the certificate is not valid for " + t.host;
                } else if (verified != X509_V_OK) {
                    why += std::string("certificate verify failed: ") +
                           X509_verify_cert_error_string(verified);
                } else {
                    why += handshake_ec.message();
                }
                fail(client_errc::tls, why, t, method);
            }
        }
        co_return conn;
    }

    template <class Stream>
    asio::awaitable<outcome> exchange_on(Stream& stream, connection& conn,
                                         const bhttp::request<bhttp::string_body>& msg,
                                         clock_type::time_point deadline) {
        outcome out;
        conn.lowest().expires_at(deadline);
        auto [write_ec, written] = co_await bhttp::async_write(stream, msg, use_tuple);
        if (write_ec) {
            out.ec = write_ec;
            co_return out;
        }
        out.sent = true;
        bhttp::response_parser<bhttp::string_body> parser;
        parser.header_limit(k_header_limit);
        parser.body_limit(opts.max_response_bytes);
        conn.lowest().expires_at(deadline);
        auto [read_ec, read] = co_await bhttp::async_read(stream, conn.buffer, parser, use_tuple);
        out.got_bytes = parser.got_some();
        if (read_ec) {
            out.ec = read_ec;
            co_return out;
        }
        auto& res = parser.get();
        out.keep_alive = res.keep_alive();
        out.response.status = res.result_int();
        for (const auto& f : res) {
            auto name = ascii_lower(f.name_string());
            auto [it, inserted] = out.response.headers.try_emplace(std::move(name), f.value());
            if (!inserted) {
                it->second += ", ";
                it->second += f.value();
            }
        }
        out.response.body = std::move(res.body());
        co_return out;
    }

    asio::awaitable<outcome> exchange(connection& conn,
                                      const bhttp::request<bhttp::string_body>& msg,
                                      clock_type::time_point deadline) {
        if (conn.secure) {
            co_return co_await exchange_on(*conn.secure, conn, msg, deadline);
        }
        co_return co_await exchange_on(*conn.plain, conn, msg, deadline);
    }

    static asio::awaitable<client_response> send(std::shared_ptr<impl> self, client_request req) {
        auto parsed = parse_target_url(req.url);
        if (!parsed) {
            throw client_error(client_errc::bad_url,
                               req.method + " " + redact_url(req.url) +
                                   ": not an absolute http:// or https:// URL");
        }
        const target_url& t = *parsed;
        auto deadline = clock_type::now() + self->opts.timeout;

        bhttp::request<bhttp::string_body> msg;
        msg.version(11);
        msg.method_string(req.method);
        msg.target(t.target);
        bool default_port = t.port == (t.secure ? "443" : "80");
        std::string host_header = t.host.find(':') != std::string::npos ? "[" + t.host + "]" : t.host;
        if (!default_port) {
            host_header += ":" + t.port;
        }
        msg.set(bhttp::field::host, host_header);
        msg.set(bhttp::field::user_agent, self->opts.user_agent);
        for (const auto& [name, value] : req.headers) {
            msg.set(name, value);
        }
        msg.body() = std::move(req.body);
        msg.prepare_payload();

        for (int attempt = 0;; ++attempt) {
            auto conn = self->take_idle(t.origin);
            bool reused = conn != nullptr;
            if (!conn) {
                conn = co_await self->open(t, req.method, deadline);
            }
            auto out = co_await self->exchange(*conn, msg, deadline);
            if (out.ec) {
                // The peer may have closed an idle keep-alive connection just as we reused it.
                bool stale = reused && !out.got_bytes && out.ec != beast::error::timeout &&
                             out.ec != asio::error::operation_aborted && attempt == 0;
                if (stale) {
                    continue;
                }
                const char* step = out.got_bytes ? k_reading
                                   : out.sent    ? "awaiting the response"
                                                 : "sending the request";
                fail_with(out.ec, step, t, req.method);
            }
            if (out.keep_alive) {
                self->give_back(t.origin, std::move(conn));
            }
            if (out.response.status >= 300 && out.response.status < 400) {
                fail(client_errc::redirect,
                     "answered " + std::to_string(out.response.status) +
                         " (a redirect); redirects are not followed: check base_url",
                     t, req.method);
            }
            co_return std::move(out.response);
        }
    }
};

client::client(asio::any_io_executor ex, client_options opts)
    : impl_(std::make_shared<impl>(std::move(ex), std::move(opts))) {}

client::~client() = default;

asio::awaitable<client_response> client::send(client_request req) {
    return impl::send(impl_, std::move(req));
}

void client::close_idle() { impl_->idle.clear(); }

}  // namespace changefeed::http
