#include "feed/sse_stream.hpp"

#include "core/log.hpp"

#include <boost/asio/this_coro.hpp>

#include <charconv>

namespace changefeed::feed {

namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;

void append_sse_event(std::string& out, std::int64_t seq, std::string_view json) {
    char digits[24];
    auto end = std::to_chars(std::begin(digits), std::end(digits), seq).ptr;
    out += "id: ";
    out.append(digits, end);
    out += "\nevent: change\ndata: ";
    out += json;
    out += "\n\n";
}

void append_sse_page(std::string& out, const page_view& page) {
    std::size_t size = out.size();
    for (const auto& e : page.events) {
        size += e.json->size() + 48;
    }
    out.reserve(size);
    for (const auto& e : page.events) {
        append_sse_event(out, e.seq, *e.json);
    }
}

asio::awaitable<void> stream_changes(feed_reader& reader,
                                     db::feed_query q,
                                     std::string first,
                                     bool first_has_more,
                                     std::uint64_t first_generation,
                                     std::chrono::milliseconds heartbeat,
                                     http::stream_writer& out) {
    if (!first.empty()) {
        co_await out.write(std::move(first));
    }
    auto next_beat = clock_type::now() + heartbeat;
    bool has_more = first_has_more;
    // The reader's generation before the last read: a change since means newer rows to read.
    auto seen = first_generation;
    for (;;) {
        auto cs = co_await asio::this_coro::cancellation_state;
        if (cs.cancelled() != asio::cancellation_type::none || reader.stopping()) {
            co_return;
        }
        if (!has_more && reader.generation() == seen) {
            // At the head: wait for the cache to learn newer rows, or for the next heartbeat.
            if (clock_type::now() >= next_beat) {
                std::string beat(k_sse_heartbeat);
                co_await out.write(std::move(beat));
                next_beat = clock_type::now() + heartbeat;
            } else {
                co_await reader.wait_until(next_beat);
            }
            continue;
        }

        // Read and send the next page; format it before any suspension (it may point into the
        // cache).
        seen = reader.generation();
        std::string chunk;
        if (auto hit = reader.try_cache(q, k_sse_chunk_bytes)) {
            append_sse_page(chunk, *hit);
            q.since = hit->next_since;
            has_more = hit->has_more;
        } else {
            std::variant<page_view, db::since_expired> result;
            bool failed = false;
            try {
                auto op = reader.read_db(q);
                result = co_await std::move(op);
            } catch (const std::exception& e) {
                log::warn("event stream ended: the feed could not be read", {{"error", e.what()}});
                failed = true;
            }
            if (failed || std::holds_alternative<db::since_expired>(result)) {
                co_return;
            }
            auto& page = std::get<page_view>(result);
            append_sse_page(chunk, page);
            q.since = page.next_since;
            has_more = page.has_more;
        }
        if (!chunk.empty()) {
            co_await out.write(std::move(chunk));
            next_beat = clock_type::now() + heartbeat;
        }
    }
}

}  // namespace changefeed::feed
