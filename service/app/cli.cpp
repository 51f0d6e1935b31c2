#include "app/cli.hpp"

#include "app/config.hpp"
#include "app/demo.hpp"
#include "app/healthcheck.hpp"
#include "app/service.hpp"
#include "core/log.hpp"
#include "db/migrations.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

namespace changefeed::app {

namespace {

constexpr int k_exit_ok = 0;
constexpr int k_exit_failure = 1;
constexpr int k_exit_usage = 2;

constexpr const char* k_usage = R"(changefeed: one ordered, gap-free change feed from five SaaS change APIs

usage:
  changefeed serve --config FILE          migrate, then serve until SIGTERM/SIGINT
  changefeed migrate --config FILE        apply pending database migrations and exit
  changefeed check-config --config FILE   validate FILE and print it with secrets redacted
  changefeed demo [--database-url URL] [--listen HOST:PORT] [--feed-token TOKEN]
                                          run against built-in simulators (URL defaults to
                                          $DATABASE_URL, HOST:PORT to 127.0.0.1:8080); with
                                          TOKEN the API asks for it like feed.tokens
  changefeed healthcheck [--url URL]      GET URL (default http://127.0.0.1:8080/healthz; a
                                          numeric host or localhost) within 3 s: exit 0 on a
                                          200 answer, 1 otherwise (for container health checks)
  changefeed --version | --help

exit status: 0 clean stop, 2 bad command line or configuration, 1 any other failure
)";

struct options {
    std::string command;
    std::optional<std::string> config_path;
    std::optional<std::string> database_url;
    std::optional<std::string> listen;
    std::optional<std::string> feed_token;
    std::optional<std::string> url;
};

bool needs_config(const std::string& command) {
    return command == "serve" || command == "migrate" || command == "check-config";
}

int usage_error(const std::string& message) {
    std::fprintf(stderr, "changefeed: %s\n(see changefeed --help)\n", message.c_str());
    return k_exit_usage;
}

std::variant<options, int> parse_args(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty()) {
        return usage_error("missing command");
    }
    options o;
    o.command = args[0];
    if (o.command == "--help" || o.command == "-h" || o.command == "help") {
        std::fputs(k_usage, stdout);
        return k_exit_ok;
    }
    if (o.command == "--version") {
        std::puts("changefeed " CHANGEFEED_VERSION);
        return k_exit_ok;
    }
    if (!needs_config(o.command) && o.command != "demo" && o.command != "healthcheck") {
        return usage_error("unknown command '" + o.command + "'");
    }
    for (std::size_t i = 1; i < args.size(); ++i) {
        const std::string& a = args[i];
        auto value = [&](const std::string& flag) -> std::optional<std::string> {
            if (i + 1 >= args.size()) {
                return std::nullopt;
            }
            (void)flag;
            return args[++i];
        };
        std::optional<std::string>* target = nullptr;
        if (a == "--config" && needs_config(o.command)) {
            target = &o.config_path;
        } else if (a == "--database-url" && o.command == "demo") {
            target = &o.database_url;
        } else if (a == "--listen" && o.command == "demo") {
            target = &o.listen;
        } else if (a == "--feed-token" && o.command == "demo") {
            target = &o.feed_token;
        } else if (a == "--url" && o.command == "healthcheck") {
            target = &o.url;
        } else if (a == "--help") {
            std::fputs(k_usage, stdout);
            return k_exit_ok;
        } else {
            return usage_error("unknown argument '" + a + "' for " + o.command);
        }
        auto v = value(a);
        if (!v) {
            return usage_error("argument " + a + " needs a value");
        }
        *target = *v;
    }
    if (o.feed_token && o.feed_token->empty()) {
        return usage_error("--feed-token needs a non-empty token");
    }
    if (needs_config(o.command) && !o.config_path) {
        return usage_error(o.command + " needs --config FILE");
    }
    return o;
}

std::variant<app_config, int> load(const std::string& path) {
    auto loaded = load_config_file(path);
    if (auto* err = std::get_if<config_error>(&loaded)) {
        std::fprintf(stderr, "changefeed: invalid configuration: %s\n", err->message.c_str());
        return k_exit_usage;
    }
    return std::get<app_config>(std::move(loaded));
}

