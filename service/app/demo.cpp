#include "app/demo.hpp"

#include "core/log.hpp"
#include "sim/common/demo_source.hpp"
#include "sim/common/sim_host.hpp"
#include "sources/registry.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/as_tuple.hpp>

namespace changefeed::app {

namespace asio = boost::asio;

namespace {

// Where the simulators reach the service listening on `listen`; nullopt for port 0.
std::optional<std::string> service_url(const std::string& listen) {
    auto colon = listen.rfind(':');
    if (colon == std::string::npos || listen.substr(colon + 1) == "0") {
        return std::nullopt;
    }
    auto host = listen.substr(0, colon);
    if (host == "0.0.0.0" || host.empty()) {
        host = "127.0.0.1";
    } else if (host == "[::]") {
        host = "[::1]";
    }
    return "http://" + host + listen.substr(colon);
}

}  // namespace

struct demo::impl {
    explicit impl(asio::io_context& ctx) : ioc(ctx), done(ctx) {}

    struct vendor {
        sim::demo_source source;
        std::unique_ptr<sim::sim_host> host;
    };

    asio::io_context& ioc;
    std::vector<vendor> vendors;
    asio::steady_timer done;
    std::size_t running = 0;
};

demo::demo(asio::io_context& ioc) : impl_(std::make_unique<impl>(ioc)) {
    for (const auto& kind : sources::known_kinds()) {
        if (!kind.demo || !kind.create) {
            continue;
        }
        impl::vendor v;
        v.source = kind.demo();
        v.host = std::make_unique<sim::sim_host>(ioc.get_executor(), *v.source.sim);
        log::info("demo simulator listening", {{"kind", kind.kind}, {"url", v.host->base_url()}});
        impl_->vendors.push_back(std::move(v));
    }
}

demo::~demo() = default;

std::variant<app_config, config_error> demo::config(const std::string& database_url,
                                                     const std::string& listen) const {
    auto url = service_url(listen);
    for (const auto& v : impl_->vendors) {
        if (v.source.service_url && url) {
            v.source.service_url(*url);
        } else if (v.source.service_url) {
            log::warn("demo: the service listens on port 0, so simulated webhooks have nowhere to go");
        }
    }
    std::string yaml = "listen: \"" + listen + "\"\n" + "database_url: \"${CHANGEFEED_DEMO_DATABASE_URL}\"\n" +
                       "feed:\n  tokens: []\n  retention: 7d\n";
    if (!impl_->vendors.empty()) {
        yaml += "sources:\n";
        for (const auto& v : impl_->vendors) {
            yaml += v.source.yaml(v.host->base_url());
        }
    }
    // The URL travels as a variable so that it needs no YAML quoting.
    env_lookup env = [database_url](std::string_view name) -> std::optional<std::string> {
        if (name == "CHANGEFEED_DEMO_DATABASE_URL") {
            return database_url;
        }
        return std::nullopt;
    };
    return load_config_text(yaml, "(demo configuration)", env);
}

asio::awaitable<void> demo::run() {
    impl_->running = impl_->vendors.size();
    for (auto& v : impl_->vendors) {
        asio::co_spawn(impl_->ioc, v.host->run(v.source.tick_every), [this](std::exception_ptr e) {
            if (e) {
                log::error("demo simulator failed");
            }
            if (--impl_->running == 0) {
                impl_->done.cancel();
            }
        });
    }
    while (impl_->running > 0) {
        impl_->done.expires_at(asio::steady_timer::time_point::max());
        (void)co_await impl_->done.async_wait(asio::as_tuple(asio::use_awaitable));
    }
}

void demo::stop() {
    for (auto& v : impl_->vendors) {
        v.host->stop();
    }
}

}  // namespace changefeed::app
