// HTTP/1.1 server: accept loop, one session coroutine per connection (limits, deadlines,
// keep-alive, chunked streams) and graceful shutdown. The only service TU that includes Beast HTTP.
#include "http/server.hpp"

#include "core/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/span_body.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/pct_string_view.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <exception>
#include <limits>
#include <stdexcept>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

namespace changefeed::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;
using error_code = boost::system::error_code;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

/// Bytes asked for by one read while waiting for a request to start.
constexpr std::size_t k_read_chunk = 4096;
/// Most bytes discarded from a client after an error response, before closing (lingering close,
/// so the client reads our answer instead of a reset).
constexpr std::size_t k_max_drain = 8 * 1024 * 1024;

/// What a session is doing; `stop()` interrupts only the idle, streaming and draining ones.
enum class phase { idle, reading, handling, writing, streaming, draining };

std::string upper(std::string_view s) {
    std::string out(s);
    for (auto& c : out) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return out;
}

std::string format_endpoint(const tcp::endpoint& ep) {
    auto addr = ep.address().to_string();
    if (ep.address().is_v6()) {
        addr = "[" + addr + "]";
    }
    return addr + ":" + std::to_string(ep.port());
}

/// Copies method, target and headers (lower-case names, repeats joined by ", ") into `out`.
void fill_head(const bhttp::request<bhttp::string_body>& msg, request& out) {
    out.method = upper(msg.method_string());
    out.target = std::string(msg.target());
    for (const auto& f : msg) {
        auto name = ascii_lower(f.name_string());
        auto [it, inserted] = out.headers.try_emplace(std::move(name), f.value());
        if (!inserted) {
            it->second += ", ";
            it->second += f.value();
        }
    }
}

/// Sets `path` (percent-decoded) and `query` (decoded pairs) from `target`; false if malformed.
bool parse_target(request& out) {
    auto url = boost::urls::parse_origin_form(out.target);
    if (!url) {
        return false;
    }
    out.path = url->path();
    for (auto param : url->params()) {
        out.query.emplace_back(std::move(param.key), std::move(param.value));
    }
    return true;
}

/// Why parse_target() refused `target`: the query parameter whose percent-encoding is malformed,
/// where that is the reason, so that the 400 names it.
std::string malformed_target_message(std::string_view target) {
    auto question = target.find('?');
    std::string_view query = question == std::string_view::npos ? "" : target.substr(question + 1);
    while (!query.empty()) {
        auto amp = query.find('&');
        auto pair = query.substr(0, amp);
        auto eq = pair.find('=');
        auto key = boost::urls::make_pct_string_view(pair.substr(0, eq));
        auto value = boost::urls::make_pct_string_view(
            eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
        if (!key || !value) {
            constexpr std::size_t k_longest_named = 40;
            if (key && key->decoded_size() <= k_longest_named) {
                return "parameter '" + key->decode() + "' is not valid percent-encoding";
            }
            return "a query parameter's name is not valid percent-encoding";
        }
        if (amp == std::string_view::npos) {
            break;
        }
        query.remove_prefix(amp + 1);
    }
    return "malformed request target";
}

/// Headers a handler may not set: the server owns the message framing.
bool is_framing_header(std::string_view name) {
    return iequals(name, "content-length") || iequals(name, "transfer-encoding") ||
           iequals(name, "connection");
}

/// Copies status, content type and extra headers of `res` into a Beast header.
template <class Fields>
void fill_header(bhttp::header<false, Fields>& out, const response& res, unsigned version) {
    out.version(version);
    out.result(res.status);
    if (!res.content_type.empty()) {
        out.set(bhttp::field::content_type, res.content_type);
    }
    for (const auto& [name, value] : res.headers) {
        if (!is_framing_header(name)) {
            out.insert(name, value);
        }
    }
}

/// A status the response may carry a body with (RFC 9110 6.4.1).
bool allows_body(unsigned status) { return status >= 200 && status != 204 && status != 304; }

/// The error code of Beast's HTTP parser category.
const boost::system::error_category& parser_category() {
    return bhttp::make_error_code(bhttp::error::bad_target).category();
}

/// Chunked-transfer writer handed to streaming handlers: one awaited socket write per chunk.
class chunk_writer final : public stream_writer {
public:
    chunk_writer(beast::tcp_stream& stream, std::chrono::milliseconds timeout)
        : stream_(stream), timeout_(timeout) {}

    /// Throws boost::system::system_error (timeout, reset, cancelled); after that the framing
    /// is broken and every later write throws too.
    asio::awaitable<void> write(std::string chunk) override {
        if (broken_) {
            throw boost::system::system_error(asio::error::broken_pipe, "stream_writer::write");
        }
        if (chunk.empty()) {
            co_return;  // an empty chunk would end the stream
        }
        broken_ = true;  // until the whole chunk is out
        stream_.expires_after(timeout_);
        auto framed = bhttp::make_chunk(asio::buffer(chunk));
        co_await asio::async_write(stream_, framed, asio::use_awaitable);
        broken_ = false;
    }

    /// True when a write failed part-way: no final chunk can follow.
    [[nodiscard]] bool broken() const { return broken_; }

private:
    beast::tcp_stream& stream_;
    std::chrono::milliseconds timeout_;
    bool broken_ = false;
};

}  // namespace