int serve(app_config config, bool with_demo) {
    log::level lvl = log::level::info;
    if (log::parse_level(config.log_level, lvl)) {
        log::set_level(lvl);
    }
    boost::asio::io_context ioc{1};
    std::unique_ptr<demo> simulators;
    if (with_demo) {
        try {
            simulators = std::make_unique<demo>(ioc);
        } catch (const std::exception& e) {
            log::error("demo simulators failed to start", {{"error", e.what()}});
            return k_exit_failure;
        }
        auto demo_config = simulators->config(config.database_url, config.listen);
        if (auto* err = std::get_if<config_error>(&demo_config)) {
            log::error("demo configuration is invalid", {{"error", err->message}});
            return k_exit_failure;
        }
        auto tokens = std::move(config.feed.tokens);  // --feed-token
        config = std::get<app_config>(std::move(demo_config));
        config.feed.tokens = std::move(tokens);
    }
    if (config.feed.tokens.empty()) {
        log::warn("feed.tokens is empty: /changes and /sources are readable without a token");
    }
    service svc(ioc, std::move(config));
    try {
        svc.start();
    } catch (const std::exception& e) {
        log::error("startup failed", {{"error", e.what()}});
        return k_exit_failure;
    }
    if (simulators) {
        boost::asio::co_spawn(ioc, simulators->run(), [](std::exception_ptr e) {
            if (e) {
                log::error("demo simulators stopped with an error");
            }
        });
    }
    boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
    bool forced = false;
    signals.async_wait([&](const boost::system::error_code& ec, int sig) {
        if (ec) {
            return;
        }
        log::info("shutting down", {{"signal", sig}});
        svc.stop();
        if (simulators) {
            simulators->stop();
        }
        // Whatever has not finished in 10 s is abandoned.
        auto guard = std::make_shared<boost::asio::steady_timer>(ioc, std::chrono::seconds(9));
        guard->async_wait([&forced, &ioc, guard](const boost::system::error_code& e) {
            if (!e) {
                forced = true;
                log::warn("shutdown deadline reached; exiting with work in flight");
                ioc.stop();
            }
        });
    });
    std::exception_ptr failure;
    bool finished = false;
    boost::asio::co_spawn(ioc, svc.run(), [&](std::exception_ptr e) {
        failure = e;
        finished = true;
        signals.cancel();
        if (simulators) {
            simulators->stop();
        }
        ioc.stop();
    });
    ioc.run();
    if (failure) {
        try {
            std::rethrow_exception(failure);
        } catch (const std::exception& e) {
            log::error("service failed", {{"error", e.what()}});
        }
        return k_exit_failure;
    }
    log::info("stopped", {{"clean", finished && !forced}});
    return k_exit_ok;
}

}  // namespace

int run_cli(int argc, char** argv) {
    auto parsed = parse_args(argc, argv);
    if (auto* code = std::get_if<int>(&parsed)) {
        return *code;
    }
    auto opts = std::get<options>(std::move(parsed));
    if (opts.command == "healthcheck") {
        auto report = check_health(opts.url.value_or(std::string(k_default_healthcheck_url)));
        switch (report.result) {
        case health_report::verdict::healthy:
            std::puts(report.message.c_str());
            return k_exit_ok;
        case health_report::verdict::bad_url:
            return usage_error(report.message);
        case health_report::verdict::unhealthy:
            break;
        }
        std::fprintf(stderr, "changefeed: %s\n", report.message.c_str());
        return k_exit_failure;
    }
    try {
        if (opts.command == "demo") {
            app_config config;
            if (opts.database_url) {
                config.database_url = *opts.database_url;
            } else if (const char* env = std::getenv("DATABASE_URL")) {
                config.database_url = env;
            } else {
                return usage_error("demo needs --database-url URL or $DATABASE_URL");
            }
            if (auto problem = database_url_problem(config.database_url)) {
                return usage_error(
                    (opts.database_url ? "--database-url: " : "$DATABASE_URL: ") + *problem);
            }
            config.listen = opts.listen.value_or("127.0.0.1:8080");
            if (auto problem = listen_problem(config.listen)) {
                return usage_error("--listen '" + config.listen + "': " + *problem);
            }
            if (opts.feed_token) {
                config.feed.tokens = {*opts.feed_token};
            }
            return serve(std::move(config), true);
        }
        auto loaded = load(*opts.config_path);
        if (auto* code = std::get_if<int>(&loaded)) {
            return *code;
        }
        auto config = std::get<app_config>(std::move(loaded));
        if (opts.command == "check-config") {
            std::fputs(render_redacted(config).c_str(), stdout);
            return k_exit_ok;
        }
        if (opts.command == "migrate") {
            auto applied = db::apply_migrations(config.database_url);
            log::info("migrations done", {{"applied", applied.size()}});
            return k_exit_ok;
        }
        return serve(std::move(config), false);
    } catch (const std::exception& e) {
        log::error("failed", {{"error", e.what()}});
        return k_exit_failure;
    }
}

}  // namespace changefeed::app
