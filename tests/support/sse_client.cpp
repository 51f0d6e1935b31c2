#include "support/sse_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <stdexcept>

namespace changefeed::test {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

struct sse_client::impl {
    asio::io_context ioc;
    tcp::socket socket{ioc};
    std::string raw;      ///< bytes received and not yet decoded
    std::string decoded;  ///< body bytes not yet parsed into items
    unsigned status = 0;
    std::map<std::string, std::string> headers;
    std::string body;
    bool chunked = false;
    bool ended = false;  ///< no more body bytes will come

    // Reads more bytes into `raw` before `deadline`; false at EOF. Throws on timeout or error.
    bool read_more(clock_type::time_point deadline) {
        std::array<char, 16384> buffer{};
        bool done = false;
        boost::system::error_code ec;
        std::size_t n = 0;
        socket.async_read_some(asio::buffer(buffer), [&](boost::system::error_code e, std::size_t k) {
            ec = e;
            n = k;
            done = true;
        });
        ioc.restart();
        ioc.run_until(deadline);
        if (!done) {
            socket.cancel();
            ioc.restart();
            ioc.run();
            throw std::runtime_error("sse_client: timed out waiting for data");
        }
        if (ec == asio::error::eof || ec == asio::error::connection_reset) {
            return false;
        }
        if (ec) {
            throw std::runtime_error("sse_client: read failed: " + ec.message());
        }
        raw.append(buffer.data(), n);
        return true;
    }

    // Moves complete chunks from `raw` to `decoded`; sets `ended` at the final chunk.
    void decode_chunks() {
        while (!ended) {
            auto line_end = raw.find("\r\n");
            if (line_end == std::string::npos) {
                return;
            }
            std::size_t size = std::stoul(raw.substr(0, line_end), nullptr, 16);
            if (size == 0) {
                ended = true;
                raw.clear();
                return;
            }
            if (raw.size() < line_end + 2 + size + 2) {
                return;
            }
            decoded.append(raw, line_end + 2, size);
            raw.erase(0, line_end + 2 + size + 2);
        }
    }

    // One complete item from `decoded`, if there is one.
    std::optional<item> parse_item() {
        auto end = decoded.find("\n\n");
        if (end == std::string::npos) {
            return std::nullopt;
        }
        std::string block = decoded.substr(0, end);
        decoded.erase(0, end + 2);
        item it;
        std::size_t pos = 0;
        while (pos <= block.size()) {
            auto nl = block.find('\n', pos);
            std::string line = block.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
            pos = nl == std::string::npos ? block.size() + 1 : nl + 1;
            auto colon = line.find(':');
            std::string field = line.substr(0, colon);
            std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
            if (!value.empty() && value.front() == ' ') {
                value.erase(0, 1);
            }
            if (field.empty()) {
                it.is_comment = true;
                it.comment = value;
            } else if (field == "id") {
                it.id = value;
            } else if (field == "event") {
                it.event = value;
            } else if (field == "data") {
                it.data += it.data.empty() ? value : "\n" + value;
            }
        }
        return it;
    }
};

sse_client::sse_client(unsigned short port, const std::string& target,
                       const std::map<std::string, std::string>& headers,
                       std::chrono::milliseconds timeout)
    : impl_(std::make_unique<impl>()) {
    auto deadline = clock_type::now() + timeout;
    impl_->socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    std::string request = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    if (headers.find("Accept") == headers.end()) {
        request += "Accept: text/event-stream\r\n";
    }
    for (const auto& [k, v] : headers) {
        request += k + ": " + v + "\r\n";
    }
    request += "\r\n";
    asio::write(impl_->socket, asio::buffer(request));

    // The head.
    std::size_t head_end = 0;
    while ((head_end = impl_->raw.find("\r\n\r\n")) == std::string::npos) {
        if (!impl_->read_more(deadline)) {
            throw std::runtime_error("sse_client: connection closed before the response head");
        }
    }
    std::string head = impl_->raw.substr(0, head_end);
    impl_->raw.erase(0, head_end + 4);
    auto first_space = head.find(' ');
    impl_->status = static_cast<unsigned>(std::stoul(head.substr(first_space + 1, 3)));
    std::size_t pos = head.find("\r\n");
    while (pos != std::string::npos && pos + 2 < head.size()) {
        auto next = head.find("\r\n", pos + 2);
        std::string line = head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
        auto colon = line.find(':');
        if (colon != std::string::npos) {
            std::string name = line.substr(0, colon);
            std::transform(name.begin(), name.end(), name.begin(),
                           [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
            std::string value = line.substr(colon + 1);
            value.erase(0, value.find_first_not_of(' '));
            impl_->headers[name] = value;
        }
        pos = next;
    }
    impl_->chunked = impl_->headers["transfer-encoding"] == "chunked";

    // Not a stream: read the whole body now.
    if (impl_->status != 200 || !impl_->chunked) {
        auto length = impl_->headers.count("content-length") != 0
                          ? std::stoul(impl_->headers["content-length"])
                          : std::string::npos;
        while (impl_->raw.size() < length && impl_->read_more(deadline)) {
        }
        impl_->body = impl_->raw.substr(0, length);
        impl_->raw.clear();
        impl_->ended = true;
    }
}

sse_client::~sse_client() = default;

unsigned sse_client::status() const { return impl_->status; }

const std::map<std::string, std::string>& sse_client::headers() const { return impl_->headers; }

const std::string& sse_client::body() const { return impl_->body; }

std::optional<sse_client::item> sse_client::next(std::chrono::milliseconds timeout) {
    auto deadline = clock_type::now() + timeout;
    for (;;) {
        impl_->decode_chunks();
        if (auto it = impl_->parse_item()) {
            return it;
        }
        if (impl_->ended || !impl_->chunked) {
            return std::nullopt;
        }
        if (!impl_->read_more(deadline)) {
            impl_->ended = true;
        }
    }
}

std::optional<sse_client::item> sse_client::next_event(std::chrono::milliseconds timeout) {
    auto deadline = clock_type::now() + timeout;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
        auto it = next(std::max(left, std::chrono::milliseconds(1)));
        if (!it || !it->is_comment) {
            return it;
        }
    }
}

}  // namespace changefeed::test