//------------------------------------------------------------------------------

struct server::impl : std::enable_shared_from_this<server::impl> {
    struct session {
        explicit session(tcp::socket socket) : stream(std::move(socket)) {}
        beast::tcp_stream stream;
        std::string remote;
        phase state = phase::idle;
        asio::cancellation_signal cancel;
    };
    using session_ptr = std::shared_ptr<session>;

    impl(asio::any_io_executor ex, const router& r, server_options o)
        : executor(ex), routes(r), opts(std::move(o)), acceptor(ex), sessions_gone(ex) {}

    asio::any_io_executor executor;
    const router& routes;
    server_options opts;
    tcp::acceptor acceptor;
    bool stopping = false;
    bool running = false;
    std::unordered_set<session_ptr> sessions;
    asio::steady_timer sessions_gone;  ///< cancelled when the last session ends

    static asio::awaitable<void> run(std::shared_ptr<impl> self);
    void stop(bool force);
    void spawn_session(tcp::socket socket);
    asio::awaitable<void> run_session(session_ptr s);
    asio::awaitable<void> stream_response(session_ptr s, response res, request meta,
                                          clock_type::time_point started, unsigned version);
    asio::awaitable<error_code> write_response(session_ptr s,
                                               const response& res,
                                               unsigned version,
                                               bool keep_alive,
                                               bool head_only);
    asio::awaitable<void> linger_close(session_ptr s);
    void complete(const request& req, const response& res, clock_type::time_point started) const;
};

// Accept loop, then wait for the sessions. A cancellation of run() acts as stop(); another one
// while waiting aborts the sessions.
asio::awaitable<void> server::impl::run(std::shared_ptr<impl> self) {
    if (!self->acceptor.is_open()) {
        throw std::logic_error("http::server::run() called before listen()");
    }
    if (self->running) {
        throw std::logic_error("http::server::run() called twice");
    }
    self->running = true;
    log::info("http server listening", {{"port", self->acceptor.local_endpoint().port()}});

    // Accept until stop() closes the acceptor (or run() is cancelled).
    while (!self->stopping) {
        auto [ec, socket] = co_await self->acceptor.async_accept(use_tuple);
        if (self->stopping || ec == asio::error::operation_aborted) {
            break;
        }
        if (ec) {
            // E.g. out of file descriptors: back off instead of spinning.
            log::warn("http accept failed", {{"error", ec.message().c_str()}});
            asio::steady_timer backoff(self->executor, std::chrono::milliseconds(100));
            auto [backoff_ec] = co_await backoff.async_wait(use_tuple);
            if (backoff_ec) {
                break;
            }
            continue;
        }
        self->spawn_session(std::move(socket));
    }

    // Graceful stop: a cancellation that ended the loop must not abort the wait below.
    auto cs = co_await asio::this_coro::cancellation_state;
    if (cs.cancelled() != asio::cancellation_type::none) {
        co_await asio::this_coro::reset_cancellation_state();
    }
    self->stop(false);

    // Wait until every session has finished.
    while (!self->sessions.empty()) {
        self->sessions_gone.expires_at(clock_type::time_point::max());
        // Completes when cancelled by the last session (or by a cancellation of run()).
        (void)co_await self->sessions_gone.async_wait(use_tuple);
        auto state = co_await asio::this_coro::cancellation_state;
        if (state.cancelled() != asio::cancellation_type::none) {
            co_await asio::this_coro::reset_cancellation_state();
            self->stop(true);
        }
    }
    self->running = false;
    log::info("http server stopped");
}

