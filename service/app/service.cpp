#include "app/service.hpp"

#include "app/resync_request.hpp"
#include "app/service_metrics.hpp"

#include "core/log.hpp"
#include "core/time.hpp"
#include "db/feed_repository.hpp"
#include "db/migrations.hpp"
#include "db/outbox_writer.hpp"
#include "db/pg_pool.hpp"
#include "db/resync_repository.hpp"
#include "db/source_lease.hpp"
#include "feed/activity.hpp"
#include "feed/changes_handler.hpp"
#include "feed/feed_api.hpp"
#include "feed/feed_notifier.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "sources/poller.hpp"
#include "sources/registry.hpp"
#include "sources/source_status.hpp"
#include "ui/status_page.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <map>
#include <string_view>

namespace changefeed::app {

namespace asio = boost::asio;

namespace {

constexpr std::string_view k_webhooks_prefix = "/webhooks/";

// A webhook delivery's outcome as changefeed_webhook_deliveries_total counts it (SPEC section 5).
// A 200 says "accepted", "duplicate" or "ignored" (a type the source does not emit: taken and
// dropped, counted as accepted).
std::string delivery_result(const http::response& res) {
    if (res.status == 401 || res.status == 403) {
        return "unauthorized";
    }
    if (res.status == 413) {
        return "too_large";
    }
    if (res.status >= 500) {
        return "unavailable";
    }
    if (res.status >= 400) {
        return "invalid";
    }
    boost::system::error_code ec;
    auto body = boost::json::parse(res.body, ec);
    const auto* o = ec ? nullptr : body.if_object();
    const auto* status = o != nullptr ? o->if_contains("status") : nullptr;
    return status != nullptr && *status == "duplicate" ? "duplicate" : "accepted";
}

// The source name of a `/webhooks/<name>` path; empty for others.
std::string_view webhook_path_source(std::string_view path) {
    if (path.substr(0, k_webhooks_prefix.size()) != k_webhooks_prefix) {
        return {};
    }
    auto name = path.substr(k_webhooks_prefix.size());
    return name.find('/') == std::string_view::npos ? name : std::string_view{};
}

}  // namespace

struct service::impl {
    impl(asio::io_context& ioc, app_config cfg)
        : ioc(ioc), config(std::move(cfg)), pool(config.database_url, config.database_pool_size),
          writer(ioc.get_executor(), config.database_url), notifier(ioc.get_executor()),
          feed(pool, notifier,
               {config.feed.tokens, config.feed.max_limit, std::chrono::seconds(15),
                config.feed.retention}),
          retention_timer(ioc), pollers_done(ioc), server(ioc.get_executor(), routes, server_options()) {
        metrics.watch_head([this] { return static_cast<double>(notifier.head()); });
    }

    asio::io_context& ioc;
    app_config config;
    db::pg_pool pool;
    db::outbox_writer writer;
    feed::feed_notifier notifier;
    feed::feed_api feed;
    feed::activity activity;  ///< per-minute event counts for the status page
    asio::steady_timer retention_timer;
    std::unique_ptr<db::source_lease> lease;
    std::vector<std::unique_ptr<sources::poller>> pollers;
    asio::steady_timer pollers_done;  ///< cancelled when the last poller has returned
    std::size_t pollers_running = 0;
    /// POST /webhooks/{source}: the handler of each enabled source whose kind takes webhooks.
    std::vector<std::unique_ptr<sources::webhook_context>> webhook_contexts;
    std::map<std::string, http::handler, std::less<>> webhooks;
    service_metrics metrics;
    http::router routes;
    http::server server;
    bool stopping = false;

