#include "feed/changes_handler.hpp"

#include "core/secret.hpp"
#include "db/feed_repository.hpp"
#include "db/pg_pool.hpp"
#include "feed/changes_params.hpp"
#include "feed/feed_notifier.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace changefeed::feed {

std::optional<http::response> check_feed_token(const http::request& req,
                                               const std::vector<std::string>& tokens) {
    if (tokens.empty()) {
        return std::nullopt;
    }
    auto header = req.header("authorization");
    constexpr std::string_view prefix = "Bearer ";
    if (header && header->size() > prefix.size() && header->substr(0, prefix.size()) == prefix) {
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

changes_handler::changes_handler(db::pg_pool& pool, feed_notifier& notifier, feed_settings settings)
    : pool_(pool), notifier_(notifier), settings_(std::move(settings)) {}

boost::asio::awaitable<http::response> changes_handler::operator()(const http::request& req) const {
    if (auto denied = check_feed_token(req, settings_.tokens)) {
        co_return *denied;
    }
    auto parsed = parse_changes_params(req.query, settings_.max_limit);
    if (auto* err = std::get_if<param_error>(&parsed)) {
        co_return http::error_response(400, "invalid_parameter", err->message);
    }
    auto params = std::get<changes_params>(std::move(parsed));
    db::feed_query query;
    query.limit = params.limit;
    query.filter = params.filter;
    if (params.since_now) {
        auto head_job = [](pqxx::connection_base& c) { return db::read_head_seq(c); };
        query.since = co_await pool_.run(std::move(head_job));
    } else {
        query.since = *params.since;
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(params.wait_seconds);
    for (;;) {
        auto generation = notifier_.generation();
        auto read_job = [query](pqxx::connection_base& c) { return db::read_feed(c, query); };
        auto result = co_await pool_.run(std::move(read_job));
        if (auto* expired = std::get_if<db::since_expired>(&result)) {
            boost::json::object inner{
                {"code", "since_expired"},
                {"message", "events after 'since' were deleted by retention; restart from "
                            "oldest_available - 1"},
                {"oldest_available", expired->oldest_available}};
            boost::json::object outer{{"error", std::move(inner)}};
            co_return http::json_response(boost::json::serialize(outer), 410);
        }
        auto& page = std::get<db::feed_page>(result);
        if (!page.events.empty() || std::chrono::steady_clock::now() >= deadline) {
            std::string body = "{\"changes\":[";
            for (std::size_t i = 0; i < page.events.size(); ++i) {
                if (i > 0) {
                    body.push_back(',');
                }
                body += page.events[i];
            }
            body += "],\"next_since\":" + std::to_string(page.next_since) +
                    ",\"has_more\":" + (page.has_more ? "true" : "false") + "}";
            co_return http::json_response(std::move(body));
        }
        if (notifier_.generation() == generation) {
            co_await notifier_.wait_until(deadline);
        }
    }
}

}  // namespace changefeed::feed