void server::impl::stop(bool force) {
    stopping = true;
    error_code ignored;
    acceptor.close(ignored);
    // Emitting only posts completions, but copy anyway: never iterate a set that may change.
    std::vector<session_ptr> all(sessions.begin(), sessions.end());
    for (const auto& s : all) {
        if (force || s->state == phase::idle || s->state == phase::streaming ||
            s->state == phase::draining) {
            s->cancel.emit(asio::cancellation_type::terminal);
        }
    }
}

void server::impl::spawn_session(tcp::socket socket) {
    auto s = std::make_shared<session>(std::move(socket));
    error_code ec;
    // Every write is a whole response or event-stream chunk: send it now, not after the peer's
    // ACK of the previous one (Nagle), which would delay back-to-back SSE events.
    s->stream.socket().set_option(tcp::no_delay(true), ec);
    auto peer = s->stream.socket().remote_endpoint(ec);
    s->remote = ec ? std::string("unknown") : format_endpoint(peer);
    sessions.insert(s);
    auto self = shared_from_this();
    // The handler owns `s`, hence the signal its slot belongs to, until the session is over.
    auto on_done = [self, s](std::exception_ptr e) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                log::error("http session failed", {{"remote", s->remote.c_str()}, {"error", ex.what()}});
            } catch (...) {
                log::error("http session failed", {{"remote", s->remote.c_str()}});
            }
        }
        self->sessions.erase(s);
        if (self->sessions.empty()) {
            self->sessions_gone.cancel();
        }
    };
    auto slot = s->cancel.slot();
    asio::co_spawn(executor, run_session(s), asio::bind_cancellation_slot(slot, std::move(on_done)));
}