    http::server_options server_options() {
        http::server_options o;
        o.on_complete = [this](const http::request& req, const http::response& res,
                               std::chrono::steady_clock::duration took) {
            auto seconds = std::chrono::duration<double>(took).count();
            // A request answered without its handler's response still counts under its route.
            auto route = res.route.empty() ? routes.route_of(req.method, req.path) : res.route;
            metrics.http_request(route, req.method, res.status, seconds);
            count_refused_webhook(req, res);
            // The path only: query strings can carry secrets (webhook tokens).
            log::info("http request",
                      {{"method", req.method},
                       {"path", req.path},
                       {"status", res.status},
                       {"ms", seconds * 1000.0}});
        };
        o.answer_for = [](const std::exception& e) -> std::optional<http::response> {
            if (!db::is_unavailable(e)) {
                return std::nullopt;
            }
            auto res = http::error_response(503, "database_unavailable",
                                            "the database is unreachable; try again shortly");
            res.headers.emplace_back("Retry-After", "5");
            return res;
        };
        return o;
    }

    // A webhook body over the server's limit is refused before any route sees it: counted here
    // (the server parses the path of a refused request too).
    void count_refused_webhook(const http::request& req, const http::response& res) {
        if (res.status != 413 || !res.route.empty() || req.method != "POST") {
            return;
        }
        auto it = webhooks.find(webhook_path_source(req.path));
        if (it != webhooks.end()) {
            metrics.webhook_delivery(it->first, "too_large");
        }
    }

    void add_routes() {
        feed.add_routes(routes);
        routes.add("GET", "/healthz", [](const http::request&) -> asio::awaitable<http::response> {
            co_return http::json_response("{\"status\":\"ok\"}");
        });
        routes.add("GET", "/readyz", [this](const http::request&) -> asio::awaitable<http::response> {
            return readyz();
        });
        routes.add("GET", "/metrics", [this](const http::request&) -> asio::awaitable<http::response> {
            return render_metrics();
        });
        routes.add("GET", "/sources", [this](const http::request& req) -> asio::awaitable<http::response> {
            return sources(req);
        });
        routes.add("POST", "/sources/{name}/resync",
                   [this](const http::request& req) -> asio::awaitable<http::response> {
                       return resync(req);
                   });
        routes.add("GET", "/activity", feed::activity_handler(activity, notifier, config.feed.tokens));
        ui::add_routes(routes);
        routes.add("POST", "/webhooks/{source}",
                   [this](const http::request& req) -> asio::awaitable<http::response> {
                       return webhook(req);
                   });
    }

    // The vendor's handler authenticates, validates and stores the delivery; every delivery to
    // a source that takes webhooks is counted by its outcome (unknown names are not: any name
    // would become a label).
    asio::awaitable<http::response> webhook(const http::request& req) {
        std::string source = req.path_params.at("source");
        auto it = webhooks.find(source);
        if (it == webhooks.end()) {
            co_return http::error_response(404, "not_found", "no enabled source of that name takes webhooks");
        }
        http::response res;
        try {
            auto op = it->second(req);
            res = co_await std::move(op);
        } catch (...) {
            metrics.webhook_delivery(source, "unavailable");
            throw;
        }
        metrics.webhook_delivery(source, delivery_result(res));
        co_return res;
    }

    asio::awaitable<http::response> readyz() {
        bool ready = false;
        try {
            auto job = [](pqxx::connection_base& c) { return db::migrations_applied(c); };
            ready = co_await pool.run(std::move(job));
        } catch (const std::exception& e) {
            log::warn("readiness check failed", {{"error", e.what()}});
        }
        if (!ready) {
            co_return http::error_response(503, "not_ready",
                                           "the database is unreachable or not migrated");
        }
        co_return http::json_response("{\"status\":\"ready\"}");
    }

    asio::awaitable<http::response> render_metrics() {
        std::vector<db::consumer_offset> consumers;
        try {
            consumers = co_await feed.consumers();
        } catch (const std::exception& e) {
            log::warn("metrics: consumer offsets unavailable", {{"error", e.what()}});
        }
        http::response r;
        r.content_type = std::string(metrics::k_content_type);
        r.body = metrics.render(consumers);
        co_return r;
    }

