#include "sources/precoro/precoro_webhook.hpp"

#include "core/log.hpp"
#include "core/secret.hpp"
#include "db/outbox_writer.hpp"
#include "sources/precoro/precoro_mapping.hpp"
#include "sources/precoro/precoro_store.hpp"

#include <boost/json/serialize.hpp>

#include <memory>
#include <set>

namespace changefeed::sources::precoro {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

/// What a sender that got a 503 should wait before trying again.
constexpr int k_retry_after_seconds = 10;

struct webhook_settings {
    std::string source;
    std::string secret;
    std::set<std::string, std::less<>> resources;  ///< the resources the source emits
};

http::response status_reply(std::string_view status, const delivery& d) {
    json::object o{{"status", status}, {"type", d.type}, {"id", d.id}};
    return http::json_response(json::serialize(o));
}

asio::awaitable<http::response> handle(webhook_context& ctx,
                                       std::shared_ptr<const webhook_settings> settings,
                                       const http::request& req) {
    // The token is the only credential; it never reaches a log or an answer.
    auto token = req.query_param("token");
    if (!token || !core::constant_time_equals(*token, settings->secret)) {
        log::info("webhook refused: missing or wrong token", {{"source", settings->source}});
        co_return http::error_response(401, "unauthorized", "missing or wrong webhook token");
    }
    auto parsed = parse_delivery(req.body);
    if (auto* bad = std::get_if<std::string>(&parsed)) {
        log::info("webhook refused: invalid body", {{"source", settings->source}, {"problem", *bad}});
        co_return http::error_response(400, "invalid_delivery", *bad);
    }
    auto d = std::get<delivery>(std::move(parsed));
    const auto* type = type_of(d.type);
    if (settings->resources.count(type->resource) == 0) {
        log::info("webhook ignored: the source does not emit this resource",
                  {{"source", settings->source}, {"type", d.type}, {"id", d.id}});
        co_return status_reply("ignored", d);
    }

    // Committed before the answer: a crash after the 200 loses nothing.
    auto fresh = std::make_shared<bool>(false);
    db::append_request store;
    store.extra = [fresh, source = settings->source, d](pqxx::dbtransaction& tx) {
        *fresh = enqueue(tx, source, d);
    };
    std::string failure;
    try {
        auto op = ctx.writer.append(std::move(store));
        co_await std::move(op);
    } catch (const std::exception& e) {
        failure = e.what();
    }
    if (!failure.empty()) {
        log::warn("webhook not stored: the database is unavailable",
                  {{"source", settings->source}, {"type", d.type}, {"id", d.id}, {"error", failure}});
        auto res = http::error_response(503, "unavailable",
                                        "the delivery could not be stored; retry later");
        res.headers.emplace_back("Retry-After", std::to_string(k_retry_after_seconds));
        co_return res;
    }
    if (ctx.wake) {
        ctx.wake();
    }
    std::string_view result = *fresh ? "accepted" : "duplicate";
    log::info("webhook stored", {{"source", settings->source},
                                 {"type", d.type},
                                 {"id", d.id},
                                 {"action", d.action},
                                 {"result", result}});
    co_return status_reply(result, d);
}

}  // namespace

http::handler make_webhook_handler(webhook_context& ctx) {
    auto settings = std::make_shared<webhook_settings>();
    settings->source = ctx.config.name;
    settings->secret = ctx.config.option_string("webhook_secret");
    settings->resources.insert(ctx.config.resources.begin(), ctx.config.resources.end());
    std::shared_ptr<const webhook_settings> shared = settings;
    return [&ctx, shared](const http::request& req) -> asio::awaitable<http::response> {
        return handle(ctx, shared, req);
    };
}

}  // namespace changefeed::sources::precoro