// One connection: read a request, answer it, repeat while keep-alive holds.
asio::awaitable<void> server::impl::run_session(session_ptr s) {
    auto& stream = s->stream;
    beast::flat_buffer buffer;
    bool first = true;
    auto deadline = clock_type::now() + opts.read_timeout;  // first request: counted from accept

    for (;;) {
        // Wait for the first bytes of a request (idle: stop() closes such connections).
        if (buffer.size() == 0) {
            if (stopping) {
                break;
            }
            s->state = phase::idle;
            if (first) {
                stream.expires_at(deadline);
            } else {
                stream.expires_after(opts.idle_timeout);
            }
            auto [ec, n] = co_await stream.async_read_some(buffer.prepare(k_read_chunk), use_tuple);
            if (ec) {
                break;  // closed by the peer, idle timeout, stop()
            }
            buffer.commit(n);
        }
        auto started = clock_type::now();
        if (!first) {
            deadline = started + opts.read_timeout;
        }
        first = false;
        s->state = phase::reading;

        // Read the header, then the body; the whole request shares one deadline (slowloris).
        bhttp::request_parser<bhttp::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(
            std::min<std::size_t>(opts.header_limit, std::numeric_limits<std::uint32_t>::max())));
        parser.body_limit(opts.body_limit);
        stream.expires_at(deadline);
        auto [header_ec, header_n] = co_await bhttp::async_read_header(stream, buffer, parser, use_tuple);
        error_code ec = header_ec;
        if (!ec && !parser.is_done()) {
            auto expect = parser.get()[bhttp::field::expect];
            if (iequals(expect, "100-continue")) {
                stream.expires_after(opts.write_timeout);
                static constexpr std::string_view k_continue = "HTTP/1.1 100 Continue\r\n\r\n";
                auto [write_ec, write_n] =
                    co_await asio::async_write(stream, asio::buffer(k_continue), use_tuple);
                ec = write_ec;
            }
            if (!ec) {
                stream.expires_at(deadline);
                auto [body_ec, body_n] = co_await bhttp::async_read(stream, buffer, parser, use_tuple);
                ec = body_ec;
            }
        }

        // What we know of the request (without its body), for errors and the hook.
        request meta;
        meta.remote = s->remote;
        bool target_parsed = false;
        // A Content-Length over the limit fails the header read, but the header was read whole.
        if (parser.is_header_done() || ec == bhttp::error::body_limit) {
            fill_head(parser.get(), meta);
            target_parsed = parse_target(meta);  // also for the log and route of a refusal
        }

        // Answer what could not be read with an error, then close.
        if (ec) {
            std::optional<response> answer;
            if (ec == bhttp::error::body_limit) {
                answer = error_response(413, "payload_too_large", "request body is too large");
            } else if (ec == bhttp::error::header_limit) {
                answer = error_response(431, "header_too_large", "request header is too large");
            } else if (ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message &&
                       ec.category() == parser_category()) {
                answer = error_response(400, "bad_request", "malformed HTTP request");
            }
            if (!answer) {
                log::debug("http read ended", {{"remote", s->remote.c_str()}, {"error", ec.message().c_str()}});
                break;  // timeout, reset or EOF: nobody to answer
            }
            s->state = phase::writing;
            auto write_op = write_response(s, *answer, 11, false, false);
            auto write_ec = co_await std::move(write_op);
            complete(meta, *answer, started);
            if (!write_ec) {
                auto linger_op = linger_close(s);
                co_await std::move(linger_op);
            }
            co_return;
        }

        auto& msg = parser.get();
        unsigned version = msg.version() == 10 ? 10 : 11;
        if (!target_parsed) {
            auto answer = error_response(400, "bad_request", malformed_target_message(meta.target));
            s->state = phase::writing;
            auto write_op = write_response(s, answer, version, false, false);
            auto write_ec = co_await std::move(write_op);
            complete(meta, answer, started);
            if (!write_ec) {
                auto linger_op = linger_close(s);
                co_await std::move(linger_op);
            }
            co_return;
        }
        bool keep_alive = msg.keep_alive();
        bool head_only = meta.method == "HEAD";

        // Run the handler; an exception becomes a bare 500 (never disclose it to the client).
        s->state = phase::handling;
        request req = meta;
        req.body = std::move(msg.body());
        response res;
        bool failed = false;
        try {
            auto op = routes.dispatch(std::move(req));
            res = co_await std::move(op);
        } catch (const std::exception& e) {
            std::optional<response> answer;
            if (opts.answer_for) {
                answer = opts.answer_for(e);
            }
            if (answer) {
                log::warn("http handler failed",
                          {{"method", meta.method.c_str()}, {"path", meta.path.c_str()},
                           {"status", answer->status}, {"error", e.what()}});
                res = std::move(*answer);
            } else {
                log::error("http handler threw", {{"method", meta.method.c_str()},
                                                  {"path", meta.path.c_str()}, {"error", e.what()}});
                failed = true;
            }
        } catch (...) {
            log::error("http handler threw", {{"method", meta.method.c_str()}, {"path", meta.path.c_str()}});
            failed = true;
        }
        if (!failed && (res.status < 100 || res.status > 999)) {
            log::error("http handler returned an invalid status",
                       {{"method", meta.method.c_str()}, {"path", meta.path.c_str()}, {"status", res.status}});
            failed = true;
        }
        if (failed) {
            res = error_response(500, "internal_error", "internal server error");
        }

        // A streamed response owns the rest of the connection.
        if (res.stream && !head_only) {
            auto stream_op = stream_response(s, std::move(res), std::move(meta), started, version);
            co_await std::move(stream_op);
            co_return;
        }

        // Send the response.
        keep_alive = keep_alive && !stopping;
        s->state = phase::writing;
        auto write_op = write_response(s, res, version, keep_alive, head_only);
        auto write_ec = co_await std::move(write_op);
        complete(meta, res, started);
        if (write_ec) {
            log::debug("http write failed", {{"remote", s->remote.c_str()}, {"error", write_ec.message().c_str()}});
            co_return;
        }
        if (!keep_alive) {
            error_code ignored;
            stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
            stream.close();
            co_return;
        }
    }
    stream.close();
}