    sources::poller* find_poller(const std::string& name) const {
        for (const auto& p : pollers) {
            if (p->config().name == name) {
                return p.get();
            }
        }
        return nullptr;
    }

    // Recorded in the database, so whichever replica holds the source replays it; this replica's
    // poller is woken in case it is the holder.
    asio::awaitable<http::response> resync(const http::request& req) {
        if (auto denied = feed::check_feed_token(req, config.feed.tokens)) {
            co_return *denied;
        }
        auto name = req.path_params.at("name");
        auto configured = std::find_if(config.sources.begin(), config.sources.end(),
                                       [&name](const source_config& s) { return s.name == name; });
        if (configured == config.sources.end()) {
            co_return http::error_response(404, "unknown_source", "no source is named '" + name + "'");
        }
        auto* poller = find_poller(name);
        if (poller == nullptr) {
            co_return http::error_response(409, "source_disabled",
                                           "source '" + name + "' is not polled (disabled)");
        }
        auto parsed = parse_resync_request(req.body, time::now());
        if (auto* why = std::get_if<std::string>(&parsed)) {
            co_return http::error_response(400, "invalid_body", *why);
        }
        auto from = std::get<resync_request>(parsed).from;
        auto job = [name, from](pqxx::connection_base& c) { return db::request_resync(c, name, from); };
        auto started = co_await pool.run(std::move(job));
        if (!started) {
            co_return http::error_response(409, "resync_running",
                                           "a resync of source '" + name + "' is already running");
        }
        log::info("resync requested", {{"source", name}, {"from", from.value_or("")}});
        poller->wake();
        boost::json::object body{{"source", name}, {"resync", started->to_json()}};
        co_return http::json_response(boost::json::serialize(body), 202);
    }

    asio::awaitable<http::response> sources(const http::request& req) {
        if (auto denied = feed::check_feed_token(req, config.feed.tokens)) {
            co_return *denied;
        }
        auto now = time::now();
        boost::json::array list;
        for (const auto& s : config.sources) {
            if (const auto* p = find_poller(s.name)) {
                list.push_back(p->status_json(now));
                continue;
            }
            // Disabled, or a kind this build cannot poll.
            sources::source_status idle;
            idle.name = s.name;
            idle.kind = s.kind;
            idle.state = sources::source_state::disabled;
            idle.checkpoint = nullptr;
            if (s.enabled) {
                idle.last_error = "this build has no poller for kind " + s.kind;
            }
            sources::rate_limiter unused(s.rate_limit);
            list.push_back(sources::to_json(idle, &unused, now));
        }
        // Resyncs asked for through the API, whichever replica replays them.
        try {
            auto job = [](pqxx::connection_base& c) { return db::read_resyncs(c); };
            auto resyncs = co_await pool.run(std::move(job));
            for (auto& entry : list) {
                auto& o = entry.as_object();
                for (const auto& r : resyncs) {
                    if (o["name"].as_string() == r.source) {
                        o["resync"] = r.to_json();
                    }
                }
            }
        } catch (const std::exception& e) {
            log::warn("sources: resyncs unavailable", {{"error", e.what()}});
        }
        boost::json::object body{{"sources", std::move(list)}};
        co_return http::json_response(boost::json::serialize(body));
    }

    void make_pollers() {
        lease = std::make_unique<db::source_lease>(config.database_url);
        for (const auto& s : config.sources) {
            const auto* kind = sources::find_kind(s.kind);
            if (!s.enabled || kind == nullptr || !kind->create) {
                continue;
            }
            pollers.push_back(std::make_unique<sources::poller>(
                ioc.get_executor(), s, kind->create, pool, writer, lease.get()));
            metrics.watch(*pollers.back());
            pollers.back()->on_stored([this, name = s.name](const auto& tally) {
                for (const auto& t : tally) {
                    activity.record(name, t.events, time::now());
                }
            });
            if (kind->webhook) {
                auto* p = pollers.back().get();
                webhook_contexts.push_back(std::make_unique<sources::webhook_context>(
                    sources::webhook_context{s, pool, writer, [p] { p->wake(); }}));
                webhooks.emplace(s.name, kind->webhook(*webhook_contexts.back()));
            }
        }
    }

