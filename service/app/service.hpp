// The running service: HTTP server, outbox writer, feed notifier, retention, and (as their issues
// land) the source pollers, all on one io_context.
#pragma once

#include "app/config.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <memory>

namespace changefeed::app {

class service {
public:
    /// Opens nothing yet; throws only on programming errors.
    service(boost::asio::io_context& ioc, app_config config);
    ~service();

    /// Applies migrations, binds the listener. Throws (with a message naming what failed) when the
    /// database is unreachable or the address cannot be bound.
    void start();
    /// Runs until stop(); returns when everything in flight has finished.
    boost::asio::awaitable<void> run();
    /// Graceful shutdown: stop accepting, finish in-flight requests and writes.
    void stop();

    [[nodiscard]] unsigned short port() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace changefeed::app