// Chunked response: header, the handler's chunks (each write paced by the socket), final chunk.
asio::awaitable<void> server::impl::stream_response(session_ptr s,
                                                    response res,
                                                    request meta,
                                                    clock_type::time_point started,
                                                    unsigned version) {
    auto& stream = s->stream;
    s->state = phase::writing;
    bhttp::response<bhttp::empty_body> head;
    fill_header(head, res, version);
    head.keep_alive(false);
    head.chunked(true);
    bhttp::response_serializer<bhttp::empty_body> serializer{head};
    stream.expires_after(opts.write_timeout);
    auto [head_ec, head_n] = co_await bhttp::async_write_header(stream, serializer, use_tuple);
    if (head_ec) {
        complete(meta, res, started);
        stream.close();
        co_return;
    }

    // Produce the body; stop() cancels this phase.
    chunk_writer writer(stream, opts.write_timeout);
    bool threw = false;
    if (!stopping) {
        s->state = phase::streaming;
        try {
            auto op = res.stream(writer);
            co_await std::move(op);
        } catch (const std::exception& e) {
            threw = true;
            if (!writer.broken()) {
                log::debug("http stream ended by an exception",
                           {{"path", meta.path.c_str()}, {"error", e.what()}});
            }
        } catch (...) {
            threw = true;
        }
        s->state = phase::writing;
    }

    // End the chunked body unless a write broke the framing; a stop() cancellation ends
    // the stream cleanly, any other failure leaves it visibly truncated.
    auto cs = co_await asio::this_coro::cancellation_state;
    bool cancelled = cs.cancelled() != asio::cancellation_type::none;
    if (cancelled) {
        co_await asio::this_coro::reset_cancellation_state();
    }
    if (threw && !cancelled && !writer.broken()) {
        log::error("http stream handler failed", {{"method", meta.method.c_str()}, {"path", meta.path.c_str()}});
    }
    if (!writer.broken() && (!threw || cancelled)) {
        stream.expires_after(opts.write_timeout);
        auto last = bhttp::make_chunk_last();
        auto [last_ec, last_n] = co_await asio::async_write(stream, last, use_tuple);
        if (!last_ec) {
            error_code ignored;
            stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
        }
    }
    complete(meta, res, started);
    stream.close();
}

// Serializes `res` (not streamed). Returns the write error, if any. `res` must outlive the await.
asio::awaitable<error_code> server::impl::write_response(session_ptr s,
                                                         const response& res,
                                                         unsigned version,
                                                         bool keep_alive,
                                                         bool head_only) {
    bhttp::response<bhttp::span_body<const char>> out;
    fill_header(out, res, version);
    if (allows_body(res.status)) {
        const std::string& body = res.shared_body ? *res.shared_body : res.body;
        out.body() = boost::span<const char>(body.data(), body.size());
    } else {
        out.erase(bhttp::field::content_type);
    }
    out.keep_alive(keep_alive);
    out.prepare_payload();
    s->stream.expires_after(opts.write_timeout);
    bhttp::response_serializer<bhttp::span_body<const char>> serializer{out};
    if (head_only) {
        auto [ec, n] = co_await bhttp::async_write_header(s->stream, serializer, use_tuple);
        co_return ec;
    }
    auto [ec, n] = co_await bhttp::async_write(s->stream, serializer, use_tuple);
    co_return ec;
}

