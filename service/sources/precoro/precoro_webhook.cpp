#include "sources/precoro/precoro_webhook.hpp"

#include "core/log.hpp"
#include "core/secret.hpp"
#include "db/pg_pool.hpp"
#include "sources/precoro/precoro_mapping.hpp"
#include "sources/precoro/precoro_store.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <pqxx/pqxx>

#include <memory>
#include <mutex>
#include <set>
#include <tuple>
#include <vector>

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

/// Deliveries that arrive while the database is busy: one transaction and one statement for all.
/// The first (the leader) submits the transaction; when it starts, on a database thread, it
/// closes the group and queues every delivery that joined; the others wait for `finished`.
struct delivery_group {
    explicit delivery_group(const asio::any_io_executor& ex)
        : finished(ex, asio::steady_timer::time_point::max()) {}

    std::mutex mutex;
    std::vector<delivery> deliveries;  ///< guarded by mutex
    bool closed = false;               ///< guarded by mutex: no delivery joins any more
    std::vector<bool> fresh;           ///< one per delivery once `done` without failure
    std::string failure;
    bool done = false;
    asio::steady_timer finished;
};

/// The group deliveries join (the service's one I/O thread reads and writes it).
struct intake {
    std::shared_ptr<delivery_group> open;
};

// Joins the open group, or opens one; returns it with the delivery's index and whether it leads.
std::tuple<std::shared_ptr<delivery_group>, std::size_t, bool> join(intake& in, const delivery& d,
                                                                    const asio::any_io_executor& ex) {
    if (auto g = in.open) {
        std::lock_guard lock(g->mutex);
        if (!g->closed) {
            g->deliveries.push_back(d);
            return {g, g->deliveries.size() - 1, false};
        }
    }
    auto g = std::make_shared<delivery_group>(ex);
    g->deliveries.push_back(d);
    in.open = g;
    return {g, 0, true};
}

// The leader's part: one transaction that stores the whole group, then the others' wake-up. The
// queue needs no place in the outbox's order, so groups commit side by side on the pool's
// connections and share WAL flushes.
asio::awaitable<void> store_group(webhook_context& ctx, intake& in, std::shared_ptr<delivery_group> g,
                                  std::string source) {
    auto job = [g, source](pqxx::connection_base& conn) {
        std::vector<delivery> rows;
        {
            std::lock_guard lock(g->mutex);
            g->closed = true;
            rows = g->deliveries;
        }
        pqxx::work tx(conn);
        auto fresh = enqueue(tx, source, rows);
        tx.commit();
        return fresh;
    };
    try {
        auto op = ctx.pool.run(std::move(job));
        g->fresh = co_await std::move(op);
    } catch (const std::exception& e) {
        g->failure = e.what();
    }
    {
        std::lock_guard lock(g->mutex);
        g->closed = true;  // also when the transaction failed before it started
    }
    if (g->failure.empty() && g->fresh.size() != g->deliveries.size()) {
        g->failure = "the queue statement did not run";
    }
    if (in.open == g) {
        in.open.reset();
    }
    g->done = true;
    g->finished.cancel();
}

http::response status_reply(std::string_view status, const delivery& d) {
    json::object o{{"status", status}, {"type", d.type}, {"id", d.id}};
    return http::json_response(json::serialize(o));
}

asio::awaitable<http::response> handle(webhook_context& ctx,
                                       std::shared_ptr<const webhook_settings> settings,
                                       std::shared_ptr<intake> in, const http::request& req) {
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
    auto ex = co_await asio::this_coro::executor;
    auto [group, index, leader] = join(*in, d, ex);
    if (leader) {
        auto op = store_group(ctx, *in, group, settings->source);
        co_await std::move(op);
    }
    while (!group->done) {
        (void)co_await group->finished.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    const auto& failure = group->failure;
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
    std::string_view result = group->fresh[index] ? "accepted" : "duplicate";
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
    auto in = std::make_shared<intake>();
    return [&ctx, shared, in](const http::request& req) -> asio::awaitable<http::response> {
        return handle(ctx, shared, in, req);
    };
}

}  // namespace changefeed::sources::precoro
