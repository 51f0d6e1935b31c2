#include "support/sim_runner.hpp"

#include "sim/common/sim_host.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <thread>

namespace changefeed::test {

struct sim_runner::impl {
    boost::asio::io_context ioc;
    std::unique_ptr<sim::sim_host> host;
    std::thread thread;
};

sim_runner::sim_runner(sim::simulator& sim, std::chrono::milliseconds tick_every, bool faults)
    : impl_(std::make_unique<impl>()) {
    impl_->host =
        std::make_unique<sim::sim_host>(impl_->ioc.get_executor(), sim, "127.0.0.1:0", faults);
    boost::asio::co_spawn(impl_->ioc, impl_->host->run(tick_every), boost::asio::detached);
    impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

sim_runner::~sim_runner() {
    boost::asio::post(impl_->ioc, [this] { impl_->host->stop(); });
    impl_->thread.join();
}

std::string sim_runner::base_url() const { return impl_->host->base_url(); }

}  // namespace changefeed::test
