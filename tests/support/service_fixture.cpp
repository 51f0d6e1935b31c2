#include "support/service_fixture.hpp"

#include "app/service.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <future>
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

}  // namespace changefeed::test
