// GET /changes as Server-Sent Events (SPEC section 5): the framing, and the stream loop that
// pages through the feed, waits at the head and sends comment heartbeats.
#pragma once

#include "db/feed_repository.hpp"
#include "feed/feed_reader.hpp"
#include "http/message.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace changefeed::feed {

/// Largest chunk a stream formats before writing it: what one stream holds at most, beside the
/// database page it is sending.
inline constexpr std::size_t k_sse_chunk_bytes = 256 * 1024;

/// Appends one event: "id: <seq>\nevent: change\ndata: <json>\n\n". `json` is on one line.
void append_sse_event(std::string& out, std::int64_t seq, std::string_view json);

/// The heartbeat comment.
inline constexpr std::string_view k_sse_heartbeat = ": keep-alive\n\n";

/// Appends every event of `page` as SSE frames.
void append_sse_page(std::string& out, const page_view& page);

/// Streams the feed after `q.since` to `out` until the client goes away, the stream is cancelled
/// (server shutdown) or `reader` stops. `first` is the already formatted first page, read when
/// the reader's generation was `first_generation`; `first_has_more` tells whether more followed
/// it. A database read that answers since_expired or fails ends the stream (the client
/// reconnects and gets the JSON error). Throws what a write throws (client gone, write timeout).
boost::asio::awaitable<void> stream_changes(feed_reader& reader,
                                            db::feed_query q,
                                            std::string first,
                                            bool first_has_more,
                                            std::uint64_t first_generation,
                                            std::chrono::milliseconds heartbeat,
                                            http::stream_writer& out);

}  // namespace changefeed::feed