    // Runs every poller; returns when all have stopped.
    asio::awaitable<void> run_pollers() {
        pollers_running = pollers.size();
        for (auto& p : pollers) {
            auto name = p->config().name;
            asio::co_spawn(ioc, p->run(), [this, name](std::exception_ptr e) {
                if (e) {
                    log::error("poller failed", {{"source", name}});
                }
                if (--pollers_running == 0) {
                    pollers_done.cancel();
                }
            });
        }
        while (pollers_running > 0) {
            pollers_done.expires_at(asio::steady_timer::time_point::max());
            (void)co_await pollers_done.async_wait(asio::as_tuple(asio::use_awaitable));
        }
    }

    // Everything but the writer; the writer stops once nothing can hand it work any more.
    asio::awaitable<void> run_producers() {
        using namespace asio::experimental::awaitable_operators;
        co_await (server.run() && run_pollers() && retention_loop());
        writer.stop();
    }

    asio::awaitable<void> retention_loop() {
        if (config.feed.retention.count() == 0) {
            co_return;
        }
        while (!stopping) {
            try {
                auto seconds = std::chrono::duration_cast<std::chrono::seconds>(config.feed.retention);
                auto job = [seconds](pqxx::connection_base& c) { return db::delete_expired(c, seconds); };
                auto deleted = co_await pool.run(std::move(job));
                if (deleted > 0) {
                    log::info("retention deleted old events", {{"events", deleted}});
                }
            } catch (const std::exception& e) {
                log::warn("retention pass failed", {{"error", e.what()}});
            }
            if (stopping) {
                break;  // stop() ran while the pass was in flight: its cancel found no wait
            }
            retention_timer.expires_after(std::chrono::minutes(1));
            auto [ec] = co_await retention_timer.async_wait(asio::as_tuple(asio::use_awaitable));
            (void)ec;
        }
    }
};

service::service(asio::io_context& ioc, app_config config)
    : impl_(std::make_unique<impl>(ioc, std::move(config))) {}

service::~service() = default;

void service::start() {
    auto applied = db::apply_migrations(impl_->config.database_url);
    log::info("database ready", {{"migrations_applied", applied.size()}});
    {
        auto conn = db::open_connection(impl_->config.database_url);
        impl_->notifier.notify(db::read_head_seq(*conn));
    }
    impl_->writer.on_commit([this](std::int64_t head) { impl_->notifier.notify(head); });
    impl_->add_routes();
    impl_->make_pollers();
    impl_->server.listen(impl_->config.listen);
    // A resync requested on another replica wakes this one's poller (which begins it if it
    // holds the source) instead of waiting for its next poll.
    impl_->notifier.on_resync([this](const std::string& source) {
        if (auto* poller = impl_->find_poller(source)) {
            poller->wake();
        }
    });
    impl_->notifier.start_listener(impl_->config.database_url);
    log::info("listening", {{"address", impl_->config.listen}, {"port", impl_->server.port()}});
}

asio::awaitable<void> service::run() {
    using namespace asio::experimental::awaitable_operators;
    co_await (impl_->writer.run() && impl_->run_producers() && impl_->feed.run());
    impl_->notifier.stop_listener();
    if (impl_->lease) {
        impl_->lease->stop();
    }
    impl_->pool.stop();
}

void service::stop() {
    impl_->stopping = true;
    impl_->server.stop();
    for (auto& p : impl_->pollers) {
        p->stop();
    }
    impl_->feed.stop();
    impl_->retention_timer.cancel();
}

unsigned short service::port() const { return impl_->server.port(); }

}  // namespace changefeed::app
