#include "feed/changes_handler.hpp"

#include "core/secret.hpp"
#include "db/feed_repository.hpp"
#include "db/pg_pool.hpp"
#include "feed/changes_params.hpp"
#include "feed/feed_reader.hpp"
#include "feed/page_memo.hpp"
#include "feed/sse_stream.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <charconv>

namespace changefeed::feed {

namespace asio = boost::asio;

namespace {

http::response expired_response(const db::since_expired& expired) {
    boost::json::object inner{
        {"code", "since_expired"},
        {"message", "events after 'since' were deleted by retention; restart from "
                    "oldest_available - 1"},
        {"oldest_available", expired.oldest_available}};
    boost::json::object outer{{"error", std::move(inner)}};
    return http::json_response(boost::json::serialize(outer), 410);
}

// {"changes":[...],"next_since":N,"has_more":b} in one allocation.
std::string page_body(const page_view& page) {
    constexpr std::string_view head = "{\"changes\":[";
    constexpr std::string_view tail = "],\"next_since\":";
    std::size_t size = head.size() + tail.size() + 48 + page.events.size();
    for (const auto& e : page.events) {
        size += e.json->size();
    }
    std::string body;
    body.reserve(size);
    body += head;
    for (std::size_t i = 0; i < page.events.size(); ++i) {
        if (i > 0) {
            body.push_back(',');
        }
        body += *page.events[i].json;
    }
    body += tail;
    char digits[24];
    body.append(digits, std::to_chars(std::begin(digits), std::end(digits), page.next_since).ptr);
    body += page.has_more ? ",\"has_more\":true}" : ",\"has_more\":false}";
    return body;
}

// Where a stream or page starts: Last-Event-ID (streams), the consumer's offset, the head, or
// `since`. An error response when it cannot be resolved.
asio::awaitable<std::variant<std::int64_t, http::response>> resolve_start(
    db::pg_pool& pool, const changes_params& params, std::optional<std::int64_t> last_event_id) {
    if (last_event_id) {
        co_return *last_event_id;
    }
    if (params.consumer) {
        auto name = *params.consumer;
        auto job = [name](pqxx::connection_base& c) { return db::read_consumer(c, name); };
        auto offset = co_await pool.run(std::move(job));
        if (!offset) {
            co_return http::error_response(404, "unknown_consumer",
                                           "no offset is stored for consumer '" + name + "'");
        }
        co_return offset->seq;
    }
    if (params.since_now) {
        auto job = [](pqxx::connection_base& c) { return db::read_head_seq(c); };
        auto head = co_await pool.run(std::move(job));
        co_return head;
    }
    co_return *params.since;
}

// The first page, then a streaming response that continues from it.
asio::awaitable<http::response> start_stream(feed_reader& reader,
                                             db::feed_query q,
                                             std::chrono::milliseconds heartbeat) {
    auto generation = reader.generation();
    std::string first;
    bool has_more = false;
    if (auto hit = reader.try_cache(q, k_sse_chunk_bytes)) {
        append_sse_page(first, *hit);
        q.since = hit->next_since;
        has_more = hit->has_more;
    } else {
        auto op = reader.read_db(q);
        auto result = co_await std::move(op);
        if (auto* expired = std::get_if<db::since_expired>(&result)) {
            co_return expired_response(*expired);
        }
        auto& page = std::get<page_view>(result);
        append_sse_page(first, page);
        q.since = page.next_since;
        has_more = page.has_more;
    }
    http::response res;
    res.content_type = "text/event-stream";
    res.headers.emplace_back("Cache-Control", "no-cache");
    res.headers.emplace_back("X-Accel-Buffering", "no");
    // The stream coroutine takes everything by value: its frame owns the state.
    res.stream = [&reader, q, first = std::move(first), has_more, generation,
                  heartbeat](http::stream_writer& out) mutable {
        return stream_changes(reader, std::move(q), std::move(first), has_more, generation,
                              heartbeat, out);
    };
    co_return res;
}

}  // namespace

std::optional<http::response> check_feed_token(const http::request& req,
                                               const std::vector<std::string>& tokens) {
    if (tokens.empty()) {
        return std::nullopt;
    }
    auto header = req.header("authorization");
    // The auth scheme is case-insensitive (RFC 9110 section 11.1): "bearer" works as "Bearer".
    constexpr std::string_view prefix = "Bearer ";
    if (header && header->size() > prefix.size() &&
        http::iequals(header->substr(0, prefix.size()), prefix)) {
        auto presented = header->substr(prefix.size());
        bool ok = false;
        // Compare against every token, without stopping early.
        for (const auto& t : tokens) {
            ok = core::constant_time_equals(presented, t) || ok;
        }
        if (ok) {
            return std::nullopt;
        }
    }
    auto r = http::error_response(401, "unauthorized",
                                  "a valid 'Authorization: Bearer <token>' header is required");
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
}

bool wants_event_stream(const http::request& req) {
    auto accept = req.header("accept");
    if (!accept) {
        return false;
    }
    return http::ascii_lower(*accept).find("text/event-stream") != std::string::npos;
}

changes_handler::changes_handler(db::pg_pool& pool,
                                 feed_reader& reader,
                                 page_memo& memo,
                                 feed_settings settings)
    : pool_(pool), reader_(reader), memo_(memo), settings_(std::move(settings)) {}

asio::awaitable<http::response> changes_handler::operator()(const http::request& req) const {
    if (auto denied = check_feed_token(req, settings_.tokens)) {
        co_return *denied;
    }
    auto parsed = parse_changes_params(req.query, settings_.max_limit);
    if (auto* err = std::get_if<param_error>(&parsed)) {
        co_return http::error_response(400, "invalid_parameter", err->message);
    }
    auto params = std::get<changes_params>(std::move(parsed));
    bool stream = wants_event_stream(req);
    std::optional<std::int64_t> last_event_id;
    if (stream) {
        auto header = parse_last_event_id(req.header("last-event-id").value_or(""));
        if (auto* err = std::get_if<param_error>(&header)) {
            co_return http::error_response(400, "invalid_parameter", err->message);
        }
        last_event_id = std::get<std::optional<std::int64_t>>(header);
    }
    auto start_op = resolve_start(pool_, params, last_event_id);
    auto start = co_await std::move(start_op);
    if (auto* error = std::get_if<http::response>(&start)) {
        co_return std::move(*error);
    }
    db::feed_query query;
    query.since = std::get<std::int64_t>(start);
    query.limit = params.limit;
    query.filter = std::move(params.filter);
    if (stream) {
        auto stream_op = start_stream(reader_, std::move(query), settings_.heartbeat);
        co_return co_await std::move(stream_op);
    }

    // The JSON page, held open up to `wait` seconds while nothing matches (long poll).
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(params.wait_seconds);
    auto memo_key = page_memo::key(query);
    for (;;) {
        auto generation = reader_.generation();
        // A page served from the cache is shared by identical requests until the cache changes.
        auto version = reader_.current_answer_version();
        http::response res;
        if (auto body = memo_.find(memo_key, version)) {
            res.shared_body = std::move(body);
            co_return res;
        }
        std::variant<page_view, db::since_expired> result;
        bool from_cache = false;
        if (auto hit = reader_.try_cache(query)) {
            result = std::move(*hit);
            from_cache = true;
        } else {
            auto op = reader_.read_db(query);
            result = co_await std::move(op);
        }
        if (auto* expired = std::get_if<db::since_expired>(&result)) {
            co_return expired_response(*expired);
        }
        auto& page = std::get<page_view>(result);
        if (!page.events.empty() || std::chrono::steady_clock::now() >= deadline ||
            reader_.stopping()) {
            auto body = std::make_shared<const std::string>(page_body(page));
            if (from_cache && !page.events.empty()) {
                memo_.store(std::move(memo_key), version, body);
            }
            res.shared_body = std::move(body);
            co_return res;
        }
        if (reader_.generation() == generation) {
            co_await reader_.wait_until(deadline);
        }
    }
}

}  // namespace changefeed::feed
