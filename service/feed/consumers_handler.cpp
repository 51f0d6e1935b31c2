#include "feed/consumers_handler.hpp"

#include "db/pg_pool.hpp"
#include "feed/changes_handler.hpp"
#include "feed/changes_params.hpp"

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace changefeed::feed {

namespace asio = boost::asio;

namespace {

// The `{name}` path parameter when valid, else nullopt.
std::optional<std::string> consumer_name(const http::request& req) {
    auto it = req.path_params.find("name");
    if (it == req.path_params.end() || !valid_consumer_name(it->second)) {
        return std::nullopt;
    }
    return it->second;
}

http::response bad_name() {
    return http::error_response(400, "invalid_parameter",
                                "a consumer name is 1 to 40 characters from [a-z0-9_-]");
}

http::response conflict(std::string_view code, std::string message, std::string_view field,
                        std::int64_t value) {
    boost::json::object inner{{"code", code}, {"message", message}, {field, value}};
    boost::json::object outer{{"error", std::move(inner)}};
    return http::json_response(boost::json::serialize(outer), 409);
}

}  // namespace

std::variant<std::int64_t, offset_body_error> parse_offset_body(std::string_view body) {
    boost::system::error_code ec;
    auto value = boost::json::parse(body, ec);
    if (ec || !value.is_object()) {
        return offset_body_error{"the body must be a JSON object {\"seq\": <non-negative integer>}"};
    }
    const auto* seq = value.as_object().if_contains("seq");
    if (seq == nullptr) {
        return offset_body_error{"the body has no 'seq'"};
    }
    if (seq->is_int64() && seq->as_int64() >= 0) {
        return seq->as_int64();
    }
    if (seq->is_uint64() && seq->as_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
        return static_cast<std::int64_t>(seq->as_uint64());
    }
    return offset_body_error{"'seq' must be a non-negative integer"};
}

std::string consumer_json(const db::consumer_offset& offset) {
    boost::json::object o{{"name", offset.name}, {"seq", offset.seq},
                          {"updated_at", offset.updated_at}};
    return boost::json::serialize(o);
}

consumers_handler::consumers_handler(db::pg_pool& pool, std::vector<std::string> tokens)
    : pool_(pool), tokens_(std::move(tokens)) {}

asio::awaitable<http::response> consumers_handler::get(const http::request& req) const {
    if (auto denied = check_feed_token(req, tokens_)) {
        co_return *denied;
    }
    auto name = consumer_name(req);
    if (!name) {
        co_return bad_name();
    }
    auto job = [n = *name](pqxx::connection_base& c) { return db::read_consumer(c, n); };
    auto offset = co_await pool_.run(std::move(job));
    if (!offset) {
        co_return http::error_response(404, "unknown_consumer",
                                       "no offset is stored for consumer '" + *name + "'");
    }
    co_return http::json_response(consumer_json(*offset));
}

asio::awaitable<http::response> consumers_handler::put_offset(const http::request& req) const {
    if (auto denied = check_feed_token(req, tokens_)) {
        co_return *denied;
    }
    auto name = consumer_name(req);
    if (!name) {
        co_return bad_name();
    }
    bool force = false;
    if (auto f = req.query_param("force")) {
        if (*f == "true") {
            force = true;
        } else if (*f != "false") {
            co_return http::error_response(400, "invalid_parameter",
                                           "parameter 'force' must be true or false");
        }
    }
    auto body = parse_offset_body(req.body);
    if (auto* err = std::get_if<offset_body_error>(&body)) {
        co_return http::error_response(400, "invalid_body", err->message);
    }
    auto seq = std::get<std::int64_t>(body);
    auto job = [n = *name, seq, force](pqxx::connection_base& c) {
        return db::store_consumer_offset(c, n, seq, force);
    };
    auto result = co_await pool_.run(std::move(job));
    if (auto* back = std::get_if<db::offset_backwards>(&result)) {
        co_return conflict("offset_backwards",
                           "the stored offset is " + std::to_string(back->current) +
                               "; moving it backwards needs ?force=true",
                           "current_seq", back->current);
    }
    if (auto* beyond = std::get_if<db::offset_beyond_head>(&result)) {
        co_return conflict("offset_beyond_head",
                           "seq " + std::to_string(seq) + " is beyond the head of the feed (" +
                               std::to_string(beyond->head) + ")",
                           "head", beyond->head);
    }
    co_return http::json_response(consumer_json(std::get<db::offset_stored>(result).offset));
}

}  // namespace changefeed::feed