// After an error answer the client may still be sending (an oversized body): stop sending,
// discard its input for a while so it reads our answer rather than a reset, then close.
asio::awaitable<void> server::impl::linger_close(session_ptr s) {
    s->state = phase::draining;
    auto& stream = s->stream;
    error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream.expires_after(opts.read_timeout);
    std::array<char, 16384> sink{};
    std::size_t drained = 0;
    while (!stopping && drained < k_max_drain) {
        auto [ec, n] = co_await stream.async_read_some(asio::buffer(sink), use_tuple);
        if (ec) {
            break;
        }
        drained += n;
    }
    stream.close();
}

void server::impl::complete(const request& req,
                            const response& res,
                            clock_type::time_point started) const {
    if (!opts.on_complete) {
        return;
    }
    try {
        opts.on_complete(req, res, clock_type::now() - started);
    } catch (const std::exception& e) {
        log::error("http on_complete hook threw", {{"error", e.what()}});
    } catch (...) {
        log::error("http on_complete hook threw");
    }
}

//------------------------------------------------------------------------------

server::server(asio::any_io_executor ex, const router& routes, server_options opts)
    : impl_(std::make_shared<impl>(std::move(ex), routes, std::move(opts))) {}

server::~server() {
    // Normally run() has returned. If not, abort what is left; its frames hold impl_ alive.
    impl_->stop(true);
}

void server::listen(const std::string& host_port) {
    auto fail = [&host_port](const std::string& why) {
        return std::runtime_error("cannot listen on '" + host_port + "': " + why);
    };
    auto colon = host_port.rfind(':');
    if (colon == std::string::npos || colon + 1 == host_port.size()) {
        throw fail("expected host:port");
    }
    std::string host = host_port.substr(0, colon);
    std::string port = host_port.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    if (host.empty() || port.find_first_not_of("0123456789") != std::string::npos ||
        port.size() > 5 || std::stoul(port) > 65535) {
        throw fail("expected host:port");
    }

    // Numeric addresses, or "localhost"; no name resolution (hermetic, never blocks on DNS).
    if (host == "localhost") {
        host = "127.0.0.1";
    }
    error_code ec;
    auto address = asio::ip::make_address(host, ec);
    if (ec) {
        throw fail("not a numeric IP address");
    }
    tcp::endpoint endpoint(address, static_cast<unsigned short>(std::stoul(port)));

    auto& acceptor = impl_->acceptor;
    if (acceptor.is_open()) {
        throw fail("already listening");
    }
    if (acceptor.open(endpoint.protocol(), ec); ec) {
        throw fail(ec.message());
    }
    if (acceptor.set_option(asio::socket_base::reuse_address(true), ec); ec) {
        throw fail(ec.message());
    }
    if (acceptor.bind(endpoint, ec); ec) {
        error_code ignored;
        acceptor.close(ignored);
        throw fail(ec.message());
    }
    if (acceptor.listen(asio::socket_base::max_listen_connections, ec); ec) {
        error_code ignored;
        acceptor.close(ignored);
        throw fail(ec.message());
    }
}

unsigned short server::port() const {
    error_code ec;
    auto ep = impl_->acceptor.local_endpoint(ec);
    return ec ? 0 : ep.port();
}

asio::awaitable<void> server::run() { return impl::run(impl_); }

void server::stop() { impl_->stop(false); }

}  // namespace changefeed::http
