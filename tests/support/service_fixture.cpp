#include "support/service_fixture.hpp"

#include "app/service.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <future>
#include <stdexcept>
#include <thread>

namespace changefeed::test {

struct running_service::impl {
    boost::asio::io_context ioc;
    std::unique_ptr<app::service> svc;
    std::thread thread;
};

running_service::running_service(app::app_config config) : impl_(std::make_unique<impl>()) {
    config.listen = "127.0.0.1:0";
    impl_->svc = std::make_unique<app::service>(impl_->ioc, std::move(config));
    impl_->svc->start();
    boost::asio::co_spawn(impl_->ioc, impl_->svc->run(), [](std::exception_ptr e) {
        if (e) {
            std::rethrow_exception(e);
        }
    });
    impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

running_service::~running_service() {
    boost::asio::post(impl_->ioc, [this] { impl_->svc->stop(); });
    impl_->thread.join();
}

unsigned short running_service::port() const { return impl_->svc->port(); }

app::app_config config_with_sources(const std::string& database_url, const std::string& sources_yaml,
                                    const std::vector<std::string>& tokens) {
    std::string yaml = "listen: \"127.0.0.1:0\"\ndatabase_url: \"${TEST_DATABASE_URL}\"\nfeed:\n  tokens: [";
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        yaml += (i > 0 ? ", \"" : "\"") + tokens[i] + "\"";
    }
    yaml += "]\n";
    if (!sources_yaml.empty()) {
        yaml += "sources:\n" + sources_yaml;
    }
    app::env_lookup env = [database_url](std::string_view name) -> std::optional<std::string> {
        if (name == "TEST_DATABASE_URL") {
            return database_url;
        }
        return std::nullopt;
    };
    auto loaded = app::load_config_text(yaml, "test.yaml", env);
    if (auto* err = std::get_if<app::config_error>(&loaded)) {
        throw std::runtime_error(err->message);
    }
    return std::get<app::app_config>(std::move(loaded));
}

}  // namespace changefeed::test
